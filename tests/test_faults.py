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
import shutil
from pathlib import Path

import pytest

from radllama.core.artifacts import DataDir
from radllama.core.errors import DataError
from radllama.core.provenance import file_sha256
from radllama.data.ingest import IngestConfig, read_records
from radllama.data.prepare import load_prepare_config, prepare
from radllama.data.presets import preset_ingest
from radllama.synth.corpus import synthesize

REPO = Path(__file__).resolve().parents[1]

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
    assert manifest["deid"]["audit"]["path"] == str(audit_path.resolve())
    assert manifest["deid"]["counts"]["by_type"] == {
        kind: n for kind, n in audit["counts_by_type"].items() if n
    }
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
    assert manifest["deid"]["audit"]["original_context"] is False


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
        and totals["total"] == manifest.manifest["deid"]["counts"]["total_redactions"]
    )


# ---- item 4: atomic publishing, hashes checked by readers, workers die with prepare -------


def _output_hashes(out: Path, names) -> dict[str, str]:
    return {name: file_sha256(out / name) for name in names}


@pytest.fixture(scope="module")
def old_and_new(tmp_path_factory) -> dict:
    """One input prepared twice with different seeds (different files, same names): the
    'old' output a DATA_DIR holds and the 'new' one a rerun with the new config publishes."""
    root = tmp_path_factory.mktemp("publish")
    source = _small_corpus(root, n=400, seed=11)
    runs = {}
    for name, seed in (("old", 0), ("new", 1)):
        config = load_prepare_config(None, input=source, out=root / name, workers=2, seed=seed)
        config.audit = root / f"{name}.audit.json"
        runs[name] = prepare(config).manifest
    hashes = {name: {k: v["sha256"] for k, v in m["outputs"].items()} for name, m in runs.items()}
    assert hashes["old"]["train.jsonl"] != hashes["new"]["train.jsonl"]
    return {"root": root, "source": source, "hashes": hashes}


def _install_old(old_and_new: dict, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(old_and_new["root"] / "old", out)


def _new_config(old_and_new: dict, out: Path):
    config = load_prepare_config(None, input=old_and_new["source"], out=out, workers=2, seed=1)
    config.audit = out.parent / "kill.audit.json"
    return config


def test_train_refuses_a_mix_of_two_runs_with_one_line(
    old_and_new, tmp_path, run_cli, tiny_model_dir
):
    out = tmp_path / "mixed"
    _install_old(old_and_new, out)
    shutil.copy(old_and_new["root"] / "new" / "train.jsonl", out / "train.jsonl")
    with pytest.raises(DataError, match="rerun `radllama prepare`"):
        DataDir.open_prepared(out)
    code, _, stderr = run_cli(
        "train", REPO / "configs/tiny-cpu.yaml", "--data", out, "--model", tiny_model_dir,
        "--out", tmp_path / "run",
    )  # fmt: skip
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "train.jsonl does not match" in stderr and "rerun `radllama prepare`" in stderr


def test_rerun_up_to_date_check_compares_hashes_not_sizes(old_and_new, tmp_path):
    out = tmp_path / "data"
    _install_old(old_and_new, out)
    config = load_prepare_config(None, input=old_and_new["source"], out=out, workers=0)
    config.audit = old_and_new["root"] / "old.audit.json"
    assert prepare(config).status == "up_to_date"
    data = bytearray((out / "eval.jsonl").read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")  # same size, other bytes
    (out / "eval.jsonl").write_bytes(bytes(data))
    assert prepare(config).status == "written"
    assert _output_hashes(out, config_manifest(out)["outputs"]) == old_and_new["hashes"]["old"]


def config_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _run_and_kill(config, when: float | None = None, at_rename: int | None = None) -> int:
    """Run prepare in a forked child and SIGKILL it `when` seconds in, or at its
    `at_rename`-th os.replace call (0-based; None: not on a rename). Returns the exit code."""
    import multiprocessing
    import os
    import signal
    import time

    def child() -> None:
        if at_rename is not None:
            real, calls = os.replace, [0]

            def replace(*args, **kwargs):
                if calls[0] == at_rename:
                    os.kill(os.getpid(), signal.SIGKILL)
                calls[0] += 1
                return real(*args, **kwargs)

            os.replace = replace
        prepare(config)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    if when is not None:
        time.sleep(when)
        os.kill(process.pid, signal.SIGKILL)
    process.join(60)
    return process.exitcode


def _state(out: Path, hashes: dict) -> str:
    """'old' / 'new' when readers accept DATA_DIR (and it is exactly that run's files),
    'refused' when they refuse it with the one line naming the fix; anything else fails."""
    try:
        dataset = DataDir.open_prepared(out)
    except DataError as error:
        assert "rerun `radllama prepare`" in str(error) and "\n" not in str(error), error
        return "refused"
    found = _output_hashes(out, dataset.manifest.outputs)
    for name in ("old", "new"):
        if found == hashes[name]:
            return name
    raise AssertionError(f"readers accepted a mix: {found}")


def test_kill_during_publish_never_leaves_an_accepted_mix(old_and_new, tmp_path):
    """kill -9 at every rename of the publish step (where a mix could appear), then rerun."""
    import os

    out = tmp_path / "data"
    hashes = old_and_new["hashes"]
    calls, real = [], os.replace
    os.replace = lambda *a, **k: (calls.append(a), real(*a, **k))[1]
    try:
        _install_old(old_and_new, out)
        prepare(_new_config(old_and_new, out))
    finally:
        os.replace = real
    assert _state(out, hashes) == "new" and len(calls) >= 4
    states = []
    for at in range(len(calls)):
        _install_old(old_and_new, out)
        assert _run_and_kill(_new_config(old_and_new, out), at_rename=at) == -9
        states.append(_state(out, hashes))
        if states[-1] != "new":  # the rerun finishes the job
            assert prepare(_new_config(old_and_new, out)).status == "written"
            assert _state(out, hashes) == "new"
    assert states[0] == "old" and "refused" in states, states


@pytest.mark.parametrize("seed", range(4))
def test_kill_at_random_times_gives_old_or_new_output(old_and_new, tmp_path, seed):
    import time

    out = tmp_path / "data"
    _install_old(old_and_new, out)
    start = time.perf_counter()
    prepare(_new_config(old_and_new, out))
    full = time.perf_counter() - start
    rng = random.Random(seed)
    for _ in range(3):
        _install_old(old_and_new, out)
        _run_and_kill(_new_config(old_and_new, out), when=rng.uniform(0, 1.5 * full))
        assert _state(out, old_and_new["hashes"]) in ("old", "new", "refused")
        assert not list(out.parent.glob("*.prepare-staging*"))  # staging lives inside DATA_DIR


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left to collect


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_prepare(tmp_path):
    """kill -9 the parent while its workers are busy: the workers are gone within seconds
    (before: they lived on, stuck, for as long as their chunk took and then on a pipe)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    source = _small_corpus(tmp_path, n=200)
    script = (
        "import time, sys\n"
        "from pathlib import Path\n"
        "from radllama.data import prepare as p\n"
        "real = p.ChunkProcessor.__call__\n"
        "p.ChunkProcessor.__call__ = lambda self, chunk: (time.sleep(120), real(self, chunk))[1]\n"
        "config = p.load_prepare_config(None, input=Path(sys.argv[1]), out=Path(sys.argv[2]),"
        " workers=2)\n"
        "config.ingest.chunk_bytes = 4096\n"
        "p.prepare(config)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(source), str(tmp_path / "o")])
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2, "prepare did not start its workers"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "workers outlived their parent"
    finally:
        for pid in _children(parent.pid) + (workers if "workers" in dir() else []):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_split_file_readers_refuse_a_file_from_another_run(old_and_new, tmp_path):
    from radllama.generation.generate import load_split
    from radllama.model.base import report_documents

    out = tmp_path / "mixed"
    _install_old(old_and_new, out)
    load_split(out)  # the old output, whole: accepted
    shutil.copy(old_and_new["root"] / "new" / "test.jsonl", out / "test.jsonl")
    shutil.copy(old_and_new["root"] / "new" / "train.jsonl", out / "train.jsonl")
    for read in (lambda: load_split(out), lambda: load_split(out / "test.jsonl")):
        with pytest.raises(DataError, match="test.jsonl does not match.*rerun `radllama prepare`"):
            read()
    with pytest.raises(DataError, match="train.jsonl does not match"):
        list(report_documents(out))


# ---- item 6: undecodable input: counted malformed lines / one-line errors, no tracebacks ----


def test_deid_counts_malformed_lines_like_prepare(tmp_path, run_cli):
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": 1, "text": "Seen by Dr. John Smith on 03/04/2021."}\n'
        b'{"id": 2, "text": "caf\xe9 latin-1 bytes"}\n'  # line 2: not UTF-8
        b"{broken json\n"  # line 3
        b"[1, 2]\n"  # line 4: not an object
        b'{"id": 5, "text": 3.14}\n'  # line 5: a number where text belongs
        b'{"id": 6, "text": "Call 617-555-0101."}\n'
    )
    code, stdout, stderr = run_cli("deid", "--input", source, "--out", tmp_path / "out.jsonl")
    assert code == 0 and "Traceback" not in stderr, stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, 6] and "Smith" not in rows[0]["text"]
    assert "4 malformed lines skipped" in stdout
    audit = json.loads((tmp_path / "out.audit.json").read_text())
    assert audit["malformed"]["count"] == 4
    assert audit["malformed"]["by_reason"] == {
        "bad_encoding": 1, "parse_error": 1, "not_an_object": 1, "wrong_type": 1
    }  # fmt: skip
    assert audit["malformed"]["listed"][0] == {"line": 2, "reason": "bad_encoding"}


@pytest.mark.parametrize("contents", [b"", b"\n\n", b"\xff\xfe\x00garbage\n"])
def test_deid_with_no_readable_rows_exits_2_with_one_line(tmp_path, run_cli, contents):
    source = tmp_path / "in.jsonl"
    source.write_bytes(contents)
    code, _, stderr = run_cli("deid", "--input", source, "--out", tmp_path / "out.jsonl")
    assert code == 2 and stderr.count("\n") == 1 and "no JSON rows" in stderr, stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_impress_rejects_non_utf8_stdin_with_one_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "radllama", "impress", "--model", str(tmp_path), "--exam", "CT"],
        input=b"Lungs clear, caf\xe9 \xff\xfe.\n",
        capture_output=True,
        timeout=120,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1 and "not valid UTF-8" in stderr


# ---- item 8: oversized fields, wrong types, empty input folders ----------------------------

FINDINGS = "The lungs are clear without focal consolidation, effusion or pneumothorax today."


def _openi_rows(tmp_path: Path, rows: list[dict], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _prepare_openi(tmp_path: Path, source: Path, **options) -> dict:
    config = load_prepare_config(
        None, input=source, out=tmp_path / "data", preset="openi", workers=0, **options
    )
    config.audit = tmp_path / "audit.json"
    return prepare(config).manifest


def test_oversized_fields_are_a_counted_drop(tmp_path):
    rows = [{"idx": i, "inputs": f"{FINDINGS} {i}", "target": f"Normal {i}."} for i in range(5)]
    rows[1]["inputs"] = FINDINGS + " x" * 12_000  # ~24,000 characters of findings
    rows[3]["target"] = "Normal. " * 3_000
    manifest = _prepare_openi(tmp_path, _openi_rows(tmp_path, rows))
    counts = manifest["counts"]
    assert counts["dropped"]["too_long"] == 2 and counts["kept"] == 3
    rows[1]["inputs"] = FINDINGS + " x" * 200  # 480 characters: kept by default, not at 300
    manifest = _prepare_openi(
        tmp_path, _openi_rows(tmp_path, rows), filters={"max_field_chars": 300}
    )
    assert manifest["counts"]["dropped"]["too_long"] == 2


def test_numbers_lists_and_objects_are_not_turned_into_text(tmp_path):
    rows = [{"idx": i, "inputs": f"{FINDINGS} {i}", "target": f"Normal {i}."} for i in range(6)]
    rows[1]["target"] = 3.14
    rows[2]["inputs"] = ["The lungs", "are clear"]
    rows[3]["target"] = {"text": "Normal."}
    rows[4]["inputs"] = True
    manifest = _prepare_openi(tmp_path, _openi_rows(tmp_path, rows))
    counts = manifest["counts"]
    assert counts["dropped"]["wrong_type"] == 4 and counts["kept"] == 2
    assert counts["input_rows"] == 6 == counts["kept"] + sum(counts["dropped"].values())
    kept = [json.loads(line) for name in ("train", "eval", "test")
            for line in (tmp_path / "data" / f"{name}.jsonl").read_text().splitlines()]  # fmt: skip
    assert sorted(row["report_id"] for row in kept) == ["0", "5"]  # a numeric id is fine
    assert not any("3.14" in row["impression"] for row in kept)


def test_wrong_type_in_a_parquet_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {"idx": [1, 2], "inputs": [FINDINGS, FINDINGS + " again"], "target": [1.5, 2.5]}
    )
    pq.write_table(table, tmp_path / "in.parquet")
    config = load_prepare_config(
        None, input=tmp_path / "in.parquet", out=tmp_path / "d", preset="openi", workers=0
    )
    config.ingest = config.ingest.model_copy(update={"format": "parquet"})
    config.audit = tmp_path / "audit.json"
    manifest = prepare(config, dry_run=True).manifest
    assert manifest["counts"]["dropped"]["wrong_type"] == 2


def test_empty_input_folder_says_no_input_files(tmp_path, run_cli):
    (tmp_path / "files").mkdir()
    code, _, stderr = run_cli(
        "prepare", "--input", tmp_path / "files", "--preset", "mimic-cxr", "--out", tmp_path / "o"
    )
    assert code == 2 and stderr.count("\n") == 1 and "no input files" in stderr, stderr
    assert "header" not in stderr


def test_oversized_full_report_text_is_dropped_without_splitting(tmp_path):
    header = "report_id,patient_id,exam_code,exam_description,report_date,report_text\n"
    good = f'"FINDINGS: {FINDINGS} IMPRESSION: Normal."'
    huge = '"FINDINGS: ' + "word " * 30_000 + 'IMPRESSION: Normal."'  # 150,000 characters
    lines = [f"r{i},p{i},XR CHEST,Chest,2021,{huge if i == 2 else good}" for i in range(4)]
    (tmp_path / "in.csv").write_text(header + "\n".join(lines) + "\n")
    config = load_prepare_config(None, input=tmp_path / "in.csv", out=tmp_path / "d", workers=0)
    config.audit = tmp_path / "audit.json"
    counts = prepare(config, dry_run=True).manifest["counts"]
    assert counts["dropped"]["too_long"] == 1 and counts["input_rows"] == 4


# ---- item 7: a run where (almost) everything failed exits non-zero -------------------------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_generate_with_the_server_down_exits_non_zero(tiny_data_dir, tmp_path, run_cli):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    for rate in ("0.5", "1.0"):  # every row failed: non-zero whatever the allowed share
        out = tmp_path / f"preds-{rate}.jsonl"
        code, stdout, stderr = run_cli(
            "generate", "--backend", "openai", "--base-url", url, "--api-model", "m",
            "--data", tiny_data_dir / "test.jsonl", "--out", out, "--max-retries", "0",
            "--max-failure-rate", rate,
        )  # fmt: skip
        assert code == 3 and stderr.count("\n") == 1, stderr
        assert "12 of 12 rows failed" in stderr and "connection error" in stderr.lower()
        assert "0 generated, 12 failed" in stdout  # the summary still says what happened
        assert len(out.read_text().splitlines()) == 12  # failed rows kept: a rerun retries them


def _scripted_preds_data(tiny_data_dir: Path, tmp_path: Path, behaviours: list[str]) -> Path:
    from judge_server import marker

    rows = [json.loads(line) for line in (tiny_data_dir / "test.jsonl").read_text().splitlines()]
    path = tmp_path / "test.jsonl"  # no manifest beside it: a hand-made split
    path.write_text(
        "".join(
            json.dumps(dict(row, findings=f"{row['findings']} {marker(b)}")) + "\n"
            for row, b in zip(rows, behaviours, strict=False)
        )
    )
    return path


def test_generate_partial_failure_warns_or_fails_by_the_allowed_share(
    tiny_data_dir, tmp_path, run_cli
):
    from judge_server import ScriptedChatServer

    data = _scripted_preds_data(tiny_data_dir, tmp_path, ["fail500"] * 3 + ["good:5"])
    with ScriptedChatServer() as server:
        args = ["generate", "--backend", "openai", "--base-url", server.base_url,
                "--api-model", "m", "--data", data, "--max-retries", "0"]  # fmt: skip
        code, _, stderr = run_cli(*args, "--out", tmp_path / "a.jsonl")
        assert code == 3 and "3 of 4 rows failed (75%)" in stderr and "HTTP 500" in stderr
        code, stdout, stderr = run_cli(
            *args, "--out", tmp_path / "b.jsonl", "--max-failure-rate", "0.8"
        )
        assert code == 0 and "1 generated, 3 failed" in stdout
        assert (
            stderr.startswith("warning: generate: 3 of 4 rows failed") and stderr.count("\n") == 1
        )


def test_judge_with_its_endpoint_down_fails_the_evaluation(tmp_path):
    from radllama.core.errors import FailureRateError
    from radllama.evaluate.judge import JudgeConfig
    from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions

    rows = [
        {"report_id": f"r{i}", "system": "s", "exam_code": "CT", "findings": "Small effusion.",
         "prediction": "Effusion.", "reference": "Small effusion."}
        for i in range(6)
    ]  # fmt: skip
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(row) + "\n" for row in rows))
    judge = JudgeConfig(
        base_url=f"http://127.0.0.1:{_closed_port()}/v1", model="m", max_retries=0,
        max_failure_rate=1.0,
    )  # fmt: skip
    config = EvaluateConfig(metrics=["rougeL", "judge"])
    with pytest.raises(FailureRateError, match=r"judge: 6 of 6 rows failed .*connection error"):
        evaluate_predictions(preds, config, judge, None, tmp_path / "scores.json")
    scores = json.loads((tmp_path / "scores.json").read_text())  # the rest is still written
    assert "judge" in scores["errors"] and scores["metrics"]["rougeL"]


def test_evaluate_cli_exits_non_zero_when_the_judge_mostly_fails(tmp_path, run_cli):
    from judge_server import ScriptedChatServer, marker

    rows = [
        {"report_id": f"r{i}", "system": "s", "exam_code": "CT", "findings": "Small effusion.",
         "prediction": f"Effusion. {marker('fail500' if i < 3 else 'good:6')}",
         "reference": "Small effusion."}
        for i in range(4)
    ]  # fmt: skip
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with ScriptedChatServer() as server:
        args = ["evaluate", preds, "--metrics", "rougeL,judge", "--judge-base-url",
                server.base_url, "--judge-model", "m", "--judge-max-retries", "0"]  # fmt: skip
        code, _, stderr = run_cli(*args, "--out", tmp_path / "a.json")
        assert code == 3 and stderr.count("\n") == 1, stderr
        assert "judge: 3 of 4 rows failed (75%)" in stderr and "HTTP 500" in stderr
        code, _, stderr = run_cli(*args, "--out", tmp_path / "b.json", "--max-failure-rate", "0.9")
        assert code == 0 and stderr.startswith("warning: judge: 3 of 4 rows failed"), stderr
        assert json.loads((tmp_path / "b.json").read_text())["judge"]["n_failed"] == 3
