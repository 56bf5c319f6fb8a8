"""Evaluation of generated impressions: ROUGE-L, BERTScore, clinical agreement, hallucination
flags, the LLM judge, bootstrap statistics. `runner.evaluate_predictions` is the stage entry
point (PREDS.jsonl -> SCORES.json); the functions below are the public building blocks.
"""

from radllama.evaluate.clinical import Finding, clinical_agreement, extract_findings, is_normal
from radllama.evaluate.hallucination import hallucination_flags
from radllama.evaluate.lexical import rouge_l
from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions, format_table
from radllama.evaluate.semantic import BertScoreConfig, bertscore
from radllama.evaluate.stats import bootstrap_ci, breakdown, paired_bootstrap

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
