"""Table-1 report: markdown values and CI format, embedded plots, JSON round trip, CLI errors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from radllama.evaluate.report import MISSING, build_report, format_cell, render_markdown_table

ROUGE = {"base": [0.10, 0.20, 0.15, 0.05], "qlora": [0.30, 0.35, 0.25, 0.40]}


def _metric(mean: float, half_width: float) -> dict:
    return {"mean": mean, "ci_low": mean - half_width, "ci_high": mean + half_width}


def _scores(system: str, rouge: list[float], judge: bool = False) -> dict:
    """A hand-written SCORES.json in the evaluate stage's format."""
    mean = sum(rouge) / len(rouge)
    metrics = {
        "rougeL": _metric(mean, 0.02),
        "bertscore_precision": _metric(0.81, 0.01),
        "bertscore_recall": _metric(0.85, 0.01),
        "bertscore_f1": _metric(0.83, 0.01),
        "clinical_f1": _metric(0.5, 0.1),
        "hallucination_rate": _metric(0.25, 0.2),
    }
    if judge:
        metrics["judge_score"] = _metric(6.5, 0.5)
    per_sample = [
        {
            "report_id": f"r{i}",
            "rougeL": value,
            "bertscore_f1": 0.83,
            "clinical_f1": 0.5,
            "hallucination_rate": float(i == 0),
            "hallucination_flags": ["nodule"] if i == 0 else [],
        }
        for i, value in enumerate(rouge)
    ]
    return {
        "system": system,
        "n": len(rouge),
        "n_skipped": 1,
        "skipped_reasons": {"empty prediction": 1},
        "config": {"bertscore_model": "minilm"},
        "metrics": metrics,
        "breakdowns": {
            "modality": {"CT": {"n": 2, "rougeL": rouge[0]}, "MR": {"n": 2, "rougeL": rouge[2]}},
            "body_region": {"chest": {"n": 4, "rougeL": mean}},
            "normal_vs_abnormal": {"normal": {"n": 1, "rougeL": rouge[0]}},
        },
        "per_sample": per_sample,
        "versions": {"radllama": "0.1.0"},
    }


def _write(tmp_path: Path, scores: dict) -> Path:
    path = tmp_path / f"{scores['system']}.json"
    path.write_text(json.dumps(scores))
    return path


def test_format_cell():
    assert format_cell({"mean": 0.29191, "ci_low": 0.27, "ci_high": 0.31}) == (
        "0.2919 [0.2700, 0.3100]"
    )
    assert format_cell({"mean": 4.924, "ci_low": 4.5, "ci_high": 5.25}, 2) == "4.92 [4.50, 5.25]"
    assert format_cell({"mean": 0.5}) == "0.5000"
    assert format_cell(None) == MISSING


def test_single_system_report_files_and_table(tmp_path):
    path = _write(tmp_path, _scores("base", ROUGE["base"]))
    report = build_report([path], tmp_path / "out", title="Demo")
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", "report.json"}
    table = render_markdown_table(report)
    header, _, row = table.splitlines()
    assert "ROUGE-L" in header and "Judge" not in header  # judge column only when run
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "base" and cells[1] == "0.1250 [0.1050, 0.1450]" and cells[-1] == "4"
    assert report["paired_deltas"] == []
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# Demo") and table in markdown
    assert "base: 1 row(s) skipped (empty prediction: 1)" in markdown


def test_two_systems_report(tmp_path):
    base = _scores("base", ROUGE["base"])
    qlora = _scores("qlora", ROUGE["qlora"], judge=True)
    del qlora["metrics"]["clinical_f1"]  # not measured for this system
    paths = [_write(tmp_path, base), _write(tmp_path, qlora)]
    report = build_report(paths, tmp_path / "out", n_resamples=200)

    lines = render_markdown_table(report).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {
        r[0]: r for r in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])
    }
    assert header[-2:] == ["Judge score (0-10)", "n"]
    assert rows["qlora"][header.index("ROUGE-L")] == "0.3250 [0.3050, 0.3450]"
    assert rows["qlora"][header.index("Judge score (0-10)")] == "6.50 [6.00, 7.00]"
    assert rows["base"][header.index("Judge score (0-10)")] == MISSING
    assert rows["qlora"][header.index("Clinical F1")] == MISSING

    # Paired deltas vs the first system, on shared metrics only.
    deltas = {(d["system"], d["metric"]): d for d in report["paired_deltas"]}
    assert ("qlora", "rougeL") in deltas and ("qlora", "judge_score") not in deltas
    assert ("qlora", "clinical_f1") not in deltas
    assert all(d["baseline"] == "base" for d in deltas.values())
    rouge = deltas[("qlora", "rougeL")]  # qlora - base on the same 4 rows
    assert rouge["delta"] == pytest.approx(0.325 - 0.125) and rouge["n"] == 4
    assert rouge["ci_low"] <= rouge["delta"] <= rouge["ci_high"]
    assert deltas[("qlora", "bertscore_f1")]["delta"] == pytest.approx(0.0)


def test_hallucination_delta_from_flags_alone(tmp_path):
    base, qlora = _scores("base", ROUGE["base"]), _scores("qlora", ROUGE["qlora"])
    for row in base["per_sample"] + qlora["per_sample"]:
        del row["hallucination_rate"]  # only the flags are given per sample
    qlora["per_sample"][0]["hallucination_flags"] = []  # base flags r0, qlora flags nothing
    report = build_report([_write(tmp_path, base), _write(tmp_path, qlora)], tmp_path / "out")
    delta = next(d for d in report["paired_deltas"] if d["metric"] == "hallucination_rate")
    assert delta["delta"] == pytest.approx(-0.25) and delta["n"] == 4

    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "Paired differences vs base" in markdown
    assert "| qlora | base | ROUGE-L | +0.2000 [" in markdown
    assert "ROUGE-L by modality" in markdown and "| CT | 0.1000 (n=2) | 0.3000 (n=2) |" in markdown
    assert "PAPER's numbers" in markdown and "| Llama 3-70B QLoRA | 0.2919 |" in markdown
    assert "| Llama 3-70B (base) | 0.1494 | 0.8246 | 0.8690 | 0.8460 | 3.65 |" in markdown


def test_html_is_self_contained_with_plots(tmp_path):
    paths = [_write(tmp_path, _scores(name, values, judge=True)) for name, values in ROUGE.items()]
    report = build_report(paths, tmp_path / "out", n_resamples=100)
    page = (tmp_path / "out" / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == len(report["figures"]) == 4
    assert all(base64.b64decode(img).startswith(b"\x89PNG") for img in images)
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside
    assert "<td>0.3250 [0.3050, 0.3450]</td>" in page


def test_json_round_trips(tmp_path):
    paths = [_write(tmp_path, _scores(name, values)) for name, values in ROUGE.items()]
    report = build_report(paths, tmp_path / "out", n_resamples=100)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert render_markdown_table(saved) == render_markdown_table(report)
    assert [s["system"] for s in saved["systems"]] == ["base", "qlora"]
    assert "per_sample" not in saved["systems"][0]


def test_three_systems_and_missing_breakdowns(tmp_path):
    systems = [_scores("base", ROUGE["base"]), _scores("qlora", ROUGE["qlora"])]
    full = _scores("full", [0.3, 0.3, 0.3, 0.35])
    full["breakdowns"] = {}
    full["per_sample"] = []
    paths = [_write(tmp_path, s) for s in [*systems, full]]
    report = build_report(paths, tmp_path / "out", n_resamples=100)
    assert len(render_markdown_table(report).splitlines()) == 5
    assert {d["system"] for d in report["paired_deltas"]} == {"qlora"}  # full has no rows
    assert (
        "| MR | 0.1500 (n=2) | 0.2500 (n=2) | — |" in (tmp_path / "out" / "report.md").read_text()
    )


def test_cli_writes_report_and_prints_table(tmp_path, run_cli):
    paths = [_write(tmp_path, _scores(name, values)) for name, values in ROUGE.items()]
    code, out, err = run_cli("report", *paths, "--out", tmp_path / "cli", "--title", "T")
    assert code == 0, err
    assert "| qlora | 0.3250 [0.3050, 0.3450]" in out
    assert (tmp_path / "cli" / "report.html").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "scores file not found"),
        ("{not json", "not valid JSON"),
        ('{"system": "x"}', "not a valid scores file (field 'metrics'"),
        ('{"metrics": {}}', "not a valid scores file (field 'system'"),
        ('{"system": "x", "metrics": {"rougeL": 0.3}}', "field 'metrics.rougeL'"),
        ('{"system": "x", "metrics": {}, "schema_version": 2}', "schema_version 2 is newer"),
    ],
)
def test_bad_scores_file_is_one_line_exit_2(tmp_path, run_cli, content, message):
    path = tmp_path / "scores.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run_cli("report", path, "--out", tmp_path / "out")
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_duplicate_system_names_are_refused(tmp_path, run_cli):
    a = _write(tmp_path, _scores("same", ROUGE["base"]))
    b = tmp_path / "other.json"
    b.write_text(a.read_text())
    code, _, err = run_cli("report", a, b, "--out", tmp_path / "out")
    assert code == 2 and "share the system name 'same'" in err
