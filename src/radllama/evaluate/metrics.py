"""The metric registry: metric name -> scorer + the report columns it adds.

`radllama evaluate --metrics a,b` runs the registered metrics named there, in registry order;
SCORES.json records each computed column's label (`Scores.columns`), and `radllama report`
shows every metric a SCORES file holds. Adding a metric is one function plus one
`register_metric` call; nothing else lists metric names::

    def exact_match(ctx: ScoringContext) -> None:
        for row, sample in zip(ctx.rows, ctx.per_sample, strict=True):
            sample["exact_match"] = float(row["prediction"].strip() == row["reference"].strip())

    register_metric(Metric(
        name="exact", score=exact_match,
        columns=(Column("exact_match", "Exact match", decimals=3),),
    ))

A scorer writes one value per row into ``ctx.per_sample`` under each of its column keys
(None when it cannot score the row), may append to ``ctx.warnings``, and may return a summary
dict that SCORES.json keeps under the metric's name (the judge's request counts). A scorer
that raises `RadllamaError` does not lose the other metrics: they are written first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from radllama.core.registry import Registry


@dataclass(frozen=True)
class Column:
    """One per-sample value a metric adds, and how the report shows its mean."""

    key: str  # the key in per_sample rows and in SCORES.json "metrics"
    label: str  # the report's column header
    decimals: int = 4
    higher_is_better: bool = True


@dataclass
class ScoringContext:
    """What a scorer sees: the rows being scored and their per-sample records."""

    rows: list[dict[str, Any]]  # PREDS rows (report_id, prediction, reference, findings, ...)
    per_sample: list[dict[str, Any]]  # aligned with rows; scorers add their column keys
    config: Any  # radllama.evaluate.runner.EvaluateConfig
    judge_config: Any = None
    manifest: Any = None  # radllama.core.artifacts.DataManifest | None (PHI guard)
    progress: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    """A registered metric (a "group" of columns computed together)."""

    name: str  # what `--metrics` takes
    score: Callable[[ScoringContext], dict[str, Any] | None]
    columns: tuple[Column, ...]
    describe: Callable[[Any, Any], Any] | None = None  # (config, judge_config) -> config record
    record_key: str | None = None  # key of that record in SCORES.json "config" (default: name)
    help: str = ""
    order: int = 100  # registry (and report column) order; built-ins 10-90, the judge last


# Each built-in metric is registered by its own module, imported on first use.
METRICS: Registry[Metric] = Registry(
    "metric",
    group="radllama.metrics",
    builtins=[
        f"radllama.evaluate.{module}"
        for module in ("lexical", "semantic", "clinical", "hallucination", "judge")
    ],
)


def register_metric(metric: Metric) -> Metric:
    """Add (or replace) a metric; returns it. The registry stays in `order` (ties: in
    registration order), whichever module was imported first."""
    METRICS.register(metric.name, metric)
    ordered = sorted(METRICS.items(), key=lambda item: item[1].order)
    METRICS.clear()
    METRICS.update(ordered)
    return metric


def get_metric(name: str) -> Metric:
    """The registered metric `name`; ConfigError listing the registered ones otherwise."""
    return METRICS.lookup(name)


def column_info(key: str) -> Column:
    """The column of a metric key across the registry (the key itself when unknown)."""
    for metric in METRICS.load_builtins().values():
        for column in metric.columns:
            if column.key == key:
                return column
    return Column(key, key)


def column_order(keys: list[str]) -> list[str]:
    """`keys` in registry order, unregistered keys after them in the given order."""
    registered = [c.key for m in METRICS.load_builtins().values() for c in m.columns]
    rank = {key: i for i, key in enumerate(dict.fromkeys(registered))}
    return sorted(dict.fromkeys(keys), key=lambda k: (rank.get(k, len(rank)), keys.index(k)))
