"""Candidate-set decoding: the model judges among its own answers and the retrieved ones.

Per report the candidates are the model's greedy answer, N sampled answers and the
impressions of the k nearest training reports. Each gets

- ``loglik``: the model's mean log-probability per token of the candidate (its tokens + EOS)
  given the prompt (`radllama.generation.prefix`: one prompt prefill per batch, shared by the
  sampling and by every candidate's scoring);
- ``consensus``: its vote-weighted mean ROUGE-L F to the other candidates
  (`radllama.generation.consensus`); a neighbour votes with its similarity relative to the
  nearest one, a model answer with ``model_vote``;
- ``flagged``: whether the hallucination check finds a statement the FINDINGS do not support.

``score = likelihood_weight * loglik + consensus_weight * consensus`` and the pick is the best
unflagged candidate (a flagged one is chosen only when every candidate is flagged). Ties go to
the earlier candidate: greedy, then samples, then neighbours, nearest first.

The hallucination check lives in the evaluate stage, above this one, so callers pass it in
(`Flagger`: ``(findings, impression) -> bool``); `radllama generate`, the demo and
`radllama impress` pass `radllama.evaluate.hallucination.hallucination_flags`.

Weights come from `benchmarks/tune_candidates.py` on Open-i *validate* PREDS (the rows keep
every candidate with its loglik, consensus and flag, so re-choosing needs no model).

>>> c = [Candidate("No acute disease.", "model:greedy", 1.0, loglik=-0.2),
...      Candidate("No acute cardiopulmonary disease.", "neighbour:7", 1.0, loglik=-0.9),
...      Candidate("No acute cardiopulmonary disease.", "neighbour:9", 1.0, loglik=-0.9)]
>>> c[choose(c, CandidateConfig(likelihood_weight=0.0))].source   # consensus: the majority
'neighbour:7'
>>> c[choose(c, CandidateConfig(likelihood_weight=1.0, consensus_weight=0.0))].source
'model:greedy'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import Field

from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError
from radllama.core.prompts import strip_prepend
from radllama.generation.consensus import consensus_scores

Flagger = Callable[[str, str], Any]  # (findings, impression) -> truthy when unsupported


class CandidateConfig(StrictModel):
    """How `--decode candidates` builds and judges the candidate set (`GenerateConfig`
    inherits these fields, so they are `radllama generate` options too)."""

    num_samples: int = Field(
        4, ge=1, description="decode=candidates: sampled model answers per report (N >= 1)."
    )
    candidate_neighbours: int = Field(
        5,
        ge=1,
        description="decode=candidates: impressions of the k nearest training reports added.",
    )
    sample_temperature: float = Field(
        0.7, gt=0, description="decode=candidates: temperature of the N sampled answers."
    )
    sample_top_p: float = Field(
        0.95, gt=0, le=1, description="decode=candidates: nucleus mass of the sampled answers."
    )
    sample_seed: int = Field(0, description="decode=candidates: seed of the sampling.")
    skip_samples_at: float | None = Field(
        1.0,
        gt=0,
        le=1,
        description="decode=candidates: no sampled answers (greedy + neighbours only) for a "
        "report whose neighbours agree: an unflagged neighbour's consensus among the k "
        "neighbours is at least this. 1.0: all k impressions are one text, which then has "
        "consensus 1 and, with no model vote, loses only to a near-copy the model finds far "
        "likelier. null: always sample.",
    )
    sample_length_factor: float | None = Field(
        None,
        gt=0,
        description="decode=candidates: stop, and leave out, a sampled answer once it is this "
        "many times as long (tokens) as the longest neighbour impression (at 2x every "
        "neighbour its ROUGE-L F to each is at most 2/3). null (default): no cap. On the "
        "zero-shot SmolLM2 base (100 Open-i validate rows) 2.0 cut generation time by 25% but "
        "scored -0.004 [-0.009, -0.0003] ROUGE-L; a fine-tune stops at ~8 tokens anyway.",
    )
    candidate_retrieval: Literal["tfidf", "index"] = Field(
        "tfidf",
        description="decode=candidates: how the k neighbours are found among the index's "
        "training rows: tfidf (word 1-2 grams, cosine; its 5-NN consensus scored 0.652 on Open-i "
        "validate vs 0.616 for the dense index) or index (the index's own search).",
    )
    # Defaults: benchmarks/tune_candidates.py on the lora-k2 candidate PREDS of all 341 Open-i
    # validate rows (benchmarks/RESULTS.md, issue 17, 2026-12-07): likelihood 0.05 with no
    # vote for the model's answers scored 0.6575 in-sample and 0.655 by 2-fold, vs 0.6262 for
    # the untuned (0.0, 1.0) and 0.6524 for retrieval-consensus on the same rows. At 0.05 a
    # 1-nat gap in mean log-prob is worth 0.05 of consensus (mean ROUGE-L): the likelihood
    # breaks near-ties among what the neighbours agree on rather than overruling them.
    likelihood_weight: float = Field(
        0.05,
        ge=0,
        description="decode=candidates: weight of the model's mean log-probability per token "
        "(nats); 0.05 tuned on Open-i validate by benchmarks/tune_candidates.py.",
    )
    consensus_weight: float = Field(
        1.0,
        ge=0,
        description="decode=candidates: weight of a candidate's mean ROUGE-L to the others.",
    )
    model_vote: float = Field(
        0.0,
        ge=0,
        description="decode=candidates: vote of a model answer in the consensus, relative to "
        "the nearest neighbour's (a neighbour votes with its similarity / the nearest one's); "
        "0 (tuned on Open-i validate): the model's answers are judged by the neighbours' "
        "consensus but do not vote, so N similar samples cannot outvote the k neighbours.",
    )


@dataclass
class Candidate:
    """One candidate impression and what the choice saw."""

    text: str  # as the model would write it (a leading prepend phrase kept)
    source: str  # "model:greedy" | "model:sample-N" | "neighbour:ROW_ID"
    vote: float  # weight as a voter in the consensus
    loglik: float | None = None  # mean log p per token (EOS included), nats
    consensus: float = 0.0
    flagged: bool = False
    score: float = 0.0

    def record(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("vote", "loglik", "consensus", "score"):
            if row[key] is not None:
                row[key] = round(row[key], 4)
        return row


def score_candidates(candidates: list[Candidate], config: CandidateConfig) -> None:
    """Fill consensus and score in place."""
    consensus = consensus_scores([c.text for c in candidates], [c.vote for c in candidates])
    for candidate, value in zip(candidates, consensus, strict=True):
        candidate.consensus = value
        likelihood = candidate.loglik if candidate.loglik is not None else 0.0
        candidate.score = config.likelihood_weight * likelihood + config.consensus_weight * value


def choose(candidates: list[Candidate], config: CandidateConfig) -> int:
    """Index of the pick: best score among unflagged candidates (all flagged: among all)."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    score_candidates(candidates, config)
    best = max(
        range(len(candidates)),
        key=lambda i: (not candidates[i].flagged, candidates[i].score, -i),
    )
    # The same text from several sources: credit the first (greedy, or the nearest report).
    return next(i for i, c in enumerate(candidates) if c.text == candidates[best].text)


def check_candidate_request(config: CandidateConfig, index_rows: int | None) -> None:
    """One-line errors before any model loads: no index, or k larger than the index."""
    if index_rows is None:
        raise ConfigError(
            "--decode candidates adds the k nearest training impressions as candidates and "
            "needs an index: build one with `radllama index DATA_DIR` and pass --index DATA_DIR"
        )
    if config.candidate_neighbours > index_rows:
        raise ConfigError(
            f"--candidate-neighbours {config.candidate_neighbours} but the index holds {index_rows} "
            f"reports; pass --candidate-neighbours {index_rows} or fewer"
        )


class TfidfNeighbours:
    """k-NN by TF-IDF over an index's training rows, answering like `Retriever.search`."""

    def __init__(self, retriever) -> None:
        from radllama.generation.baselines import TfidfRetriever

        self.rows = retriever.rows
        self.tfidf = TfidfRetriever().fit(
            [r["findings"] for r in self.rows],
            [r["impression"] for r in self.rows],
            [str(i) for i in range(len(self.rows))],  # positions: back to the index rows
        )

    def __len__(self) -> int:
        return len(self.rows)

    def search(self, queries: list[dict[str, Any]], k: int) -> list[list[Any]]:
        from radllama.retrieval import Neighbour

        found = self.tfidf.query_k([str(q.get("findings") or "") for q in queries], k)
        out = []
        for hits in found:
            rows = [(self.rows[int(h.report_id)], h.similarity) for h in hits if h.report_id]
            out.append([Neighbour(r["row_id"], score, r["exam"], r["findings"], r["impression"])
                        for r, score in rows])  # fmt: skip
        return out


def neighbour_source(config: CandidateConfig, retriever):
    """What the candidate neighbours are searched with (see `candidate_retrieval`)."""
    return TfidfNeighbours(retriever) if config.candidate_retrieval == "tfidf" else retriever


def neighbour_votes(neighbours: list[Any]) -> list[float]:
    """Similarity relative to the nearest neighbour (1.0 for the nearest; 1.0 each when the
    similarities are not positive)."""
    top = max((n.similarity for n in neighbours), default=0.0)
    if top <= 0:
        return [1.0] * len(neighbours)
    return [max(0.0, n.similarity / top) for n in neighbours]


def candidate_set(
    answers: list[tuple[str, str]], neighbours: list[Any], config: CandidateConfig
) -> list[Candidate]:
    """A report's candidates in choice order: the model's (source, text) answers, voting with
    ``model_vote``, then the neighbours' impressions, voting with their relative similarity.

    >>> from radllama.retrieval import Neighbour
    >>> near = [Neighbour("r7", 0.8, "XR", "...", "No acute disease."),
    ...         Neighbour("r9", 0.4, "XR", "...", "Clear lungs.")]
    >>> [(c.source, c.vote) for c in candidate_set([("model:greedy", "Normal.")], near,
    ...                                            CandidateConfig())]
    [('model:greedy', 0.0), ('neighbour:r7', 1.0), ('neighbour:r9', 0.5)]
    """
    row_set = [Candidate(text, source, config.model_vote) for source, text in answers]
    row_set += [
        Candidate(n.impression, f"neighbour:{n.row_id}", vote)
        for n, vote in zip(neighbours, neighbour_votes(neighbours), strict=True)
    ]
    return row_set


def flag(row_set: list[Candidate], findings: str, flagger: Flagger) -> list[Candidate]:
    """Run the hallucination check on each candidate (in place; returns the list)."""
    for candidate in row_set:
        candidate.flagged = bool(flagger(findings, strip_prepend(candidate.text)))
    return row_set


def neighbours_agree(neighbour_set: list[Candidate], config: CandidateConfig) -> bool:
    """Whether sampling can be skipped (`skip_samples_at`): an unflagged neighbour's
    consensus among the neighbours reaches the threshold.

    >>> same = [Candidate("No acute disease.", f"neighbour:{i}", 1.0) for i in range(3)]
    >>> neighbours_agree(same, CandidateConfig()), neighbours_agree(same[:1], CandidateConfig())
    (True, False)
    """
    if config.skip_samples_at is None or len(neighbour_set) < 2:
        return False
    consensus = consensus_scores([c.text for c in neighbour_set], [c.vote for c in neighbour_set])
    return any(
        value >= config.skip_samples_at and not c.flagged
        for c, value in zip(neighbour_set, consensus, strict=True)
    )


def sample_caps(model, nearest: list[list[Candidate]], config: CandidateConfig, max_new: int):
    """Per report the sampled answers' token cap (`sample_length_factor` x the longest
    neighbour impression, EOS included; `max_new` when there is no cap)."""
    if config.sample_length_factor is None:
        return [max_new] * len(nearest)
    caps = []
    for row_set in nearest:
        longest = max((len(model._encode(c.text)) + 1 for c in row_set), default=max_new)
        caps.append(min(max_new, max(1, math.ceil(config.sample_length_factor * longest))))
    return caps


def score_likelihoods(cache, sets: list[list[Candidate]]) -> None:
    """Fill each candidate's loglik from one scoring pass over the prompt cache; a text that
    occurs twice in a report's set (greedy = a sample, two neighbours with the same
    impression: common on normal studies) is scored once."""
    model = cache.model
    eos = model.eos_token_ids[0]
    distinct = [list(dict.fromkeys(c.text for c in row_set)) for row_set in sets]
    continuations = [[model._encode(text) + [eos] for text in texts] for texts in distinct]
    for row_set, texts, logliks in zip(sets, distinct, cache.score(continuations), strict=True):
        by_text = dict(zip(texts, logliks, strict=True))
        for candidate in row_set:
            candidate.loglik = by_text[candidate.text]


def decode_batch(
    model,
    items: list[tuple],
    neighbours: list[list[Any]],
    config: CandidateConfig,
    settings,
    flagger: Flagger,
) -> list[dict[str, Any]]:
    """Candidate decoding for a batch of (exam, findings, examples) items; returns per item
    the PREDS result fields (raw_output, prediction, candidate_source, candidates, ...)."""
    from radllama.generation.prefix import PromptCache

    nearest = [candidate_set([], found, config) for found in neighbours]
    for item, row_set in zip(items, nearest, strict=True):
        flag(row_set, item[1], flagger)
    prompts = [model._encode(model.build_prompt(*item)) for item in items]
    cache = PromptCache.build(model, prompts)
    caps = sample_caps(model, nearest, config, settings.max_new_tokens)
    answers = cache.decode(
        [0 if neighbours_agree(row_set, config) else config.num_samples for row_set in nearest],
        settings.max_new_tokens,
        temperature=config.sample_temperature,
        top_p=config.sample_top_p,
        seed=config.sample_seed,
        sample_max_new=caps,
    )
    sets = []
    for item, outputs, row_set, cap in zip(items, answers, nearest, caps, strict=True):
        own = [("model:greedy" if n == 0 else f"model:sample-{n}", o.raw_text)
               for n, o in enumerate(outputs)
               if n == 0 or o.finish_reason == "stop" or cap >= settings.max_new_tokens]  # fmt: skip
        sets.append(flag(candidate_set(own, [], config), item[1], flagger) + row_set)
    score_likelihoods(cache, sets)
    results = []
    for row_set, outputs in zip(sets, answers, strict=True):
        pick = row_set[choose(row_set, config)]
        results.append(
            {
                "raw_output": pick.text,
                "prediction": strip_prepend(pick.text),
                "candidate_source": pick.source,
                "candidates": [c.record() for c in row_set],
                "prompt_tokens": outputs[0].prompt_tokens,
                "completion_tokens": sum(o.completion_tokens for o in outputs),
                "finish_reason": outputs[0].finish_reason,
            }
        )
    return results
