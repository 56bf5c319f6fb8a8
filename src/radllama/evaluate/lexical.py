"""ROUGE-L with Google's `rouge-score` (the implementation behind the published numbers).

Per-sample ROUGE-L F-measure, then the mean over samples (what the paper's Table 1 and the
Open-i reference points report). Stemming is off by default, matching the Open-i reference
numbers; turn it on with ``use_stemmer=True`` (``--stemmer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rouge_score import rouge_scorer

from radllama.core.errors import DataError
from radllama.evaluate.metrics import Column, Metric, ScoringContext, register_metric


@lru_cache(maxsize=2)
def _scorer(use_stemmer: bool) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)


def rouge_l(
    predictions: Sequence[str], references: Sequence[str], use_stemmer: bool = False
) -> list[float]:
    """ROUGE-L F-measure of each (prediction, reference) pair, in order.

    >>> rouge_l(["the cat on mat"], ["the cat sat on the mat"])  # LCS 4: P 4/4, R 4/6
    [0.8]
    """
    if len(predictions) != len(references):
        raise DataError(
            f"{len(predictions)} predictions but {len(references)} references; "
            "pass one reference per prediction"
        )
    scorer = _scorer(use_stemmer)
    # rouge-score's argument order is (target, prediction).
    return [
        float(scorer.score(ref, pred)["rougeL"].fmeasure)
        for pred, ref in zip(predictions, references, strict=True)
    ]


# ---- the metric this module registers (radllama.evaluate.metrics) ----


def _score_rouge(ctx: ScoringContext) -> None:
    predictions = [row["prediction"] for row in ctx.rows]
    references = [row["reference"] for row in ctx.rows]
    values = rouge_l(predictions, references, ctx.config.use_stemmer)
    for sample, value in zip(ctx.per_sample, values, strict=True):
        sample["rougeL"] = value


register_metric(Metric(
    name="rougeL", score=_score_rouge, columns=(Column("rougeL", "ROUGE-L"),), record_key="rouge",
    describe=lambda config, _: {"variant": "rougeL", "use_stemmer": config.use_stemmer,
                                "score": "F-measure per sample, mean over samples"},
    order=10,
))  # fmt: skip
