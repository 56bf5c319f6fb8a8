"""Consensus among candidate impressions: minimum Bayes risk (MBR) selection with ROUGE-L.

Given candidates c_1..c_m with weights w_1..w_m (a retrieved impression's similarity to the
query, or a model output's vote), each candidate's consensus is its weighted mean ROUGE-L F to
the *other* candidates,

    consensus_i = sum_{j != i} w_j * R(c_i, c_j) / sum_{j != i} w_j

and the MBR pick is the candidate with the highest consensus (ties, and identical texts: the
earlier candidate, so the nearest neighbour is credited). ROUGE-L F is symmetric, so the m x m matrix is filled from
m (m - 1) / 2 LCS computations on rouge-score's own tokens (the evaluated metric).

Why not the `mbrs` package (PyPI, 0.1.8): it has no ROUGE-L metric and pulls unbabel-comet,
bleurt-pytorch, sacrebleu[ja] and fastchrf for metrics we do not use; the selection itself is
the 20 lines below on the `rouge-score` dependency we already have.

>>> consensus_scores(["no acute disease", "no acute disease", "left pneumonia"])
[0.5, 0.5, 0.0]
>>> mbr_pick(["left pneumonia", "no acute disease", "no acute disease"])
1
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_matrix(candidates: Sequence[str]) -> list[list[float]]:
    """Symmetric m x m ROUGE-L F matrix (1.0 on the diagonal)."""
    scorer = _scorer()
    m = len(candidates)
    matrix = [[1.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(i + 1, m):
            value = float(scorer.score(candidates[i], candidates[j])["rougeL"].fmeasure)
            matrix[i][j] = matrix[j][i] = value
    return matrix


def consensus_scores(
    candidates: Sequence[str], weights: Sequence[float] | None = None
) -> list[float]:
    """Weighted mean ROUGE-L F of each candidate to the others (0.0 for a lone candidate).

    Weights <= 0 everywhere (e.g. no shared term in TF-IDF) count as equal weights."""
    m = len(candidates)
    if weights is None or not any(w > 0 for w in weights):
        weights = [1.0] * m
    if len(weights) != m:
        raise ValueError(f"{m} candidates but {len(weights)} weights")
    weights = [max(0.0, float(w)) for w in weights]
    matrix = rouge_matrix(candidates)
    scores = []
    for i in range(m):
        mass = sum(weights[j] for j in range(m) if j != i)
        total = sum(weights[j] * matrix[i][j] for j in range(m) if j != i)
        scores.append(total / mass if mass > 0 else 0.0)
    return scores


def mbr_pick(candidates: Sequence[str], weights: Sequence[float] | None = None) -> int:
    """Index of the candidate with the highest consensus (ties: the earliest)."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    scores = consensus_scores(candidates, weights)
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    # Identical texts: a twin's vote lifts the other one; credit the earliest (the nearest).
    return candidates.index(candidates[best])
