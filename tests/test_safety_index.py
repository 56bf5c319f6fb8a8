"""Safe by construction (issue 20), part 3: `radllama index DATA_DIR --add NEW.jsonl`.

Rows added to an index become prior cases that the server returns to any client, so they are
de-identified like `prepare` de-identified the dataset (audit beside the input), every row
left out is counted by reason, and a running server notices the index changed under it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from test_retrieval import TRAIN, _row, make_data_dir

from radllama.core.artifacts import DataManifest
from radllama.core.jsonl import read_jsonl, write_jsonl
from radllama.generation.inference import ImpressionModel
from radllama.retrieval import IndexConfig, add_to_index, build_index
from radllama.serving.server import ServeConfig, build_app, start_in_thread

PHI_FINDINGS = (
    "Compared with the study of 03/14/2021 read by Dr. John Smith, MRN 12345678. "
    "Large left pneumothorax with mediastinal shift."
)
PHI_IMPRESSION = "Tension pneumothorax; discussed with Dr. John Smith on 03/14/2021."


@pytest.fixture(scope="module")
def bm25_data(tmp_path_factory) -> Path:
    data = make_data_dir(tmp_path_factory.mktemp("add") / "data")
    build_index(data, IndexConfig(kind="bm25"), progress=False)
    return data


def _copy(data: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(data, tmp_path / "data"))


def _one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_added_rows_are_deidentified_with_an_audit_beside_the_input(bm25_data, tmp_path):
    data = _copy(bm25_data, tmp_path)
    new = tmp_path / "raw" / "new.jsonl"
    write_jsonl(new, [_row("n1", "p7", PHI_FINDINGS, PHI_IMPRESSION)])
    meta = add_to_index(data, new, progress=False)
    added = [r for r in read_jsonl(data / "index" / "rows.jsonl") if r["row_id"] == "n1"]
    assert len(added) == 1
    text = json.dumps(added[0])
    for identifier in ("John", "Smith", "12345678", "03/14/2021"):
        assert identifier not in text  # today's code indexed the raw row
    assert "[NAME]" in added[0]["findings"] and "[DATE]" in added[0]["impression"]
    audit_path = new.parent / "new.jsonl.deid_audit.json"
    audit = json.loads(audit_path.read_text())
    assert audit["counts_by_type"]["NAME"] == 2 and audit["reports_seen"] == 1
    assert not any(p.name.endswith("audit.json") for p in data.rglob("*"))  # none in DATA_DIR
    deid = meta["additions"][-1]["deid"]
    assert deid["path"] == str(audit_path.resolve()) and deid["total_redactions"] >= 5


def test_added_rows_follow_the_datasets_recorded_deid_settings(tmp_path):
    data = make_data_dir(tmp_path / "data")
    manifest = DataManifest.read(data)
    manifest.config = {"deid": {"keep_types": ["DATE"]}}  # prepared under a DUA keeping dates
    manifest.write(data)
    build_index(data, IndexConfig(kind="bm25"), progress=False)
    new = tmp_path / "new.jsonl"
    write_jsonl(new, [_row("n1", "p7", PHI_FINDINGS, PHI_IMPRESSION)])
    add_to_index(data, new, progress=False)
    (added,) = [r for r in read_jsonl(data / "index" / "rows.jsonl") if r["row_id"] == "n1"]
    assert "03/14/2021" in added["findings"] and "Smith" not in added["findings"]


def test_every_dropped_row_is_counted_by_reason(bm25_data, tmp_path, run_cli):
    data = _copy(bm25_data, tmp_path)
    good = _row("n1", "p7", "Large left pneumothorax with mediastinal shift.", "Pneumothorax.")
    new = tmp_path / "new.jsonl"
    lines = [
        json.dumps(good),
        json.dumps(_row(TRAIN[0]["report_id"], "p9", "Other findings here.", "Other.")),  # in index
        json.dumps(dict(good)),  # repeated in the file
        json.dumps({**good, "report_id": "n2", "findings": 12345}),  # a number for text
        json.dumps({**good, "report_id": "n3", "impression": ["a", "list"]}),
        json.dumps({**good, "report_id": "n4", "impression": "  "}),
        json.dumps({k: v for k, v in good.items() if k != "report_id"}),
        "{not json",
        "[1, 2]",
    ]
    new.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli("index", data, "--add", new, "--quiet")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("added 1 of 9 rows from new.jsonl; dropped: 8")
    for reason, n in (("duplicate_report_id", 2), ("wrong_type", 2), ("no_impression", 1),
                      ("no_report_id", 1), ("parse_error", 1), ("not_an_object", 1)):  # fmt: skip
        assert f"{n} {reason}" in first, first
    assert "dropped: none" not in out
    meta = json.loads((data / "index" / "meta.json").read_text())
    assert sum(meta["additions"][-1]["dropped"].values()) == 8 and meta["rows"] == len(TRAIN) + 1


def test_a_file_with_nothing_to_add_is_one_line_and_leaves_the_index(bm25_data, tmp_path, run_cli):
    data = _copy(bm25_data, tmp_path)
    before = (data / "index" / "meta.json").read_bytes()
    new = tmp_path / "new.jsonl"
    write_jsonl(new, [{**_row("n1", "p7", "Findings.", "x"), "findings": 3.5}])
    code, out, err = run_cli("index", data, "--add", new, "--quiet")
    assert code == 2 and _one_line(err) and "1 wrong_type" in err, err
    assert (data / "index" / "meta.json").read_bytes() == before


def test_an_audit_inside_the_dataset_dir_is_refused(bm25_data, tmp_path, run_cli):
    data = _copy(bm25_data, tmp_path)
    new = data / "new.jsonl"  # the raw file dropped into DATA_DIR: its audit would land there
    write_jsonl(new, [_row("n1", "p7", PHI_FINDINGS, PHI_IMPRESSION)])
    code, out, err = run_cli("index", data, "--add", new, "--quiet")
    assert code == 2 and _one_line(err) and "--audit" in err, err
    code, out, err = run_cli("index", data, "--add", new, "--audit", tmp_path / "a.json", "--quiet")
    assert code == 0 and (tmp_path / "a.json").is_file(), err


QUERY = "Left pneumothorax, large, with shift of the mediastinum."


def _retrieved(server) -> dict:
    body = {"exam_code": "XR CHEST 2V", "findings": QUERY, "max_tokens": 2}
    response = httpx.post(server.base_url + "/impressions", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_server_reloads_an_index_changed_under_it_or_refuses_it(
    bm25_data, tiny_model_dir, tmp_path
):
    data = _copy(bm25_data, tmp_path)
    model = ImpressionModel.load(tiny_model_dir, index=data, num_examples=1)
    with start_in_thread(build_app(model, ServeConfig(batch_wait_ms=0))) as server:
        before = _retrieved(server)
        assert before["retrieval"]["status"] == "ok"
        assert before["retrieved"][0]["row_id"] != "n1"
        new = tmp_path / "new.jsonl"
        write_jsonl(new, [_row("n1", "p7", "Large left pneumothorax with mediastinal shift "
                                            "of the mediastinum.", "Tension pneumothorax.")])  # fmt: skip
        add_to_index(data, new, progress=False)
        after = _retrieved(server)  # today's server kept answering from the old rows
        assert after["retrieval"]["status"] == "ok"
        assert after["retrieved"][0]["row_id"] == "n1"

        # The index withdrawn (e.g. it held PHI): no case from the old copy in memory.
        shutil.rmtree(data / "index")
        gone = _retrieved(server)
        assert gone["retrieved"] == [] and gone["retrieval"]["status"] == "failed"
        assert "changed on disk" in gone["retrieval"]["detail"]
        build_index(data, IndexConfig(kind="bm25"), progress=False)  # rebuilt: served again
        again = _retrieved(server)
        assert again["retrieval"]["status"] == "ok" and again["retrieved"][0]["row_id"] != "n1"


def test_an_added_file_that_is_a_fifo_or_device_is_one_line(bm25_data, tmp_path, run_cli):
    import os

    data = _copy(bm25_data, tmp_path)
    fifo = tmp_path / "new.jsonl"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")  # reading it would never end
    for path in (fifo, zero):
        code, _, err = run_cli("index", data, "--add", path, "--quiet")
        assert code == 2 and _one_line(err) and "not a regular file" in err, err
