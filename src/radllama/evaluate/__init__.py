"""Evaluation of generated impressions: ROUGE-L, BERTScore, clinical agreement, hallucination
flags, the LLM judge, bootstrap statistics. `runner.evaluate_predictions` is the stage entry
point (PREDS.jsonl -> SCORES.json); the names below are the public building blocks.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Lazy (PEP 562), as radllama.training: `radllama.evaluate.config` stays importable without
# rouge-score, bert-score or openai, so the CLI builds `evaluate`'s options cheaply.
_EXPORTS = {
    "BertScoreConfig": "config",
    "EvaluateConfig": "config",
    "JudgeConfig": "config",
    "Finding": "clinical",
    "clinical_agreement": "clinical",
    "extract_findings": "clinical",
    "is_normal": "clinical",
    "hallucination_flags": "hallucination",
    "rouge_l": "lexical",
    "evaluate_predictions": "runner",
    "format_table": "runner",
    "bertscore": "semantic",
    "bootstrap_ci": "stats",
    "breakdown": "stats",
    "paired_bootstrap": "stats",
}

if TYPE_CHECKING:
    from radllama.evaluate.clinical import (
        Finding,
        clinical_agreement,
        extract_findings,
        is_normal,
    )
    from radllama.evaluate.config import BertScoreConfig, EvaluateConfig, JudgeConfig
    from radllama.evaluate.hallucination import hallucination_flags
    from radllama.evaluate.lexical import rouge_l
    from radllama.evaluate.runner import evaluate_predictions, format_table
    from radllama.evaluate.semantic import bertscore
    from radllama.evaluate.stats import bootstrap_ci, breakdown, paired_bootstrap


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "BertScoreConfig",
    "EvaluateConfig",
    "Finding",
    "JudgeConfig",
    "bertscore",
    "bootstrap_ci",
    "breakdown",
    "clinical_agreement",
    "evaluate_predictions",
    "extract_findings",
    "format_table",
    "hallucination_flags",
    "is_normal",
    "paired_bootstrap",
    "rouge_l",
]
