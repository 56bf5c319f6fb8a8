"""Baselines: TF-IDF nearest-neighbour retrieval and the most frequent training impression."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from radllama.core.errors import DataError
from radllama.core.jsonl import write_jsonl
from radllama.generation.baselines import TfidfRetriever, most_frequent_impression


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_retrieval_returns_the_impression_of_an_identical_training_finding():
    findings = [
        "The lungs are clear. No pleural effusion.",
        "Right lower lobe consolidation with small effusion.",
        "Acute left subdural hematoma with midline shift.",
    ]
    impressions = ["Normal chest.", "Right lower lobe pneumonia.", "Acute subdural hematoma."]
    retriever = TfidfRetriever().fit(findings, impressions, ["a", "b", "c"])
    hits = retriever.query(
        [findings[2], findings[1], "hematoma along the left convexity", "zzz qqq"]
    )
    assert [h.impression for h in hits[:3]] == [impressions[2], impressions[1], impressions[2]]
    assert [h.report_id for h in hits[:3]] == ["c", "b", "c"]
    assert hits[0].similarity == pytest.approx(1.0) and 0 < hits[2].similarity < 1
    assert hits[3].report_id is None and hits[3].similarity == 0.0  # nothing shared: the mode


def test_most_frequent_is_the_mode():
    impressions = ["B.", "A.", "B.", "C.", "A.", "B."]
    assert most_frequent_impression(impressions) == ("B.", 3)
    assert most_frequent_impression(["X.", "Y."]) == ("X.", 1)  # tie: first seen
    with pytest.raises(DataError):
        most_frequent_impression([])


def test_cli_writes_preds_for_both_baselines(run_cli, tiny_data_dir, tmp_path):
    code, stdout, err = run_cli("baselines", "--data", tiny_data_dir, "--out-dir", tmp_path)
    assert code == 0, err
    test_rows = {r["report_id"]: r for r in read_rows(tiny_data_dir / "test.jsonl")}
    train_rows = read_rows(tiny_data_dir / "train.jsonl")
    train_by_findings = {r["findings"]: r["impression"] for r in train_rows}
    retrieval = read_rows(tmp_path / "retrieval-tfidf.jsonl")
    assert sorted(r["report_id"] for r in retrieval) == sorted(test_rows)
    for row in retrieval:
        source = test_rows[row["report_id"]]
        # The fixture's test findings also occur in train: retrieval must find them exactly.
        assert row["prediction"] == train_by_findings[source["findings"]]
        assert row["reference"] == source["impression"] and row["system"] == "retrieval-tfidf"
        assert row["similarity"] == pytest.approx(1.0) and row["retrieved_report_id"]
        assert {"exam_code", "modality", "body_region", "latency_s", "raw_output"} <= row.keys()
    mode = Counter(r["impression"] for r in train_rows).most_common(1)[0][0]
    frequent = read_rows(tmp_path / "most-frequent.jsonl")
    assert len(frequent) == len(test_rows) and {r["prediction"] for r in frequent} == {mode}
    assert "most-frequent: 12 rows" in stdout


def test_cli_bad_input(run_cli, tmp_path):
    (tmp_path / "data").mkdir()
    write_jsonl(
        tmp_path / "data" / "test.jsonl", [{"report_id": "a", "findings": "x", "impression": "y"}]
    )
    code, _, err = run_cli("baselines", "--data", tmp_path / "data", "--out-dir", tmp_path / "o")
    assert code == 2 and "has no train.jsonl" in err
    code, _, err = run_cli(
        "baselines", "--data", tmp_path / "data", "--out-dir", tmp_path / "o", "--systems", "oracle"
    )
    assert code == 2 and "systems" in err


def test_consensus_picks_what_most_neighbours_say_not_the_nearest_copy():
    """The 1-NN copy follows the single nearest report; the MBR pick follows the majority of
    the k nearest (similarity-weighted ROUGE-L), so here they differ."""
    from radllama.generation.baselines import consensus_answers

    findings = [
        "lungs clear heart normal small nodule right apex",  # nearest to the query: an outlier
        "lungs clear heart normal",
        "lungs clear heart size normal",
        "lungs are clear heart normal no effusion",
    ]
    impressions = [
        "Right apical nodule, CT recommended.",
        "No acute cardiopulmonary disease.",
        "No acute cardiopulmonary abnormality.",
        "No acute cardiopulmonary disease.",
    ]
    retriever = TfidfRetriever().fit(findings, impressions, ["a", "b", "c", "d"])
    query = ["lungs clear heart normal small nodule right apex"]
    nearest = retriever.query(query)[0]
    assert nearest.report_id == "a"
    neighbours = retriever.query_k(query, 4)[0]
    assert [h.report_id for h in neighbours][0] == "a" and len(neighbours) == 4
    pick = consensus_answers([neighbours])[0]
    assert pick.impression == "No acute cardiopulmonary disease." and pick.report_id != "a"
    assert 0 < pick.consensus <= 1


def test_consensus_weights_and_ties():
    from radllama.generation.consensus import consensus_scores, mbr_pick

    # Weights move the vote: the heavy voter's text wins.
    candidates = ["left pneumonia", "no acute disease", "left lower lobe pneumonia"]
    assert mbr_pick(candidates, [1.0, 1.0, 1.0]) == 0
    assert mbr_pick(["a b", "c d", "a b c"], [0.1, 5.0, 0.1]) == 2  # c d votes for "a b c"
    assert consensus_scores(["only one"]) == [0.0]
    assert mbr_pick(["x", "y"]) == 0  # tie: the nearest (first) candidate


def test_cli_writes_the_consensus_baseline(run_cli, tiny_data_dir, tmp_path):
    code, stdout, err = run_cli(
        "baselines", "--data", tiny_data_dir, "--out-dir", tmp_path,
        "--systems", "retrieval-consensus", "--consensus-k", "3",
    )  # fmt: skip
    assert code == 0, err
    rows = read_rows(tmp_path / "retrieval-consensus.jsonl")
    test_ids = {r["report_id"] for r in read_rows(tiny_data_dir / "test.jsonl")}
    assert {r["report_id"] for r in rows} == test_ids
    assert all(r["system"] == "retrieval-consensus" and "consensus" in r for r in rows)
    assert "k=3" in stdout
    code, _, err = run_cli(
        "baselines", "--data", tiny_data_dir, "--out-dir", tmp_path, "--consensus-k", "1"
    )
    assert code == 2 and "consensus_k" in err


def test_the_learned_judge_follows_what_the_training_split_rewards():
    """Training reports whose nearest neighbour is always right (its two farther neighbours
    agree with each other on something else): the judge learns to trust similarity, so on a
    new query it picks the nearest neighbour where the consensus pick takes the majority."""
    from radllama.generation.consensus import mbr_pick
    from radllama.generation.rerank import LinearJudge

    findings, impressions = [], []
    for i in range(30):
        topic = f"topic{i}"
        findings += [f"{topic} alpha beta gamma delta", f"{topic} alpha beta", f"{topic} alpha"]
        impressions += [f"{topic} finding one.", "Common normal text.", "Common normal text."]
    judge = LinearJudge.fit(findings, impressions, k=2)
    assert judge.fitted_on == 90
    assert judge.coef[0] > 0  # similarity helps
    texts = ["Specific answer.", "Common normal text.", "Common normal text."]
    similarities = [0.9, 0.3, 0.2]
    assert mbr_pick(texts, similarities) == 1
    best, predicted = judge.pick("topicX alpha beta gamma delta", texts, similarities)
    assert best == 0 and 0.0 <= predicted <= 1.5


def test_retrieval_rerank_baseline_writes_every_row_with_its_judge(tiny_data_dir, tmp_path):
    from radllama.generation.baselines import BaselinesConfig, run_baselines

    config = BaselinesConfig(data=tiny_data_dir, out_dir=tmp_path, systems=["retrieval-rerank"],
                             consensus_k=3)  # fmt: skip
    info = run_baselines(config)["retrieval-rerank"]
    rows = read_rows(tmp_path / "retrieval-rerank.jsonl")
    test_ids = {r["report_id"] for r in read_rows(tiny_data_dir / "test.jsonl")}
    assert {r["report_id"] for r in rows} == test_ids and info["k"] == 3
    assert info["judge"]["features"][0] == "similarity" and info["judge"]["fitted_on"] > 0
    assert all(r["system"] == "retrieval-rerank" and r["prediction"] for r in rows)
