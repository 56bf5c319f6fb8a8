"""`radllama index` and the retrieval API: leakage rules, --add, BM25, bad input (tiny data,
the packaged MiniLM encoder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from radllama.core.artifacts import DataManifest
from radllama.core.errors import ConfigError, DataError
from radllama.core.jsonl import read_jsonl, write_jsonl
from radllama.core.prompts import PromptStyle
from radllama.retrieval import IndexConfig, Retriever, add_to_index, build_index

PNEUMONIA = "There is a right lower lobe consolidation with a small right pleural effusion."


def _row(report_id, patient_id, findings, impression, split="train"):
    return {
        "report_id": report_id, "patient_id": patient_id, "exam_code": "XR CHEST 2V",
        "findings": findings, "impression": impression, "split": split,
    }  # fmt: skip


TRAIN = [
    _row("a1", "p1", PNEUMONIA, "Right lower lobe pneumonia."),
    # exact duplicate of a1's findings (case and spacing differ), another patient
    _row("a2", "p2", PNEUMONIA.upper().replace(" ", "  "), "RLL pneumonia, duplicate report."),
    # same patient as a1, nearly the same findings
    _row("a3", "p1", PNEUMONIA + " Stable.", "Pneumonia, same patient."),
    # another patient, similar findings: the only neighbour a1 may retrieve in training
    _row(
        "b1",
        "p3",
        "Consolidation in the right lower lobe and a small right effusion.",
        "RLL pneumonia.",
    ),
    _row(
        "c1",
        "p4",
        "No intracranial hemorrhage or mass effect.",
        "No acute intracranial abnormality.",
    ),
    _row("c2", "p5", "Gallbladder with multiple stones, no wall thickening.", "Cholelithiasis."),
    _row("c3", "p6", "Disc bulge at L4-L5 with moderate canal stenosis.", "L4-L5 stenosis."),
]
TEST = [
    _row("t1", "p9", "Right lower lobe consolidation and small effusion.", "Pneumonia.", "test")
]
EVAL = [_row("e1", "p8", PNEUMONIA, "Pneumonia (eval).", "eval")]


def make_data_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", TRAIN), ("eval", EVAL), ("test", TEST)):
        write_jsonl(path / f"{name}.jsonl", rows)
    n = len(TRAIN) + len(EVAL) + len(TEST)
    DataManifest(
        data_hash="leaky-fixture", prompt_style=PromptStyle(),
        counts={"input_rows": n, "kept": n, "splits": {"train": len(TRAIN), "eval": 1, "test": 1}},
    ).write(path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    data = make_data_dir(tmp_path_factory.mktemp("leak") / "data")
    build_index(data, progress=False)
    return data


@pytest.fixture(scope="module")
def retriever(indexed) -> Retriever:
    return Retriever.load(indexed)


def ids(neighbours) -> list[str]:
    return [n.row_id for n in neighbours]


def test_index_holds_the_train_split_only(indexed):
    rows = list(read_jsonl(indexed / "index" / "rows.jsonl"))
    assert [r["row_id"] for r in rows] == [r["report_id"] for r in TRAIN]
    meta = json.loads((indexed / "index" / "meta.json").read_text())
    assert meta["rows"] == len(TRAIN) and meta["dim"] == 384
    assert meta["identity"]["data_hash"] == "leaky-fixture"
    assert len(meta["encoder_sha256"]) == 64


def test_rule_self_a_row_never_retrieves_itself(retriever):
    found = retriever.search([TRAIN[0]], k=3)[0]
    assert "a1" not in ids(found)
    # Without the training rules the exact duplicate is the best match (cosine ~1): the
    # search does see identical vectors, so the self rule is what removes a1.
    assert found[0].row_id == "a2" and found[0].similarity > 0.99


def test_rule_duplicate_findings_are_not_retrieved_in_training(retriever):
    plain = ids(retriever.search([TRAIN[0]], k=4)[0])
    assert "a2" in plain  # would be retrieved without the rule
    assert "a2" not in ids(retriever.search([TRAIN[0]], k=4, training=True)[0])


def test_rule_same_patient_is_not_retrieved_in_training(retriever):
    plain = ids(retriever.search([TRAIN[0]], k=4)[0])
    assert plain.index("a3") < plain.index("b1")  # a3 outranks b1 without the rule
    training = retriever.search([TRAIN[0]], k=4, training=True)[0]
    assert "a3" not in ids(training)
    assert training[0].row_id == "b1"


def test_all_rules_in_one_batch_and_k_is_filled_after_filtering(retriever):
    results = retriever.search(TRAIN, k=3, training=True)
    for query, found in zip(TRAIN, results, strict=True):
        assert len(found) == 3  # the search widened past the excluded rows
        for neighbour in found:
            row = next(r for r in TRAIN if r["report_id"] == neighbour.row_id)
            assert row["report_id"] != query["report_id"]
            assert row["patient_id"] != query["patient_id"]
            assert " ".join(row["findings"].lower().split()) != " ".join(
                query["findings"].lower().split()
            )
        assert [n.similarity for n in found] == sorted((n.similarity for n in found), reverse=True)


def test_test_and_eval_rows_retrieve_from_train_only(retriever):
    train_ids = {r["report_id"] for r in TRAIN}
    for found in retriever.search(TEST + EVAL, k=len(TRAIN)):
        assert set(ids(found)) <= train_ids and len(found) == len(TRAIN)
    assert retriever.search(TEST, k=1)[0][0].row_id in {"a1", "a2", "a3", "b1"}


def test_add_appends_without_rebuild(indexed, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    faiss_before = (data / "index" / "vectors.faiss").stat().st_size
    new = tmp_path / "new.jsonl"
    extra = _row(
        "n1", "p7", "Large left pneumothorax with mediastinal shift.", "Tension pneumothorax."
    )
    write_jsonl(new, [extra, dict(extra), _row("n2", "p7", "", "x")])  # repeat + empty findings
    meta = add_to_index(data, new, progress=False)
    assert meta["rows"] == len(TRAIN) + 1
    assert meta["additions"][0]["rows"] == 1
    assert sum(meta["additions"][0]["dropped"].values()) == 2  # every left-out row counted
    assert (data / "index" / "vectors.faiss").stat().st_size > faiss_before
    query = _row("q", "p0", "Left pneumothorax, large, with shift of the mediastinum.", "?", "test")
    assert Retriever.load(data).search([query], k=1)[0][0].row_id == "n1"


def test_bm25_option_keeps_the_rules(tmp_path):
    data = make_data_dir(tmp_path / "data")
    meta = build_index(data, IndexConfig(kind="bm25"), progress=False)
    assert meta["kind"] == "bm25" and not (data / "index" / "vectors.faiss").exists()
    bm25 = Retriever.load(data)
    assert ids(bm25.search([TRAIN[0]], k=4, training=True)[0])[0] == "b1"
    assert bm25.search([TEST[0]], k=1)[0][0].row_id in {"a1", "a2", "a3", "b1"}


def test_k_larger_than_the_index_is_a_config_error(retriever):
    with pytest.raises(ConfigError, match="holds 7 reports"):
        retriever.search(TEST, k=8)


def test_index_for_another_dataset_or_encoder_is_refused(indexed, retriever, tmp_path):
    expected = retriever.identity
    with pytest.raises(ConfigError, match="another dataset"):
        Retriever.load(indexed, expect={**expected, "data_hash": "other-data"})
    with pytest.raises(ConfigError, match="another encoder"):
        Retriever.load(indexed, expect={**expected, "encoder_sha256": "0" * 64})
    with pytest.raises(DataError, match="radllama index"):
        Retriever.load(tmp_path / "no-index-here", expect=expected)


def test_cli_builds_adds_and_fails_in_one_line(run_cli, tmp_path):
    data = make_data_dir(tmp_path / "data")
    code, out, err = run_cli("index", data, "--quiet")
    assert code == 0, err
    assert "7 rows" in out and (data / "index" / "meta.json").is_file()
    new = tmp_path / "new.jsonl"
    write_jsonl(new, [_row("n1", "p7", "Left apical pneumothorax.", "Pneumothorax.")])
    code, out, err = run_cli("index", data, "--add", new, "--quiet")
    assert code == 0 and "8 rows (1 added later)" in out
    for args, message in (
        (("index", tmp_path / "missing"), "not found"),
        (("index", tmp_path / "nothing", "--add", new), "radllama index DATA_DIR"),
        (("index", data, "--kind", "sparse"), "kind"),
    ):
        (tmp_path / "nothing").mkdir(exist_ok=True)
        code, out, err = run_cli(*args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and message in err, err


def test_dense_copy_baseline_writes_preds(run_cli, tmp_path):
    data = make_data_dir(tmp_path / "data")
    args = (
        "baselines",
        "--data",
        data,
        "--out-dir",
        tmp_path / "preds",
        "--systems",
        "retrieval-dense",
    )
    code, out, err = run_cli(*args)
    assert code == 2 and "radllama index" in err and len(err.strip().splitlines()) == 1
    build_index(data, progress=False)
    code, out, err = run_cli(*args)
    assert code == 0, err
    (row,) = list(read_jsonl(tmp_path / "preds" / "retrieval-dense.jsonl"))
    assert row["system"] == "retrieval-dense" and row["report_id"] == "t1"
    assert row["retrieved_report_id"] in {"a1", "a2", "a3", "b1"}
    assert row["prediction"] == next(
        r["impression"] for r in TRAIN if r["report_id"] == row["retrieved_report_id"]
    )
    assert 0.5 < row["similarity"] <= 1.0
