"""Train / eval / test by patient, and a leakage report.

Rows are grouped by patient (a report without a patient id is its own group) and each
group gets a pseudo-random score from (seed, group). Groups are taken in score order: the
first ones fill the test set up to ``test_size`` rows, the next ones fill eval, the rest is
train. So the test set has the configured size (overshooting by at most one patient's
rows), no patient crosses splits, and the result does not depend on row order, chunking
or the number of workers. Works on 64-bit group hashes only: 8 bytes per row.

>>> keys = np.arange(100, dtype=np.uint64)
>>> splits = assign_splits(keys, SplitConfig(test_size=10, eval_fraction=0.0, min_eval_rows=2), seed=0)
>>> np.bincount(splits).tolist()  # train, eval, test
[88, 2, 10]
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from radllama.core.config import StrictModel
from radllama.core.hashing import splitmix64

SPLIT_NAMES = ("train", "eval", "test")
TRAIN, EVAL, TEST = 0, 1, 2
PAPER_TEST_SIZE = 2114


class SplitConfig(StrictModel):
    """How kept rows are split (paper: a 2,114-report test set, then 99.9% / 0.1%)."""

    test_size: int | None = Field(
        None,
        ge=0,
        description="Rows in the test set (paper: 2114). None: min(2114, max_test_fraction * rows).",
    )
    max_test_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="Cap on the default test size as a share of all rows."
    )
    eval_fraction: float = Field(
        0.001,
        ge=0.0,
        lt=1.0,
        description="Share of the non-test rows that go to eval (paper: 0.1%).",
    )
    min_eval_rows: int = Field(
        10, ge=0, description="Eval gets at least this many rows, so small datasets still have one."
    )

    def test_rows(self, rows: int) -> int:
        """Target test size for a dataset of `rows` kept rows."""
        if self.test_size is not None:
            return self.test_size
        return min(PAPER_TEST_SIZE, int(self.max_test_fraction * rows))


def _take(counts: np.ndarray, target: int) -> int:
    """How many groups (in order) are needed to reach `target` rows."""
    if target <= 0 or len(counts) == 0:
        return 0
    rows_before = np.cumsum(counts) - counts
    return int(np.count_nonzero(rows_before < target))


def assign_splits(group_keys: np.ndarray, config: SplitConfig, seed: int) -> np.ndarray:
    """Split code per row (TRAIN=0, EVAL=1, TEST=2) from per-row uint64 group keys."""
    if len(group_keys) == 0:
        return np.zeros(0, dtype=np.int8)
    groups, inverse, counts = np.unique(group_keys, return_inverse=True, return_counts=True)
    salted = groups ^ splitmix64(np.array([seed], dtype=np.uint64))[0]
    order = np.argsort(splitmix64(salted), kind="stable")
    ordered_counts = counts[order]
    # Keep at least one group for train; tiny datasets may then have no test or eval rows.
    available = len(groups) - 1
    n_test = min(_take(ordered_counts, config.test_rows(len(group_keys))), available)
    test_rows = int(ordered_counts[:n_test].sum())
    eval_target = max(
        config.min_eval_rows, round(config.eval_fraction * (len(group_keys) - test_rows))
    )
    n_eval = min(_take(ordered_counts[n_test:], eval_target), available - n_test)
    group_split = np.full(len(groups), TRAIN, dtype=np.int8)
    group_split[order[:n_test]] = TEST
    group_split[order[n_test : n_test + n_eval]] = EVAL
    return group_split[inverse.reshape(-1)]


def leakage_report(
    findings_hashes: np.ndarray, group_keys: np.ndarray, splits: np.ndarray
) -> dict[str, int]:
    """Test/eval rows whose findings occur verbatim in train, and groups seen in >1 split."""
    train = findings_hashes[splits == TRAIN]
    per_group = np.unique(np.stack([group_keys, splits.astype(np.uint64)]), axis=1)
    groups, seen = np.unique(per_group[0], return_counts=True)
    return {
        "test_findings_in_train": int(np.isin(findings_hashes[splits == TEST], train).sum()),
        "eval_findings_in_train": int(np.isin(findings_hashes[splits == EVAL], train).sum()),
        "patients_across_splits": int(np.count_nonzero(seen > 1)),
    }
