"""Bootstrap confidence intervals, the paired bootstrap test, and per-group breakdowns.

All resampling is vectorised with numpy and seeded, so the same SCORES give the same CIs.

- `bootstrap_ci`: percentile bootstrap of the mean (Efron & Tibshirani 1993): resample the n
  per-sample values with replacement `n_resamples` times; the CI is the (alpha/2, 1-alpha/2)
  percentiles of the resampled means.
- `paired_bootstrap`: two systems scored on the same rows (matched on ``report_id``); resample
  rows, recompute the mean difference a - b. CI = percentiles of those differences; two-sided
  p-value = share of resampled differences at least as far from the observed one as the
  observed one is from 0 (the shifted-null bootstrap test of Berg-Kirkpatrick et al. 2012),
  with the +1 correction so it is never exactly 0.
- `breakdown`: per-group n and metric means (modality, body region, normal vs abnormal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from radllama.core.errors import DataError

# Resampled index matrices are built in blocks of at most this many cells (int64: 64 MB),
# so 1000 resamples over 100k rows do not need 800 MB at once.
MAX_CELLS_PER_BLOCK = 8_000_000


def _resampled_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_resamples` bootstrap resamples of `values` (1-D), shape (n_resamples,)."""
    n = len(values)
    block = max(1, MAX_CELLS_PER_BLOCK // n)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        index = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[index].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """``{"mean", "ci_low", "ci_high", "n"}`` of `values` (None entries are dropped first).

    No values: mean and CI are None. One value: the CI collapses to it.
    """
    clean = np.asarray([v for v in values if v is not None], dtype=float)
    if len(clean) == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = float(clean.mean())
    if len(clean) == 1 or n_resamples < 1:
        return {"mean": mean, "ci_low": mean, "ci_high": mean, "n": len(clean)}
    means = _resampled_means(clean, n_resamples, np.random.default_rng(seed))
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"mean": mean, "ci_low": float(low), "ci_high": float(high), "n": len(clean)}


def _metric_by_id(scores: dict[str, Any], metric: str, name: str) -> dict[str, float]:
    rows = scores.get("per_sample")
    if not isinstance(rows, list):
        raise DataError(f"{name} has no 'per_sample' list; pass a SCORES.json from `evaluate`")
    values = {row["report_id"]: row.get(metric) for row in rows if "report_id" in row}
    return {key: float(v) for key, v in values.items() if v is not None}


def paired_bootstrap(
    scores_a: dict[str, Any],
    scores_b: dict[str, Any],
    metric: str,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float | int]:
    """Paired bootstrap of mean(a - b) for `metric` over rows both SCORES share.

    Returns ``{"delta", "ci_low", "ci_high", "p_value", "n"}``; `delta` > 0 means a is
    better on a higher-is-better metric.
    """
    a = _metric_by_id(scores_a, metric, str(scores_a.get("system", "scores_a")))
    b = _metric_by_id(scores_b, metric, str(scores_b.get("system", "scores_b")))
    shared = sorted(set(a) & set(b), key=str)
    if not shared:
        raise DataError(
            f"no report_id has '{metric}' in both SCORES; evaluate both systems on the same "
            "PREDS rows with that metric"
        )
    diff = np.asarray([a[key] - b[key] for key in shared])
    delta = float(diff.mean())
    if len(diff) == 1 or n_resamples < 1:
        return {"delta": delta, "ci_low": delta, "ci_high": delta, "p_value": 1.0, "n": 1}
    means = _resampled_means(diff, n_resamples, np.random.default_rng(seed))
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    extreme = int(np.sum(np.abs(means - delta) >= abs(delta)))
    p_value = (extreme + 1) / (n_resamples + 1)
    return {
        "delta": delta,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p_value),
        "n": len(diff),
    }


def breakdown(
    per_sample: Iterable[dict[str, Any]], key: str, metrics: Sequence[str]
) -> dict[str, dict[str, float | int | None]]:
    """``{group: {"n": rows, metric: mean over rows with a value ...}}`` grouped by `key`.

    A row without `key` (or with a null one) goes to the group ``unknown``.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in per_sample:
        group = row.get(key)
        groups.setdefault("unknown" if group in (None, "") else str(group), []).append(row)
    table: dict[str, dict[str, float | int | None]] = {}
    for group in sorted(groups):
        rows = groups[group]
        entry: dict[str, float | int | None] = {"n": len(rows)}
        for metric in metrics:
            values = [row[metric] for row in rows if row.get(metric) is not None]
            entry[metric] = float(np.mean(values)) if values else None
        table[group] = entry
    return table
