"""Tune candidate decoding's weights on Open-i *validate* PREDS (no model needed).

A `generate --decode candidates` PREDS file keeps every candidate of every row with its
text, source, mean log-prob and hallucination flag, so any weighting can be re-chosen here:

    python benchmarks/tune_candidates.py PREDS.jsonl [--folds 2] [--seed 0]

Grid: likelihood_weight x model_vote (consensus_weight = 1), and which candidates take part
(neighbours only / + greedy / + greedy and samples). Printed: mean ROUGE-L of each setting on
all rows (in-sample: tuned and scored on the same rows, optimistic), the best setting, and a
k-fold estimate (choose on k-1 folds, score the held-out fold) that is not optimistic. Only
validate rows may be given to this script: never a test split.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

from radllama.evaluate.lexical import rouge_l
from radllama.generation.candidates import Candidate, CandidateConfig, choose

LIKELIHOOD = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
MODEL_VOTE = (0.0, 0.5, 1.0, 2.0)
POOLS = {
    "neighbours": lambda s: s.startswith("neighbour:"),
    "neighbours+greedy": lambda s: s.startswith("neighbour:") or s == "model:greedy",
    "all": lambda s: True,
}


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("candidates")]
    if not rows:
        sys.exit(f"error: {path} has no rows with candidates; run generate --decode candidates")
    return rows


def candidate_set(row: dict, pool: str, model_vote: float) -> list[Candidate]:
    """The row's candidates in `pool`; neighbours vote as in generation (their stored relative
    similarity), model answers with `model_vote`."""
    keep = POOLS[pool]
    out = []
    for c in row["candidates"]:
        if keep(c["source"]):
            vote = model_vote if c["source"].startswith("model:") else c.get("vote", 1.0)
            out.append(Candidate(c["text"], c["source"], vote, c["loglik"], flagged=c["flagged"]))
    return out


def rouge_of_choices(rows: list[dict], setting: tuple) -> list[float]:
    pool, likelihood, vote = setting
    config = CandidateConfig(likelihood_weight=likelihood, model_vote=vote)
    picks = []
    for row in rows:
        cands = candidate_set(row, pool, vote)
        picks.append(_strip(cands[choose(cands, config)].text))
    return rouge_l(picks, [r["reference"] for r in rows])


def _strip(text: str) -> str:
    from radllama.core.prompts import strip_prepend

    return strip_prepend(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preds", type=Path)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = load(args.preds)
    settings = [
        (pool, w, v)
        for pool, w, v in itertools.product(POOLS, LIKELIHOOD, MODEL_VOTE)
        if not (pool == "neighbours" and v != MODEL_VOTE[0])  # no model votes: one setting
    ]
    per_setting = {s: rouge_of_choices(rows, s) for s in settings}
    means = {s: sum(v) / len(v) for s, v in per_setting.items()}
    print(f"{len(rows)} rows; ROUGE-L by (pool, likelihood_weight, model_vote), in-sample:")
    for s in sorted(means, key=means.get, reverse=True)[:12]:
        print(f"  {s[0]:<18} w_lik={s[1]:<5} vote={s[2]:<4} {means[s]:.4f}")
    best = max(means, key=means.get)
    oracle = []
    for row in rows:
        texts = [_strip(c["text"]) for c in row["candidates"]]
        oracle.append(max(rouge_l(texts, [row["reference"]] * len(texts))))
    print(
        f"best in-sample: {best} {means[best]:.4f}; oracle best candidate {sum(oracle) / len(oracle):.4f}"
    )
    order = list(range(len(rows)))
    random.Random(args.seed).shuffle(order)
    folds = [order[i :: args.folds] for i in range(args.folds)]
    held_out: list[float] = []
    for k, fold in enumerate(folds):
        train = [i for j, f in enumerate(folds) if j != k for i in f]
        chosen = max(settings, key=lambda s: sum(per_setting[s][i] for i in train))
        held_out += [per_setting[chosen][i] for i in fold]
        print(f"fold {k}: chose {chosen} on {len(train)} rows")
    print(f"{args.folds}-fold held-out ROUGE-L: {sum(held_out) / len(held_out):.4f}")
    print(json.dumps({"best": list(best), "in_sample": round(means[best], 4),
                      "cross_validated": round(sum(held_out) / len(held_out), 4)}))  # fmt: skip


if __name__ == "__main__":
    main()
