"""Safe by construction (issue 20), part 2: `prepare` never overwrites its input, reads only
regular files, and bounds what a hostile export can cost (columns, line length)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from radllama.core.jsonl import write_jsonl
from radllama.data.ingest import IngestConfig, read_records
from radllama.data.presets import preset_ingest

OPENI = IngestConfig(**preset_ingest("openi"))
FINDINGS = "The lungs are clear. There is no pleural effusion or pneumothorax seen today at all."


def _openi_rows(n: int) -> list[dict]:
    return [
        {"idx": i, "inputs": f"{FINDINGS} Case {i}.", "target": f"No acute disease {i}."}
        for i in range(n)
    ]


def _one_line(err: str) -> bool:
    return err.strip().count("\n") == 0 and "Traceback" not in err


# ---- --out never replaces the input ------------------------------------------------------------


def test_out_containing_the_input_is_refused_and_the_input_survives(tmp_path, run_cli):
    raw = tmp_path / "train.jsonl"  # a raw export that happens to share a split file's name
    write_jsonl(raw, _openi_rows(40))
    before = raw.read_bytes()
    code, _, err = run_cli("prepare", "--input", raw, "--preset", "openi", "--out", tmp_path)
    assert code == 2 and _one_line(err) and "contains the input" in err
    assert raw.read_bytes() == before and not (tmp_path / "manifest.json").exists()


def test_out_equal_to_the_input_file_is_refused(tmp_path, run_cli):
    raw = tmp_path / "reports.jsonl"
    write_jsonl(raw, _openi_rows(10))
    code, _, err = run_cli("prepare", "--input", raw, "--preset", "openi", "--out", raw)
    assert code == 2 and _one_line(err) and "is the input itself" in err
    assert raw.read_bytes().count(b"\n") == 10


@pytest.mark.parametrize("out", ["/proc/self/radllama", "/sys/radllama"])
def test_out_under_proc_or_sys_is_one_line(tmp_path, run_cli, out):
    raw = tmp_path / "reports.jsonl"
    write_jsonl(raw, _openi_rows(10))
    code, _, err = run_cli("prepare", "--input", raw, "--preset", "openi", "--out", out)
    assert code == 2 and _one_line(err) and "kernel interface" in err


def test_out_inside_an_input_folder_is_refused(tmp_path, run_cli):
    folder = tmp_path / "files" / "p10" / "p10000032"
    folder.mkdir(parents=True)
    (folder / "s1.txt").write_text(f"FINDINGS: {FINDINGS}\nIMPRESSION: No acute disease.\n")
    code, _, err = run_cli(
        "prepare", "--input", tmp_path / "files", "--preset", "mimic-cxr", "--out",
        tmp_path / "files" / "dataset",
    )  # fmt: skip
    assert code == 2 and _one_line(err) and "inside the input folder" in err


# ---- only regular files are read ---------------------------------------------------------------


def test_an_input_that_is_a_fifo_or_device_is_refused_without_opening(tmp_path, run_cli):
    fifo = tmp_path / "reports.jsonl"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer():  # if prepare opened the FIFO for reading, this open would return
        with open(fifo, "wb"):
            opened.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    code, _, err = run_cli("prepare", "--input", fifo, "--preset", "openi", "--out", tmp_path / "o")
    assert code == 2 and _one_line(err) and "not a regular file" in err
    assert not opened.is_set()
    with open(fifo, "rb"):  # release the writer thread
        pass
    link = tmp_path / "zero.jsonl"
    link.symlink_to("/dev/zero")
    code, _, err = run_cli("prepare", "--input", link, "--preset", "openi", "--out", tmp_path / "z")
    assert code == 2 and _one_line(err) and "not a regular file" in err


def test_report_folder_reads_only_regular_files_inside_it(tmp_path, run_cli):
    root = tmp_path / "files"
    patient = root / "p10" / "p10000032"
    patient.mkdir(parents=True)
    for i in range(12):
        (patient / f"s{i:02d}.txt").write_text(
            f"FINDINGS: {FINDINGS} Study {i}.\nIMPRESSION: No acute disease {i}.\n"
        )
    secret = tmp_path / "outside.txt"
    secret.write_text(f"FINDINGS: {FINDINGS} Outside.\nIMPRESSION: Secret.\n")
    (patient / "s90.txt").symlink_to("/dev/zero")  # MemoryError traceback before
    os.mkfifo(patient / "s91.txt")  # hung prepare forever before
    (patient / "s92.txt").symlink_to(secret)  # outside the input folder
    (patient / "s93.txt").symlink_to(patient / "s00.txt")  # inside: read
    code, _, err = run_cli(
        "prepare", "--input", root, "--preset", "mimic-cxr", "--out", tmp_path / "data",
        "--workers", "0",
    )  # fmt: skip
    assert code == 0, err
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    dropped = manifest["counts"]["dropped"]
    assert dropped["not_a_regular_file"] == 1 and dropped["symlink_outside_input"] == 2
    assert manifest["counts"]["input_rows"] == 16
    text = "".join(p.read_text() for p in (tmp_path / "data").glob("*.jsonl"))
    assert "Secret" not in text and "Outside" not in text


def test_read_regular_file_never_reads_devices_or_oversized_files(tmp_path):
    from radllama.data.ingest import read_regular_file

    assert read_regular_file("/dev/zero", 1 << 20) == "not_a_regular_file"
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    assert read_regular_file(str(big), 1024) == "file_too_large"
    assert read_regular_file(str(big), 4096) == b"x" * 2048


# ---- bounded cost --------------------------------------------------------------------------


def test_a_csv_header_with_a_million_columns_is_one_line(tmp_path, run_cli):
    path = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(1_000_000))
    path.write_text(f"report_text,{header}\n" + "x,\n" * 3)
    code, _, err = run_cli("prepare", "--input", path, "--out", tmp_path / "o")
    assert code == 2 and _one_line(err) and "columns, more than ingest.max_columns" in err


def test_an_enormous_jsonl_line_is_counted_not_held(tmp_path):
    path = tmp_path / "big.jsonl"
    rows = _openi_rows(3)
    with open(path, "w") as handle:
        handle.write(json.dumps(rows[0]) + "\n")
        handle.write('{"idx": 99, "inputs": "' + "a" * (8 << 20) + '", "target": "x"}\n')  # 8 MiB
        handle.write(json.dumps(rows[1]) + "\n" + json.dumps(rows[2]))  # last line: no newline
    config = OPENI.model_copy(update={"chunk_bytes": 1 << 16, "max_record_bytes": 1 << 20})
    records = list(read_records(path, config))
    rows_read = [n for r in records for n in r.rows]
    malformed = [m for r in records for m in r.malformed]
    assert rows_read == [1, 3, 4] and malformed == [(2, "line_too_long")]
    # the chunks handed on are bounded by the limit plus one block, never the 8 MiB line
    from radllama.data.ingest import iter_raw_chunks

    sizes = [len(c.payload) for c in iter_raw_chunks(path, config)]
    assert max(sizes) <= (1 << 20) + (1 << 16)


def test_jsonl_readers_never_open_a_device(tmp_path):
    """`read_jsonl_counted` (radllama deid, index --add) refuses /dev/zero before opening it."""
    from radllama.core.errors import DataError
    from radllama.core.jsonl import MalformedLines, read_jsonl_counted

    link = tmp_path / "rows.jsonl"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="not a regular file"):
        next(read_jsonl_counted(link, MalformedLines()))
