"""`radllama prepare` end to end: counts, splits, reruns, dry runs, formats, bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from radllama.core.errors import ConfigError
from radllama.core.prompts import PromptStyle
from radllama.data.prepare import (
    MANIFEST,
    encode_row,
    instruction_row,
    load_prepare_config,
    prepare,
    row_draws,
)
from radllama.deid.engine import Deidentifier
from radllama.synth.corpus import synthesize

REPO = Path(__file__).resolve().parents[1]
N_REPORTS = 1500


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    """A synthetic export with planted defects (FILE.csv, FILE.phi.jsonl, FILE.synth.json)."""
    out = tmp_path_factory.mktemp("synth") / "reports.csv"
    synthesize(N_REPORTS, seed=5, out_csv=out, progress=False)
    meta = json.loads(out.with_name("reports.synth.json").read_text())
    return out, meta


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory):
    """One real run with 2 worker processes (shared by the read-only tests below)."""
    csv_path, _ = corpus
    out = tmp_path_factory.mktemp("prepared")
    config = load_prepare_config(None, input=csv_path, out=out, workers=2)
    return config, prepare(config)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _expected_duplicates(csv_path: Path) -> int:
    """Repeated (findings, impression) pairs computed from the generator's ground truth."""
    import csv

    deid = Deidentifier()
    texts = [row["report_text"] for row in csv.DictReader(open(csv_path, newline=""))]
    records = [json.loads(line) for line in csv_path.with_name("reports.phi.jsonl").open()]
    seen, repeats = set(), 0
    for text, record in zip(texts, records, strict=True):
        if record["defect"] in (
            "missing_findings",
            "missing_impression",
            "empty_row",
            "short_findings",
        ):
            continue
        bounds = record["sections"]
        pair = tuple(
            _squash(deid.redact(_squash(text[bounds[k][0] : bounds[k][1]])).text)
            for k in ("findings", "impression")
        )
        repeats += pair in seen
        seen.add(pair)
    return repeats


def test_counts_add_up_and_match_the_planted_defects(corpus, prepared):
    csv_path, meta = corpus
    _, result = prepared
    counts = result.manifest["counts"]
    planted = meta["defect_counts"]
    assert result.status == "written"
    assert counts["input_rows"] == N_REPORTS == counts["kept"] + sum(counts["dropped"].values())
    dropped = counts["dropped"]
    assert dropped["no_findings"] == planted["missing_findings"]
    assert dropped["no_impression"] == planted["missing_impression"]
    assert dropped["short_findings"] == planted["short_findings"]
    assert dropped["empty_row"] == planted["empty_row"]
    # Planted copies plus normal studies that read identically after de-identification.
    assert dropped["duplicate"] == _expected_duplicates(csv_path) >= planted["duplicate"]
    assert sum(counts["splits"].values()) == counts["kept"]


def test_rows_follow_the_data_dir_contract(prepared):
    config, result = prepared
    rows = _rows(config.out / "train.jsonl")
    assert len(rows) == result.manifest["counts"]["splits"]["train"]
    row = rows[0]
    assert set(row) == {
        "report_id", "patient_id", "exam_code", "exam_description", "modality", "body_region",
        "findings", "impression", "instruction_index", "prepend_index", "prompt", "completion",
        "messages", "split",
    }  # fmt: skip
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][1]["content"] == row["prompt"]
    assert f"EXAM: {row['exam_code']}\nFINDINGS: {row['findings']}" in row["prompt"]
    assert row["messages"][2]["content"] == row["completion"]
    assert row["completion"].endswith(row["impression"])
    assert all(r["split"] == "train" for r in rows)
    assert all(len(r["findings"].split()) >= 10 and r["impression"] for r in rows)
    assert all("  " not in r["findings"] and "\n" not in r["impression"] for r in rows)
    assert {r["modality"] for r in rows} <= {"CT", "MR", "XR", "FL", "US"}
    # De-identified: the planted patient/physician names are gone, placeholders are there.
    assert any("[NAME]" in r["impression"] or "[TIME]" in r["impression"] for r in rows)


def test_no_patient_crosses_splits_and_leakage_is_reported(prepared):
    config, result = prepared
    patients = {
        split: {r["patient_id"] for r in _rows(config.out / f"{split}.jsonl")}
        for split in ("train", "eval", "test")
    }
    assert not patients["train"] & patients["test"]
    assert not patients["train"] & patients["eval"]
    assert not patients["eval"] & patients["test"]
    splits = result.manifest["counts"]["splits"]
    target = int(0.1 * result.manifest["counts"]["kept"])  # min(2114, 10% of kept rows)
    assert target <= splits["test"] < target + 5  # whole patients (at most 5 reports each)
    assert splits["eval"] >= 10
    leakage = result.manifest["leakage"]
    assert leakage["patients_across_splits"] == 0
    test_findings = {r["findings"] for r in _rows(config.out / "test.jsonl")}
    train_findings = {r["findings"] for r in _rows(config.out / "train.jsonl")}
    assert leakage["test_findings_in_train"] == sum(
        r["findings"] in train_findings for r in _rows(config.out / "test.jsonl")
    )
    assert test_findings  # non-trivial


def test_manifest_records_what_reproduces_the_run(prepared):
    config, result = prepared
    manifest = json.loads((config.out / MANIFEST).read_text())
    assert manifest["prompt_style"]["version"] == "radllama-instructions-v1"
    assert manifest["config"]["prompt"]["prepend_probability"] == 0.3
    assert manifest["package_versions"]["pyarrow"]
    assert len(manifest["input"]["sha256"]) == 64 and len(manifest["data_hash"]) == 64
    for name in ("train.jsonl", "eval.jsonl", "test.jsonl"):
        assert manifest["outputs"][name]["bytes"] == (config.out / name).stat().st_size
    assert sum(manifest["histogram"]["modality"].values()) == manifest["counts"]["kept"]
    audit = json.loads(Path(manifest["deid"]["audit"]["path"]).read_text())  # beside the input
    assert audit["total_redactions"] > 0 and audit["sample"]
    sections = manifest["counts"]["stages"]["sections"]
    assert sections["combined_split_at_last_paragraph"] > 0
    assert sections["addendum_kept_apart"] > 0


def test_rerun_is_a_no_op_and_a_config_change_is_not(prepared):
    config, first = prepared
    files = sorted(config.out.iterdir())
    before = {path: path.stat().st_mtime_ns for path in files}
    again = prepare(config)
    assert again.status == "up_to_date"
    assert again.manifest == first.manifest
    assert {path: path.stat().st_mtime_ns for path in sorted(config.out.iterdir())} == before


def test_output_does_not_depend_on_workers_or_chunking(corpus, prepared, tmp_path):
    csv_path, _ = corpus
    _, reference = prepared
    config = load_prepare_config(None, input=csv_path, out=tmp_path, workers=0)
    config.ingest.chunk_bytes = 64 << 10
    result = prepare(config)
    for name in ("train.jsonl", "eval.jsonl", "test.jsonl"):
        assert result.manifest["outputs"][name] == reference.manifest["outputs"][name]


def test_dry_run_counts_without_writing(corpus, prepared, tmp_path, run_cli):
    csv_path, _ = corpus
    _, reference = prepared
    out = tmp_path / "dry"
    code, stdout, _ = run_cli(
        "prepare", "--input", csv_path, "--out", out, "--dry-run", "--workers", "0"
    )
    assert code == 0 and not out.exists()
    assert "dry run" in stdout and "no_findings" in stdout
    dropped = reference.manifest["counts"]["dropped"]
    assert f"{dropped['duplicate']:,}" in stdout


def test_seed_changes_instructions_not_counts(corpus, prepared, tmp_path):
    csv_path, _ = corpus
    config, reference = prepared
    other = load_prepare_config(None, input=csv_path, out=tmp_path, workers=0, seed=1)
    result = prepare(other)
    assert result.manifest["counts"]["dropped"] == reference.manifest["counts"]["dropped"]
    first = {r["report_id"]: r["instruction_index"] for r in _rows(config.out / "train.jsonl")}
    second = {r["report_id"]: r["instruction_index"] for r in _rows(tmp_path / "train.jsonl")}
    shared = first.keys() & second.keys()
    assert sum(first[k] != second[k] for k in shared) > len(shared) // 2


def test_parquet_output_matches_jsonl(corpus, prepared, tmp_path):
    import pyarrow.parquet as pq

    csv_path, _ = corpus
    config, _ = prepared
    other = load_prepare_config(
        None, input=csv_path, out=tmp_path, output_format="parquet", workers=0
    )
    result = prepare(other)
    assert set(result.manifest["outputs"]) == {"train.parquet", "eval.parquet", "test.parquet"}
    assert pq.read_table(tmp_path / "test.parquet").to_pylist() == _rows(config.out / "test.jsonl")


def test_row_draws_are_seeded_and_use_the_prepend_probability():
    rows = list(range(1, 20001))
    instructions, prepends = row_draws(0, rows, 0.3)
    assert (instructions, prepends) == row_draws(0, rows, 0.3)
    assert set(instructions) == set(range(20))
    share = sum(p is not None for p in prepends) / len(rows)
    assert 0.28 < share < 0.32 and {p for p in prepends if p is not None} == set(range(10))
    assert row_draws(0, rows, 0.0)[1] == [None] * len(rows)
    assert row_draws(1, rows, 0.3)[0] != instructions


@pytest.mark.parametrize("prepend", [None, 3])
def test_fast_row_encoding_equals_json(prepend):
    ids = {
        "report_id": 'r"1\\', "patient_id": None, "exam_code": "CT\tHEAD",
        "exam_description": "Tête – é", "modality": "CT", "body_region": "head",
    }  # fmt: skip
    row = instruction_row(ids, 'a "quoted"\\ finding \u2028 ok', "imp\nx 😀", 5, prepend)
    assert json.loads(encode_row(row) + "}") == row
    assert row["prepend_index"] == prepend


def test_exam_field_description(corpus, tmp_path):
    ids = {
        "report_id": "r", "patient_id": "p", "exam_code": "CTHDWO",
        "exam_description": "CT HEAD W/O CONTRAST", "modality": "CT", "body_region": "head",
    }  # fmt: skip
    described, coded = PromptStyle(exam_field="exam_description"), PromptStyle()
    assert "EXAM: CT HEAD W/O" in instruction_row(ids, "f", "i", 0, None, described)["prompt"]
    assert "EXAM: CTHDWO" in instruction_row(ids, "f", "i", 0, None, coded)["prompt"]
    ids["exam_code"] = ""
    assert "EXAM: CT HEAD W/O" in instruction_row(ids, "f", "i", 0, None, coded)["prompt"]


HEADER = "report_id,patient_id,exam_code,exam_description,report_date,report_text\n"
GOOD = 'r{i},p{i},CTHDWO,CT HEAD,2020,"FINDINGS: one two three four five six seven eight nine ten {i}\nIMPRESSION: ok {i}"\n'


def test_malformed_csv_rows_are_counted_with_row_numbers(tmp_path, run_cli):
    body = HEADER + GOOD.format(i=1) + "r2,p2,X,Y\n" + GOOD.format(i=3) + 'r4,"bad"x,C,D,E,F\n'
    path = tmp_path / "in.csv"
    path.write_bytes(body.encode() + b"r5,p5,C,D,E,caf\xe9\n" + GOOD.format(i=6).encode())
    config = load_prepare_config(None, input=path, out=tmp_path / "out", workers=0)
    config.max_listed_malformed = 2
    manifest = prepare(config).manifest
    counts = manifest["counts"]
    assert counts["input_rows"] == 6 and counts["kept"] == 3
    assert counts["dropped"]["wrong_field_count"] == 1
    assert counts["dropped"]["parse_error"] == 1 and counts["dropped"]["bad_encoding"] == 1
    assert manifest["malformed_rows"]["count"] == 3
    assert manifest["malformed_rows"]["listed"] == [
        {"row": 4, "reason": "wrong_field_count"},
        {"row": 7, "reason": "parse_error"},
    ]  # line numbers: header is line 1, each good row spans 2 lines


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing_column", ["--preset", "iu-xray"], "column 'findings' not found"),
        ("ok", ["--preset", "nope"], "unknown preset 'nope'; registered presets are [mgh, iu-xray"),
        ("empty", [], "input file is empty"),
        ("header_only", [], "no report rows"),
        ("absent", [], "input not found"),
        ("ok", ["--format", "xml"], "output_format"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, run_cli, setup, args, message):
    path = tmp_path / "in.csv"
    contents = {"missing_column": HEADER + GOOD.format(i=1), "ok": HEADER + GOOD.format(i=1)}
    contents |= {"empty": "", "header_only": HEADER}
    if setup in contents:
        path.write_text(contents[setup])
    code, stdout, stderr = run_cli("prepare", "--input", path, "--out", tmp_path / "o", *args)
    assert code == 2, stderr
    assert message in stderr and stderr.count("\n") == 1 and "Traceback" not in stderr
    if setup == "missing_column":
        assert (
            "columns are [report_id, patient_id" in stderr and "ingest.columns.findings" in stderr
        )


def test_missing_input_option_names_the_flag():
    with pytest.raises(ConfigError, match="pass --input FILE"):
        load_prepare_config(None, out="x")


@pytest.mark.parametrize(
    "path", sorted((REPO / "configs").glob("prepare-*.yaml")), ids=lambda p: p.name
)
def test_configs_load_and_name_their_command(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and "radllama prepare" in path.read_text().split("\n\n")[0]
    config = load_prepare_config(path)
    assert config.preset in ("mgh", "iu-xray", "openi", "mimic-cxr")


def test_iu_xray_preset_on_the_shared_csv(shared_data, tmp_path, run_cli):
    source = shared_data / "iu_xray/indiana_reports_dev.csv"
    code, stdout, stderr = run_cli(
        "prepare", "--input", source, "--preset", "iu-xray", "--out", tmp_path, "--workers", "0",
        "--audit", tmp_path.with_name(tmp_path.name + ".audit.json"),  # not into shared data
    )  # fmt: skip
    assert code == 0, stderr
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    counts = manifest["counts"]
    assert counts["input_rows"] == 2968 == counts["kept"] + sum(counts["dropped"].values())
    assert counts["dropped"]["no_findings"] > 0  # the CSV has rows without findings
    assert manifest["histogram"]["modality_region"] == {"XR / chest": counts["kept"]}
    row = _rows(tmp_path / "test.jsonl")[0]
    assert row["exam_description"] and "EXAM: " + row["exam_description"] in row["prompt"]


def test_openi_preset_on_the_shared_jsonl(shared_data, tmp_path, run_cli):
    source = shared_data / "openi/validate.jsonl"
    code, _, stderr = run_cli(
        "prepare", "--input", source, "--preset", "openi", "--out", tmp_path, "--workers", "0",
        "--audit", tmp_path.with_name(tmp_path.name + ".audit.json"),  # not into shared data
    )  # fmt: skip
    assert code == 0, stderr
    counts = json.loads((tmp_path / MANIFEST).read_text())["counts"]
    assert counts["input_rows"] == 341 == counts["kept"] + sum(counts["dropped"].values())
    rows = _rows(tmp_path / "train.jsonl")
    assert all(r["exam_code"] == "" and "EXAM: UNKNOWN" in r["prompt"] for r in rows)
    assert Counter(r["modality"] for r in rows) == {"XR": len(rows)}
    assert any("XXXX" in r["findings"] for r in rows)  # existing placeholders survive


def test_mimic_cxr_folder_end_to_end(tmp_path):
    report = (
        "FINAL REPORT\nEXAMINATION: CHEST (PA AND LAT)\nINDICATION: cough.\n"
        "FINDINGS: The lungs are clear without focal consolidation, effusion or pneumothorax "
        "seen {i}.\nIMPRESSION: No acute cardiopulmonary process.\n"
    )
    for patient in range(6):
        folder = tmp_path / "files" / "p10" / f"p1000000{patient}"
        folder.mkdir(parents=True)
        for study in range(2):
            (folder / f"s5{patient}{study}.txt").write_text(report.format(i=f"{patient}-{study}"))
    config = load_prepare_config(
        None, input=tmp_path / "files", preset="mimic-cxr", out=tmp_path / "out", workers=0
    )
    config.split.test_size = 2
    config.split.min_eval_rows = 2
    result = prepare(config)
    assert result.manifest["counts"]["kept"] == 12
    rows = [r for s in ("train", "eval", "test") for r in _rows(tmp_path / "out" / f"{s}.jsonl")]
    assert {r["exam_description"] for r in rows} == {"CHEST (PA AND LAT)"}
    by_patient = {}
    for r in rows:
        by_patient.setdefault(r["patient_id"], set()).add(r["split"])
    assert len(by_patient) == 6 and all(len(s) == 1 for s in by_patient.values())
    assert result.manifest["counts"]["splits"]["test"] == 2


def test_redaction_cache_gives_the_uncached_results_and_audit():
    """A repeated short text (a normal-template impression) is redacted once; the texts and
    the audit are those of redacting every row."""
    from radllama.data.redaction import RedactionCache, redact_many_collapsed
    from radllama.deid.audit import DeidAudit
    from radllama.deid.config import DeidConfig
    from radllama.deid.engine import Deidentifier

    deid = Deidentifier(DeidConfig())
    texts = ["No acute process.", "Called to Dr. Smith at 10:30.", "No acute process."] * 3
    texts += ["Called to Dr. Smith at 10:30.  " + "x" * 300]  # too long to cache
    ids = [f"r{i}" for i in range(len(texts))]
    plain, cached = DeidAudit(), DeidAudit()
    cache = RedactionCache(max_entries=1)  # cleared when full: still the same results
    expected = redact_many_collapsed(deid, plain, texts, ids)
    assert redact_many_collapsed(deid, cached, texts, ids, cache) == expected
    assert cache.hits == 2  # runs of the same text hit; the one-entry cache clears between
    assert cached.to_json()["total_redactions"] == plain.to_json()["total_redactions"] == 8
    assert cached.to_json()["counts_by_type"] == plain.to_json()["counts_by_type"]
