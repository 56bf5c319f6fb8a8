"""Bootstrap confidence intervals, the paired bootstrap test and breakdowns."""

from __future__ import annotations

import numpy as np
import pytest

from radllama.core.errors import DataError
from radllama.evaluate.stats import bootstrap_ci, breakdown, paired_bootstrap


def scores(values, ids=None, metric="rougeL"):
    ids = range(len(values)) if ids is None else ids
    return {
        "system": "s",
        "per_sample": [{"report_id": i, metric: v} for i, v in zip(ids, values, strict=True)],
    }


def test_bootstrap_ci_contains_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = rng.random(30), rng.random(3000)
    ci_small, ci_large = bootstrap_ci(small), bootstrap_ci(large)
    for ci, values in ((ci_small, small), (ci_large, large)):
        assert ci["mean"] == pytest.approx(values.mean())
        assert ci["ci_low"] < ci["mean"] < ci["ci_high"]
    assert ci_small["n"] == 30
    width_small = ci_small["ci_high"] - ci_small["ci_low"]
    width_large = ci_large["ci_high"] - ci_large["ci_low"]
    assert width_large < width_small / 5  # ~ 1/sqrt(100) = 1/10 in theory


def test_bootstrap_ci_matches_normal_approximation():
    values = np.random.default_rng(1).normal(0.5, 0.1, size=2000)
    ci = bootstrap_ci(values, n_resamples=2000)
    half_width = 1.96 * values.std() / np.sqrt(len(values))
    assert ci["ci_high"] - ci["ci_low"] == pytest.approx(2 * half_width, rel=0.15)


def test_bootstrap_ci_is_seeded_and_handles_edge_cases():
    values = [0.1, 0.5, 0.9, 0.3]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    assert bootstrap_ci([0.7]) == {"mean": 0.7, "ci_low": 0.7, "ci_high": 0.7, "n": 1}
    assert bootstrap_ci([None, None])["mean"] is None
    assert bootstrap_ci([None, 1.0, 0.0])["n"] == 2  # missing values are dropped


def test_paired_bootstrap_detects_a_clear_difference():
    base = np.random.default_rng(2).random(200)
    better = base + 0.05 + np.random.default_rng(3).normal(0, 0.02, 200)
    result = paired_bootstrap(scores(better), scores(base), "rougeL")
    assert result["delta"] == pytest.approx(0.05, abs=0.01)
    assert 0 < result["ci_low"] < result["delta"] < result["ci_high"]
    assert result["p_value"] < 0.01 and result["n"] == 200


def test_paired_bootstrap_does_not_detect_a_null_difference():
    rng = np.random.default_rng(4)
    base = rng.random(200)
    same = base + rng.normal(0, 0.05, 200)  # noise, no shift
    result = paired_bootstrap(scores(same), scores(base), "rougeL")
    assert result["ci_low"] < 0 < result["ci_high"]
    assert result["p_value"] > 0.05


def test_paired_bootstrap_matches_rows_on_report_id():
    a = scores([1.0, 0.0, 0.5], ids=["x", "y", "z"])
    b = scores([0.5, 0.0, 1.0, 0.3], ids=["z", "y", "x", "only-in-b"])
    result = paired_bootstrap(a, b, "rougeL")
    assert result["n"] == 3 and result["delta"] == pytest.approx(0.0)
    with pytest.raises(DataError, match="no report_id"):
        paired_bootstrap(a, scores([1.0], ids=["other"]), "rougeL")


def test_breakdown_counts_and_means():
    rows = [
        {"modality": "CT", "rougeL": 0.2, "judge_score": None},
        {"modality": "CT", "rougeL": 0.4, "judge_score": 6.0},
        {"modality": "XR", "rougeL": 1.0, "judge_score": 8.0},
        {"modality": None, "rougeL": 0.0, "judge_score": None},
    ]
    table = breakdown(rows, "modality", ["rougeL", "judge_score"])
    assert list(table) == ["CT", "XR", "unknown"]
    assert table["CT"] == {"n": 2, "rougeL": pytest.approx(0.3), "judge_score": 6.0}
    assert table["XR"]["n"] == 1 and table["unknown"]["judge_score"] is None
