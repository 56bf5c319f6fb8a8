"""Fault injection (issue 13): hostile input and crashes that must not corrupt, leak or pass.

Each test here reproduces a defect found by trying `radllama` as a careful user and a
security reviewer would, and keeps it fixed: stray CSV quotes, PHI in the dataset dir,
half-published outputs, orphaned workers, undecodable input, runs where everything failed,
and oversized or wrong-typed fields.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from radllama.ingest import IngestConfig, preset_ingest, read_records
from radllama.prepare import load_prepare_config, prepare
from radllama.synth import synthesize

MGH = IngestConfig(**preset_ingest("mgh"))


@pytest.fixture(scope="module")
def reports_csv(tmp_path_factory) -> Path:
    """4,000 synthetic reports: multi-line quoted report texts, unquoted id/exam fields."""
    out = tmp_path_factory.mktemp("faults") / "reports.csv"
    synthesize(4000, seed=1, out_csv=out, progress=False)
    return out


@pytest.fixture(scope="module")
def clean_manifest(reports_csv, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("clean")
    return prepare(load_prepare_config(None, input=reports_csv, out=out, workers=2)).manifest


# ---- item 2: CSV record boundaries agree with Python's csv module --------------------------


def csv_records(text: str) -> list[list[str] | None]:
    """Python's csv reading of a whole file in one reader, prepare's dialect (strict quoting;
    a record the reader rejects is None, and reading resumes after it); blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str] | None] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error:
            records.append(None)
            continue
        if row:
            records.append(row)


def _edit_exam_description(text: str, report_id: str, edit) -> str:
    """Apply `edit` to the (unquoted) exam_description field of one report's first line."""
    start = text.index(f"\n{report_id},") + 1
    end = text.index("\n", start)
    fields = text[start:end].split(",", 4)
    fields[3] = edit(fields[3])
    return text[:start] + ",".join(fields) + text[end:]


def _prepare_text(text: str, tmp_path: Path, name: str, **ingest) -> dict:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode())
    config = load_prepare_config(None, input=path, out=tmp_path / name, workers=2)
    config.ingest = config.ingest.model_copy(update=ingest)
    return prepare(config).manifest


def _affected(clean: str, dirty: str) -> int:
    """Clean records that Python's csv no longer reads verbatim from the dirty file."""
    dirty_rows = {tuple(row) for row in csv_records(dirty) if row is not None}
    return sum(tuple(row) not in dirty_rows for row in csv_records(clean)[1:] if row)


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("bare quote in an unquoted field", lambda field: field[:2] + '"' + field[2:]),
        ("unbalanced quote opening a field", lambda field: '"' + field),
    ],
)
def test_stray_quote_gives_pythons_csv_record_count(
    reports_csv, clean_manifest, tmp_path, kind, edit
):
    clean = reports_csv.read_bytes().decode()
    dirty = _edit_exam_description(clean, "R000000100", edit)
    manifest = _prepare_text(dirty, tmp_path, "dirty")
    counts, clean_counts = manifest["counts"], clean_manifest["counts"]
    records = len(csv_records(dirty)) - 1  # minus the header
    assert counts["input_rows"] == records, kind
    affected = _affected(clean, dirty)
    assert abs(counts["kept"] - clean_counts["kept"]) <= affected, (kind, affected)
    if kind.startswith("bare"):  # a literal quote: every report still reads whole
        assert records == 4000 and affected == 1
        assert counts["kept"] == clean_counts["kept"]
        assert manifest["malformed_rows"]["count"] == 0


@pytest.mark.parametrize("seed", range(12))
def test_random_stray_quotes_split_like_one_csv_reader(reports_csv, tmp_path, seed):
    """Property: chunked ingest reads exactly what one csv reader over the whole file reads,
    wherever stray quotes fall and however small the chunks are."""
    rng = random.Random(seed)
    text = reports_csv.read_bytes().decode()[:60_000]
    text = text[: text.rindex('"\n') + 2]  # whole records only
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(text.index("\n") + 1, len(text))  # the header stays intact
        text = text[:at] + '"' + text[at:]
    path = tmp_path / "stray.csv"
    path.write_bytes(text.encode())
    config = MGH.model_copy(update={"chunk_bytes": 1024})
    rows, malformed, texts = [], 0, []
    for records in read_records(path, config):
        rows += records.rows
        malformed += len(records.malformed)
        texts += records.columns["text"]
    expected = csv_records(text)
    header = expected.pop(0)
    assert len(rows) + malformed == len(expected)
    good = [row for row in expected if row is not None and len(row) == len(header)]
    assert texts == [row[5] for row in good]


# ---- item 3: the de-identification audit (original PHI) stays out of DATA_DIR --------------


def _small_corpus(tmp_path: Path, n: int = 300, seed: int = 3) -> Path:
    path = tmp_path / "raw" / "reports.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    synthesize(n, seed=seed, out_csv=path, progress=False)
    return path


def _planted_phi(csv_path: Path) -> set[str]:
    """Identifier values planted by the generator (its ground truth), 6+ characters."""
    values = set()
    for line in csv_path.with_name(csv_path.stem + ".phi.jsonl").open():
        for span in json.loads(line).get("spans", []):
            if len(span.get("text", "")) >= 6:
                values.add(span["text"])
    return values


def test_audit_with_original_context_is_written_beside_the_input_not_in_data_dir(tmp_path):
    source = _small_corpus(tmp_path)
    out = tmp_path / "data"
    manifest = prepare(load_prepare_config(None, input=source, out=out, workers=0)).manifest
    audit_path = source.with_name("reports.csv.deid_audit.json")
    audit = json.loads(audit_path.read_text())
    assert audit["total_redactions"] > 0 and all("original_context" in s for s in audit["sample"])
    assert not (out / "deid_audit.json").exists()
    assert "deid_audit.json" not in manifest["outputs"]
    assert manifest["deid_audit"]["path"] == str(audit_path.resolve())
    assert manifest["deid_audit"]["counts_by_type"] == audit["counts_by_type"]
    phi = _planted_phi(source)
    assert any(value in audit_path.read_text() for value in phi)  # the audit does hold PHI
    contexts = [json.dumps(item["original_context"])[1:-1] for item in audit["sample"]]
    for path in out.rglob("*"):  # ... and nothing in DATA_DIR holds its original contexts
        text = path.read_text(errors="replace")
        assert not any(context in text for context in contexts), path


def test_audit_path_option_and_leaving_out_original_context(tmp_path, run_cli):
    source = _small_corpus(tmp_path)
    audit_path = tmp_path / "restricted" / "audit.json"
    code, _, stderr = run_cli(
        "prepare", "--input", source, "--out", tmp_path / "data", "--workers", "0",
        "--audit", audit_path, "--no-audit-context",
    )  # fmt: skip
    assert code == 0, stderr
    audit = json.loads(audit_path.read_text())
    assert audit["sample"] and not any("original_context" in s for s in audit["sample"])
    assert not source.with_name("reports.csv.deid_audit.json").exists()
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["deid_audit"]["original_context"] is False


def test_audit_inside_data_dir_is_refused_with_one_line(tmp_path, run_cli):
    source = _small_corpus(tmp_path, n=50)
    out = tmp_path / "data"
    code, _, stderr = run_cli(
        "prepare", "--input", source, "--out", out, "--workers", "0", "--audit", out / "a.json"
    )
    assert code == 2 and stderr.count("\n") == 1 and "--audit" in stderr, stderr


def test_model_card_totals_come_from_the_manifest(tmp_path):
    from radllama.training.card import deid_totals

    source = _small_corpus(tmp_path, n=100)
    manifest = prepare(load_prepare_config(None, input=source, out=tmp_path / "d", workers=0))
    totals = deid_totals(tmp_path / "d")
    assert (
        totals is not None
        and totals["total"] == manifest.manifest["deid_audit"]["total_redactions"]
    )
