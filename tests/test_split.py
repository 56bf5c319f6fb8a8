"""Patient-grouped test/eval/train splits and the leakage report."""

from __future__ import annotations

import numpy as np

from radllama.data.split import EVAL, TEST, TRAIN, SplitConfig, assign_splits, leakage_report


def _groups(n_patients: int, per_patient: int) -> np.ndarray:
    return np.repeat(np.arange(n_patients, dtype=np.uint64), per_patient)


def test_exact_test_size_and_min_eval_on_single_row_groups():
    splits = assign_splits(np.arange(1000, dtype=np.uint64), SplitConfig(test_size=37), seed=1)
    counts = np.bincount(splits, minlength=3)
    assert counts[TEST] == 37
    assert counts[EVAL] == 10  # 0.1% of 963 rounds to 1; min_eval_rows lifts it to 10
    assert counts[TRAIN] == 1000 - 47


def test_default_test_size_is_min_of_paper_size_and_ten_percent():
    assert SplitConfig().test_rows(500) == 50
    assert SplitConfig().test_rows(10_000_000) == 2114
    splits = assign_splits(np.arange(500, dtype=np.uint64), SplitConfig(), seed=0)
    assert np.count_nonzero(splits == TEST) == 50


def test_eval_fraction_of_the_rest():
    keys = np.arange(20_000, dtype=np.uint64)
    splits = assign_splits(keys, SplitConfig(test_size=0, eval_fraction=0.01), seed=0)
    assert np.count_nonzero(splits == EVAL) == 200


def test_patients_never_cross_splits_and_test_overshoots_by_at_most_one_patient():
    keys = _groups(300, 3)
    splits = assign_splits(keys, SplitConfig(test_size=100), seed=3)
    for patient in range(300):
        assert len(set(splits[keys == patient].tolist())) == 1
    assert 100 <= np.count_nonzero(splits == TEST) < 103
    assert leakage_report(keys, keys, splits)["patients_across_splits"] == 0


def test_same_seed_same_split_independent_of_row_order():
    keys = np.arange(400, dtype=np.uint64)
    config = SplitConfig(test_size=40)
    first = assign_splits(keys, config, seed=7)
    order = np.random.default_rng(0).permutation(400)
    shuffled = assign_splits(keys[order], config, seed=7)
    assert np.array_equal(first[order], shuffled)
    assert not np.array_equal(first, assign_splits(keys, config, seed=8))


def test_tiny_data_keeps_a_train_row():
    splits = assign_splits(np.arange(2, dtype=np.uint64), SplitConfig(test_size=5), seed=0)
    assert np.count_nonzero(splits == TRAIN) >= 1
    assert assign_splits(np.zeros(0, np.uint64), SplitConfig(), seed=0).tolist() == []


def test_leakage_counts_test_findings_seen_verbatim_in_train():
    findings = np.array([1, 2, 3, 1, 9], dtype=np.uint64)
    groups = np.arange(5, dtype=np.uint64)
    splits = np.array([TRAIN, TRAIN, EVAL, TEST, TEST], dtype=np.int8)
    report = leakage_report(findings, groups, splits)
    assert report == {
        "test_findings_in_train": 1,
        "eval_findings_in_train": 0,
        "patients_across_splits": 0,
    }
    crossing = leakage_report(findings, np.array([0, 0, 1, 1, 2], np.uint64), splits)
    assert crossing["patients_across_splits"] == 1  # patient 1 is in eval and test
