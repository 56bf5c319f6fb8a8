"""Streaming ingest: formats, chunk boundaries, malformed rows with row numbers, bad input."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from radllama.core.errors import ConfigError, DataError
from radllama.data.ingest import ColumnMap, IngestConfig, read_records
from radllama.data.presets import preset_ingest

MGH = IngestConfig(**preset_ingest("mgh"))
HEADER = "report_id,patient_id,exam_code,exam_description,report_date,report_text\n"


def _collect(path, config):
    rows, malformed, columns, blank = [], [], {}, 0
    for records in read_records(path, config):
        rows += records.rows
        malformed += records.malformed
        blank += records.blank_lines
        for name, values in records.columns.items():
            columns.setdefault(name, []).extend(values)
    return rows, malformed, columns, blank


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


CSV_BODY = (
    HEADER
    + 'r1,p1,CTCHWO,CT CHEST,2020-01-01,"FINDINGS: a\nb, ""quoted""\nIMPRESSION: c"\n'  # lines 2-4
    + "r2,p2,XRCH2V,XR CHEST,2020-01-02\n"  # line 5: 5 fields, not 6
    + 'r3,p3,X,"broken"quote,2020,text\n'  # line 6: bad quoting
    + "\n"  # line 7: blank, skipped and counted apart
    + "r4,p4,X,Y,2020,FINDINGS: d IMPRESSION: e\n"  # line 8
)


def test_csv_rows_multiline_fields_and_malformed_rows_with_line_numbers(tmp_path):
    path = _write(tmp_path, "a.csv", CSV_BODY.encode() + b"r5,p5,X,Y,2020,caf\xe9 bad\n")
    rows, malformed, columns, blank = _collect(path, MGH)
    assert rows == [2, 8]
    assert malformed == [(5, "wrong_field_count"), (6, "parse_error"), (9, "bad_encoding")]
    assert columns["text"] == [
        'FINDINGS: a\nb, "quoted"\nIMPRESSION: c',
        "FINDINGS: d IMPRESSION: e",
    ]
    assert columns["patient_id"] == ["p1", "p4"] and blank == 1


@pytest.mark.parametrize("chunk_bytes", [1024, 1 << 20])
def test_csv_chunk_boundaries_do_not_change_rows(tmp_path, chunk_bytes):
    lines = [HEADER] + [
        f'r{i},p{i},C,D,2020,"FINDINGS: x{i}\nIMPRESSION: y, {i}"\n' for i in range(400)
    ]
    path = _write(tmp_path, "big.csv", "".join(lines).encode())
    config = MGH.model_copy(update={"chunk_bytes": chunk_bytes})
    chunks = list(read_records(path, config))
    rows, malformed, columns, _ = _collect(path, config)
    assert rows == [2 + 2 * i for i in range(400)] and malformed == []
    assert columns["text"][399] == "FINDINGS: x399\nIMPRESSION: y, 399"
    assert (len(chunks) > 5) == (chunk_bytes == 1024)


def test_unbalanced_quote_is_isolated_not_swallowing_the_file(tmp_path):
    good = [f"r{i},p{i},C,D,2020,FINDINGS: x IMPRESSION: y\n" for i in range(300)]
    data = HEADER + good[0] + 'rX,pX,C,D,2020,"never closed\n' + "".join(good[1:])
    config = MGH.model_copy(update={"chunk_bytes": 1024, "max_record_bytes": 2048})
    rows, malformed, _, _ = _collect(_write(tmp_path, "q.csv", data.encode()), config)
    assert malformed == [(3, "parse_error")]
    assert len(rows) == 300  # every good row survives; the broken line is counted


def test_csv_header_only_gives_no_rows_and_bom_is_ignored(tmp_path):
    path = _write(tmp_path, "h.csv", ("\ufeff" + HEADER).encode())
    assert _collect(path, MGH)[0] == []


def test_jsonl_bad_lines_counted_with_line_numbers(tmp_path):
    data = b'{"inputs": "f", "target": "i", "idx": 0}\n{broken\n[1, 2]\n\n{"inputs": "\xff"}\n'
    data += b'{"inputs": "g", "target": null, "idx": 5}'
    config = IngestConfig(**preset_ingest("openi"))
    rows, malformed, columns, blank = _collect(_write(tmp_path, "a.jsonl", data), config)
    assert rows == [1, 6]
    assert malformed == [(2, "parse_error"), (3, "not_an_object"), (5, "bad_encoding")]
    assert columns == {"report_id": ["0", "5"], "findings": ["f", "g"], "impression": ["i", ""]}
    assert blank == 1


def test_json_array_streamed_in_small_blocks(tmp_path):
    items = [{"inputs": f"finding {i} " + "x" * 50, "target": "imp", "idx": i} for i in range(200)]
    items.insert(3, "not an object")
    path = _write(tmp_path, "a.json", json.dumps(items, indent=1).encode())
    config = IngestConfig(
        **{**preset_ingest("openi"), "format": "json", "chunk_bytes": 1024, "chunk_rows": 7}
    )
    rows, malformed, columns, _ = _collect(path, config)
    assert malformed == [(4, "not_an_object")]
    assert len(rows) == 200 and columns["report_id"][-1] == "199"


def test_json_array_truncated_is_one_line_error(tmp_path):
    path = _write(tmp_path, "t.json", b'[{"inputs": "a", "target": "b", "idx": 1}, {"inputs": ')
    config = IngestConfig(**{**preset_ingest("openi"), "format": "json"})
    with pytest.raises(DataError, match="not closed|invalid JSON"):
        _collect(path, config)


def test_parquet_batches(tmp_path):
    table = pa.table({"inputs": ["a", None, "c"], "target": ["x", "y", "z"], "idx": [1, 2, 3]})
    pq.write_table(table, tmp_path / "a.parquet")
    config = IngestConfig(**{**preset_ingest("openi"), "format": "auto", "chunk_rows": 2})
    rows, _, columns, _ = _collect(tmp_path / "a.parquet", config)
    assert rows == [1, 2, 3] and columns["findings"] == ["a", "", "c"]


def test_mimic_folder_layout(tmp_path):
    study = tmp_path / "files" / "p10" / "p10000032"
    study.mkdir(parents=True)
    (study / "s2.txt").write_text("FINDINGS: b\nIMPRESSION: c")
    (study / "s1.txt").write_text("FINDINGS: a\nIMPRESSION: c")
    (study / "s3.txt").write_bytes(b"\xff\xfe bad")
    (study / "notes.csv").write_text("ignored")
    config = IngestConfig(**preset_ingest("mimic-cxr"))
    rows, malformed, columns, _ = _collect(tmp_path / "files", config)
    assert rows == [1, 2] and malformed == [(3, "bad_encoding")]
    assert columns["report_id"] == ["s1", "s2"]
    assert columns["patient_id"] == ["p10000032", "p10000032"]


def test_missing_column_names_found_columns_and_config_key(tmp_path):
    path = _write(tmp_path, "a.csv", HEADER.replace("report_text", "text").encode())
    with pytest.raises(DataError) as error:
        _collect(path, MGH)
    message = str(error.value)
    assert "column 'report_text' not found" in message
    assert "report_date, text]" in message and "ingest.columns.text" in message


def test_bad_paths_and_formats(tmp_path):
    with pytest.raises(DataError, match="input not found"):
        _collect(tmp_path / "nope.csv", MGH)
    with pytest.raises(DataError, match="input file is empty"):
        _collect(_write(tmp_path, "e.csv", b""), MGH)
    with pytest.raises(DataError, match="is a folder"):
        _collect(tmp_path, MGH.model_copy(update={"format": "csv"}))
    with pytest.raises(ConfigError, match="set ingest.format"):
        _collect(_write(tmp_path, "a.xlsx", b"x"), MGH)
    with pytest.raises(ConfigError, match=r"presets are \[mgh, iu-xray, openi, mimic-cxr\]"):
        preset_ingest("nope")


def test_column_map_needs_text_or_findings_and_impression():
    with pytest.raises(ValueError, match="set columns.text"):
        ColumnMap(findings="f")
    with pytest.raises(ValueError, match="not both"):
        ColumnMap(text="t", findings="f", impression="i")


def test_iu_xray_preset_on_the_shared_csv(shared_data):
    config = IngestConfig(**preset_ingest("iu-xray"))
    rows, malformed, columns, _ = _collect(shared_data / "iu_xray/indiana_reports_dev.csv", config)
    assert len(rows) == 2968 and malformed == []
    assert columns["exam_description"][0] == "Xray Chest PA and Lateral"
    assert sum(not f for f in columns["findings"]) > 0  # the empty findings the filters drop


def test_openi_preset_on_the_shared_jsonl(shared_data):
    config = IngestConfig(**preset_ingest("openi"))
    rows, malformed, columns, _ = _collect(shared_data / "openi/validate.jsonl", config)
    assert len(rows) == 341 and malformed == []
    assert set(columns) == {"report_id", "findings", "impression"}


# -- the record splitter agrees with Python's csv module ----------------------------------------
def _csv_module_record_ends(data: bytes, delimiter: str) -> list[int]:
    """The reference: every record read by one strict csv.reader over the whole data (the
    splitter's previous implementation; a rejected record ends at the end of its last line)."""
    import csv
    import io
    import itertools

    lines = io.StringIO(data.decode("latin-1"), newline="").readlines()
    line_ends = list(itertools.accumulate(map(len, lines)))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    ends: list[int] = []
    while True:
        try:
            next(reader)
        except StopIteration:
            return ends
        except csv.Error:
            pass
        ends.append(line_ends[reader.line_num - 1] if reader.line_num else 0)


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_record_ends_agree_with_the_csv_module_on_random_text(delimiter):
    """Property, 4,000 random texts over the characters that matter (quotes, delimiters, CR,
    LF, NUL, blanks, letters, Latin-1): the fast splitter cuts exactly where csv does."""
    import random

    from radllama.data.ingest import _csv_record_ends

    rng = random.Random(20261202)
    alphabet = ['"', '"', delimiter, delimiter, "\r", "\n", "\r\n", "\x00", " ", "a", "b", "é"]
    for _ in range(4000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        data = text.encode("latin-1")
        assert _csv_record_ends(data, delimiter) == _csv_module_record_ends(data, delimiter), data


def test_record_ends_on_report_shaped_rows():
    from radllama.data.ingest import _csv_record_ends

    data = CSV_BODY.encode() + b'r5,p5,"unterminated\nfield,x\n'
    assert _csv_record_ends(data, ",") == _csv_module_record_ends(data, ",")
