"""Fault injection (issue 13): hostile input and crashes that must not corrupt, leak or pass.

Each test here reproduces a defect found by trying `radllama` as a careful user and a
security reviewer would, and keeps it fixed: stray CSV quotes, PHI in the dataset dir,
half-published outputs, orphaned workers, undecodable input, runs where everything failed,
and oversized or wrong-typed fields.
"""

from __future__ import annotations

import csv
import io
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
