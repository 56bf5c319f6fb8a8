"""A learned judge among retrieved impressions: a linear model of the ROUGE-L a neighbour's
impression will score, fitted on the training split with leave-one-out neighbours.

The consensus pick (`radllama.generation.consensus`) weighs one signal, agreement among the k
neighbours. Which neighbour is right also depends on how near it is, how long it is and how
much of its wording the FINDINGS share. `LinearJudge.fit` learns that mix from the training
reports themselves: each training report queries the TF-IDF index of the others (itself left
out), each of its k neighbours gets the `features` below and, as target, its impression's
ROUGE-L F to the report's own impression; a ridge regression on standardised features is the
judge, and the pick is the neighbour with the highest prediction (ties: the nearest). No test
or validate row is read; the weights are a dozen numbers saved as JSON (never a pickle).

Measured on Open-i validate (all 341 rows, neighbours from the 2,170 prepared training rows,
2026-12-08, `radllama baselines --systems retrieval-consensus,retrieval-rerank`): k = 5, 0.6547
vs 0.6524 for the consensus pick (paired +0.002 [-0.008, +0.013]); k = 8, 0.6656 vs 0.6600
(+0.006 [-0.002, +0.014]). Within noise: agreement already carries most of what these features
know. It is a baseline to compare against, not the default judge of candidate decoding.

>>> judge = LinearJudge.fit(
...     ["lungs clear", "lungs are clear", "right pneumonia", "left pneumonia", "clear lungs"],
...     ["Normal.", "Normal.", "Right pneumonia.", "Left pneumonia.", "Normal."], k=2)
>>> len(judge.coef) == len(FEATURES)
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from radllama.core.errors import DataError
from radllama.generation.consensus import _scorer, rouge_matrix

FEATURES: tuple[str, ...] = (
    "similarity",  # TF-IDF cosine of its findings to the query's
    "relative_similarity",  # ... / the nearest neighbour's
    "rank",  # 0 = nearest
    "consensus",  # similarity-weighted mean ROUGE-L F to the other neighbours
    "mean_rouge",  # unweighted mean ROUGE-L F to the others
    "twins",  # other neighbours with the same text
    "max_rouge",  # ROUGE-L F to its closest other neighbour
    "words",
    "chars",
    "findings_overlap",  # share of its words that occur in the FINDINGS
    "findings_rouge_p",  # ROUGE-L precision / recall against the FINDINGS
    "findings_rouge_r",
    "findings_words",  # distinct words of the FINDINGS
    "top_similarity",
    "mean_similarity",
)
_WORD = re.compile(r"[a-z]+")


def features(
    findings: str, texts: Sequence[str], similarities: Sequence[float]
) -> list[list[float]]:
    """One row of `FEATURES` per neighbour (``texts`` nearest first)."""
    scorer = _scorer()
    m = len(texts)
    matrix = rouge_matrix(texts)
    top = max(similarities, default=0.0)
    mean_sim = sum(similarities) / m if m else 0.0
    finding_words = set(_WORD.findall(findings.lower()))
    rows = []
    for i, text in enumerate(texts):
        others = [j for j in range(m) if j != i]
        mass = sum(max(0.0, similarities[j]) for j in others)
        consensus = (
            sum(max(0.0, similarities[j]) * matrix[i][j] for j in others) / mass
            if mass > 0
            else (sum(matrix[i][j] for j in others) / len(others) if others else 0.0)
        )
        words = _WORD.findall(text.lower())
        against = scorer.score(findings, text)["rougeL"]  # (target, prediction)
        rows.append(
            [
                similarities[i],
                similarities[i] / top if top > 0 else 1.0,
                float(i),
                consensus,
                sum(matrix[i][j] for j in others) / len(others) if others else 0.0,
                float(sum(texts[j] == text for j in others)),
                max((matrix[i][j] for j in others), default=0.0),
                float(len(words)),
                float(len(text)),
                sum(w in finding_words for w in words) / len(words) if words else 0.0,
                against.precision,
                against.recall,
                float(len(finding_words)),
                top,
                mean_sim,
            ]
        )
    return rows


@dataclass
class LinearJudge:
    """Predicted ROUGE-L = intercept + sum(coef * (x - mean) / scale)."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    k: int
    fitted_on: int  # training reports that contributed neighbours

    @classmethod
    def fit(
        cls,
        findings: Sequence[str],
        impressions: Sequence[str],
        k: int = 5,
        alpha: float = 10.0,
        max_reports: int = 5000,
    ) -> LinearJudge:
        """Fit on training reports: each one's k nearest *other* reports (TF-IDF) are its
        candidates. At most ``max_reports`` queries (evenly spaced: deterministic), so the fit
        stays seconds on an archive of millions; the index holds every report."""
        import numpy as np
        from sklearn.linear_model import Ridge

        from radllama.generation.baselines import TfidfRetriever

        n = len(findings)
        if n < 3:
            raise DataError(f"the learned judge needs at least 3 training reports, got {n}")
        retriever = TfidfRetriever().fit(
            list(findings), list(impressions), [str(i) for i in range(n)]
        )
        step = max(1, n // max_reports)
        queries = list(range(0, n, step))[:max_reports]
        found = retriever.query_k([findings[q] for q in queries], k + 1)
        scorer = _scorer()
        x: list[list[float]] = []
        y: list[float] = []
        used = 0
        for q, hits in zip(queries, found, strict=True):
            hits = [h for h in hits if h.report_id is not None and h.report_id != str(q)][:k]
            if len(hits) < 2:
                continue
            texts = [h.impression for h in hits]
            used += 1
            x += features(findings[q], texts, [h.similarity for h in hits])
            y += [scorer.score(impressions[q], t)["rougeL"].fmeasure for t in texts]
        if not y:
            raise DataError("no training report has two neighbours sharing a word: no judge to fit")
        data = np.asarray(x, dtype=float)
        mean, scale = data.mean(axis=0), data.std(axis=0)
        scale[scale == 0] = 1.0
        model = Ridge(alpha=alpha).fit((data - mean) / scale, np.asarray(y))
        return cls(mean.tolist(), scale.tolist(), model.coef_.tolist(), float(model.intercept_),
                   k, used)  # fmt: skip

    def predict(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return [
            self.intercept
            + sum(
                c * (v - m) / s
                for c, v, m, s in zip(self.coef, row, self.mean, self.scale, strict=True)
            )
            for row in rows
        ]

    def pick(
        self, findings: str, texts: Sequence[str], similarities: Sequence[float]
    ) -> tuple[int, float]:
        """(index, predicted ROUGE-L) of the best neighbour; identical texts credit the nearest."""
        scores = self.predict(features(findings, texts, similarities))
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        return list(texts).index(texts[best]), scores[best]

    def record(self) -> dict[str, Any]:
        """JSON-safe weights (named), for run summaries and a saved judge."""
        row = asdict(self)
        row["features"] = list(FEATURES)
        return row
