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
