"""Evaluation of generated impressions: ROUGE-L, BERTScore, clinical agreement, hallucination
flags, the LLM judge, bootstrap statistics. `runner.evaluate_predictions` is the stage entry
point (PREDS.jsonl -> SCORES.json); the functions below are the public building blocks.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Lazy (PEP 562): importing one module of the stage does not load all of them.
_EXPORTS = {
    "Finding": "clinical",
    "clinical_agreement": "clinical",
    "extract_findings": "clinical",
    "is_normal": "clinical",
    "hallucination_flags": "hallucination",
    "rouge_l": "lexical",
    "EvaluateConfig": "runner",
    "evaluate_predictions": "runner",
    "format_table": "runner",
    "BertScoreConfig": "semantic",
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
    from radllama.evaluate.hallucination import hallucination_flags
    from radllama.evaluate.lexical import rouge_l
    from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions, format_table
    from radllama.evaluate.semantic import BertScoreConfig, bertscore
    from radllama.evaluate.stats import bootstrap_ci, breakdown, paired_bootstrap


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "BertScoreConfig",
    "EvaluateConfig",
    "Finding",
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
