"""Non-LLM baselines that any fine-tuned model must beat, written as PREDS.jsonl files.

- ``retrieval-tfidf``: nearest neighbour over the *training* findings (TF-IDF, cosine); the
  prediction is that training report's impression. It is what a copy-paste radiologist
  would do, and it is strong on templated normal studies.
- ``retrieval-dense``: the same 1-NN copy with MiniLM sentence vectors in the FAISS index of
  `radllama index DATA_DIR` (cosine): paraphrases match without shared words.
- ``retrieval-consensus`` / ``retrieval-consensus-dense``: minimum Bayes risk over the
  impressions of the k nearest training reports (TF-IDF / dense; k = ``consensus_k``, default
  5): the one with the highest similarity-weighted mean ROUGE-L to the other k - 1
  (`radllama.generation.consensus`). Where the 1-NN copy follows one neighbour, the consensus
  follows what most near neighbours say.
- ``retrieval-rerank``: the same k TF-IDF neighbours, the pick made by a learned judge
  (`radllama.generation.rerank.LinearJudge`: a ridge model of each neighbour's ROUGE-L from
  its similarity, rank, consensus, length and overlap with the FINDINGS, fitted on the train
  split with leave-one-out neighbours).
- ``most-frequent``: the single most common training impression (e.g. "No acute
  cardiopulmonary process."), the floor every system should clear.

All write rows in the PREDS.jsonl format of `radllama generate` (plus the retrieved report
id and similarity), so they go through the same `radllama evaluate` path. Only the train
split is read for fitting, so the test reports never leak into a baseline.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from radllama.core.artifacts import PredictionRow, load_split
from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, DataError
from radllama.core.jsonl import write_jsonl

BaselineName = Literal[
    "retrieval-tfidf",
    "retrieval-dense",
    "retrieval-consensus",
    "retrieval-consensus-dense",
    "retrieval-rerank",
    "most-frequent",
]
BASELINES: tuple[str, ...] = (
    "retrieval-tfidf",
    "retrieval-dense",
    "retrieval-consensus",
    "retrieval-consensus-dense",
    "retrieval-rerank",
    "most-frequent",
)
# Need no index (the dense ones need `radllama index DATA_DIR`).
DEFAULT_BASELINES: tuple[str, ...] = ("retrieval-tfidf", "retrieval-consensus", "most-frequent")
DENSE_BASELINES: tuple[str, ...] = ("retrieval-dense", "retrieval-consensus-dense")
_CHUNK_ROWS = 512  # test rows per sparse similarity product: (512 x n_train) stays small


class BaselinesConfig(StrictModel):
    """What `radllama baselines` runs."""

    data: Path = Field(description="DATA_DIR from `radllama prepare` (reads train + the split).")
    out_dir: Path = Field(description="Directory for <system>.jsonl prediction files.")
    split: str = Field("test", description="Split to predict (test, eval).")
    systems: list[BaselineName] = Field(
        default_factory=lambda: list(DEFAULT_BASELINES),
        min_length=1,
        description="Baselines to run (the dense ones need `radllama index DATA_DIR` first).",
    )
    consensus_k: int = Field(
        5,
        ge=2,
        description="retrieval-consensus / retrieval-rerank: nearest training impressions "
        "chosen among (MBR / the learned judge).",
    )


def most_frequent_impression(impressions: list[str]) -> tuple[str, int]:
    """The mode of the training impressions and its count (ties: the first seen).

    >>> most_frequent_impression(["Normal.", "Pneumonia.", "Normal."])
    ('Normal.', 2)
    """
    if not impressions:
        raise DataError("no training impressions; the train split is empty")
    return Counter(impressions).most_common(1)[0]


@dataclass
class Retrieved:
    impression: str
    report_id: str | None  # the training report it came from (None: fell back to the mode)
    similarity: float  # cosine similarity of the findings' TF-IDF vectors
    consensus: float | None = None  # retrieval-consensus: the pick's weighted mean ROUGE-L


class TfidfRetriever:
    """Cosine nearest neighbour over TF-IDF vectors of training findings.

    >>> r = TfidfRetriever().fit(["lungs are clear", "right lower lobe pneumonia"],
    ...                          ["Normal.", "Pneumonia."], ["a", "b"])
    >>> r.query(["pneumonia in the right lower lobe"])[0].impression
    'Pneumonia.'
    """

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # Word uni+bigrams with sublinear tf: "no pneumothorax" and "pneumothorax" differ.
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)

    def fit(
        self, findings: list[str], impressions: list[str], report_ids: list[str]
    ) -> TfidfRetriever:
        try:
            self.matrix = self.vectorizer.fit_transform(
                findings
            )  # (n_train, vocab), L2-normed rows
        except ValueError as error:  # empty vocabulary
            raise DataError(f"cannot fit TF-IDF on the training findings ({error})") from None
        self.impressions, self.report_ids = impressions, report_ids
        self.fallback = most_frequent_impression(impressions)[0]
        return self

    def query(self, findings: list[str]) -> list[Retrieved]:
        """Nearest training report per query; no shared term -> the most frequent impression."""
        return [hits[0] for hits in self.query_k(findings, 1)]

    def query_k(self, findings: list[str], k: int) -> list[list[Retrieved]]:
        """Up to k nearest training reports per query, best first (ties: training order);
        no shared term at all -> [the most frequent impression]."""
        results: list[list[Retrieved]] = []
        for start in range(0, len(findings), _CHUNK_ROWS):
            queries = self.vectorizer.transform(findings[start : start + _CHUNK_ROWS])
            similarity = (queries @ self.matrix.T).tocsr()  # rows are L2-normed: dot = cosine
            for row in range(similarity.shape[0]):
                lo, hi = similarity.indptr[row], similarity.indptr[row + 1]
                columns, scores = similarity.indices[lo:hi], similarity.data[lo:hi]
                order = sorted(range(len(scores)), key=lambda i: (-scores[i], columns[i]))[:k]
                hits = [Retrieved(self.impressions[columns[i]], self.report_ids[columns[i]],
                                  float(scores[i])) for i in order if scores[i] > 0]  # fmt: skip
                results.append(hits or [Retrieved(self.fallback, None, 0.0)])
        return results


def consensus_answers(neighbours: list[list[Retrieved]]) -> list[Retrieved]:
    """Per query, the MBR pick among its neighbours' impressions (similarity-weighted)."""
    from radllama.generation.consensus import consensus_scores, mbr_pick

    answers = []
    for hits in neighbours:
        texts, weights = [h.impression for h in hits], [h.similarity for h in hits]
        scores = consensus_scores(texts, weights)
        best = mbr_pick(texts, weights)
        answers.append(
            Retrieved(
                hits[best].impression,
                hits[best].report_id,
                hits[best].similarity,
                round(scores[best], 6),
            )  # fmt: skip
        )
    return answers


def rerank_answers(
    train: list[dict[str, Any]], findings: list[str], retriever: TfidfRetriever, k: int
) -> tuple[list[Retrieved], dict[str, Any]]:
    """Per query, the learned judge's pick among its k TF-IDF neighbours (the judge fitted
    on the train split only; its weights go into the summary)."""
    from radllama.generation.rerank import LinearJudge

    judge = LinearJudge.fit([r["findings"] for r in train], [r["impression"] for r in train], k=k)
    answers = []
    for text, hits in zip(findings, retriever.query_k(findings, k), strict=True):
        best, _ = judge.pick(text, [h.impression for h in hits], [h.similarity for h in hits])
        answers.append(Retrieved(hits[best].impression, hits[best].report_id,
                                 hits[best].similarity))  # fmt: skip
    return answers, {"k": k, "judge": judge.record()}


def _dense_neighbours(
    data: Path, rows: list[dict[str, Any]], k: int
) -> tuple[list[list[Retrieved]], dict]:
    """k-NN over the dense index of DATA_DIR (one batched FAISS search)."""
    from radllama.retrieval import Retriever

    retriever = Retriever.for_data(data)
    if retriever.meta.kind != "dense":
        raise ConfigError(
            f"the dense baselines need a dense index; {retriever.folder} is "
            f"{retriever.meta.kind}: rebuild it with `radllama index {data}`"
        )
    found = retriever.search(rows, k=min(k, len(retriever)))
    answers = [[Retrieved(n.impression, n.row_id, n.similarity) for n in hits] for hits in found]
    return answers, {"index": retriever.meta.kind, "encoder": retriever.meta.encoder}


def _rows_for(system: str, rows: list[dict[str, Any]], answers: list[Retrieved], seconds: float):
    latency = round(seconds / max(1, len(rows)), 6)  # amortised: the baselines run in bulk
    for row, answer in zip(rows, answers, strict=True):
        result = {"raw_output": answer.impression, "prediction": answer.impression,
                  "latency_s": latency, "retrieved_report_id": answer.report_id,
                  "similarity": round(answer.similarity, 6)}  # fmt: skip
        if answer.consensus is not None:
            result["consensus"] = answer.consensus
        yield PredictionRow.for_row(row, system, None, **result).to_json()


def run_baselines(config: BaselinesConfig) -> dict[str, dict[str, Any]]:
    """Fit on the train split, predict `config.split`; returns {system: {path, rows, ...}}."""
    train, _ = load_split(config.data, split="train")
    rows, dropped = load_split(config.data, split=config.split)
    impressions = [r["impression"] for r in train]
    summary: dict[str, dict[str, Any]] = {}
    k = config.consensus_k
    for system in config.systems:
        began = time.perf_counter()
        if system in ("retrieval-tfidf", "retrieval-consensus", "retrieval-rerank"):
            retriever = TfidfRetriever().fit(
                [r["findings"] for r in train], impressions, [str(r["report_id"]) for r in train]
            )
            findings = [r["findings"] for r in rows]
            if system == "retrieval-tfidf":
                answers = retriever.query(findings)
                detail = {}
            elif system == "retrieval-rerank":
                answers, detail = rerank_answers(train, findings, retriever, k)
            else:
                answers, detail = consensus_answers(retriever.query_k(findings, k)), {"k": k}
            detail["fallbacks"] = sum(a.report_id is None for a in answers)
        elif system in DENSE_BASELINES:
            neighbours, detail = _dense_neighbours(
                config.data, rows, 1 if system == "retrieval-dense" else k
            )
            if system == "retrieval-dense":
                answers = [hits[0] for hits in neighbours]
            else:
                answers, detail = consensus_answers(neighbours), {**detail, "k": k}
        else:
            mode, count = most_frequent_impression(impressions)
            answers = [Retrieved(mode, None, 0.0)] * len(rows)
            detail = {"impression": mode, "train_count": count}
        path = config.out_dir / f"{system}.jsonl"
        written = write_jsonl(path, _rows_for(system, rows, answers, time.perf_counter() - began))
        summary[system] = {"path": str(path), "rows": written, "dropped": dict(dropped), **detail}
    return summary


def describe(summary: dict[str, dict[str, Any]]) -> str:
    lines = []
    for system, info in summary.items():
        extra = ", ".join(
            f"{k}={v!r}" for k, v in info.items() if k not in {"path", "rows", "judge"}
        )
        lines.append(f"{system}: {info['rows']} rows -> {info['path']} ({extra})")
    return "\n".join(lines)
