"""Evaluation speed: ROUGE-L + BERTScore (MiniLM) + clinical agreement over 2,114 pairs.

Target (issue 4): at most 10 s on 2 CPU cores for the paper's test size (2,114 reports).
Pairs: real Open-i reports from ../shared/data/openi (train then validate), reference = the
impression, prediction = the impression of another report (a fixed shuffle, as a retrieval
baseline would produce), findings = the report's findings (for hallucination flags).

Named alternatives, run side by side on the same pairs:
- BERTScore batched (batch 64, one cached scorer) vs one pair at a time (batch 1);
- the cached scorer vs `bert_score.score(...)` per call, which rebuilds the model each time
  (the functional API as commonly used in a loop).

Usage: .venv/bin/python benchmarks/bench_eval.py [--pairs 2114] [--no-write]
Appends a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from radllama.evaluate.clinical import clinical_agreement  # noqa: E402
from radllama.evaluate.hallucination import hallucination_flags  # noqa: E402
from radllama.evaluate.lexical import rouge_l  # noqa: E402
from radllama.evaluate.semantic import (  # noqa: E402
    BertScoreConfig,
    bertscore,
    encoder_info,
    load_scorer,
)

REPO = Path(__file__).resolve().parents[1]
OPENI = REPO.parent / "shared" / "data" / "openi"
SIDE_BY_SIDE_PAIRS = 64  # batch-1 run on a subset: the same pairs for both variants
RECREATE_PAIRS = 4  # scorer re-creation costs seconds per call: a few calls show the ratio


def load_pairs(n: int) -> tuple[list[str], list[str], list[str]]:
    rows = []
    for name in ("train.jsonl", "validate.jsonl"):
        rows += [json.loads(line) for line in (OPENI / name).read_text().splitlines()]
    rows = rows[:n]
    references = [row["target"] for row in rows]
    predictions = references[:]
    random.Random(0).shuffle(predictions)
    return predictions, references, [row["inputs"] for row in rows]


CPU_SECONDS: dict[str, float] = {}


def timed(fn, *args, **kwargs):
    """(result, wall seconds); the process CPU seconds go to CPU_SECONDS[fn name]."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    CPU_SECONDS[getattr(fn, "__name__", "fn")] = time.process_time() - cpu
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2114)
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    load_before = os.getloadavg()[0]
    if not OPENI.is_dir():
        raise SystemExit(f"{OPENI} not found: this benchmark needs the shared Open-i data")
    preds, refs, findings = load_pairs(args.pairs)
    config = BertScoreConfig(batch_size=64)
    info = encoder_info(config)
    _, t_load = timed(load_scorer, info["encoder"], info["layer"], config.device)

    _, t_rouge = timed(rouge_l, preds, refs)
    _, t_bert = timed(bertscore, preds, refs, config)
    cpu_bert = CPU_SECONDS["bertscore"]
    _, t_clin = timed(lambda: [clinical_agreement(p, r) for p, r in zip(preds, refs, strict=True)])
    _, t_hall = timed(
        lambda: [hallucination_flags(f, p) for f, p in zip(findings, preds, strict=True)]
    )
    t_total = t_rouge + t_bert + t_clin + t_hall

    k = SIDE_BY_SIDE_PAIRS
    sub_p, sub_r = preds[:k], refs[:k]
    _, t_b64 = timed(bertscore, sub_p, sub_r, BertScoreConfig(batch_size=64))
    _, t_b1 = timed(bertscore, sub_p, sub_r, BertScoreConfig(batch_size=1))

    from bert_score import score as bert_score_fn

    m = RECREATE_PAIRS
    _, t_cached = timed(
        lambda: [bertscore([p], [r], config) for p, r in zip(preds[:m], refs[:m], strict=True)]
    )
    _, t_recreate = timed(
        lambda: [
            bert_score_fn([p], [r], model_type=info["encoder"], num_layers=info["layer"])
            for p, r in zip(preds[:m], refs[:m], strict=True)
        ]
    )

    lines = [
        f"pairs: {len(preds)} (Open-i impressions vs shuffled impressions; findings for flags)",
        f"encoder: {info['encoder_name']} layer {info['layer']}; torch threads "
        f"{torch.get_num_threads()}",
        f"one-time scorer load: {t_load:.2f} s",
        f"ROUGE-L {t_rouge:.2f} s | BERTScore (batch 64) {t_bert:.2f} s | clinical agreement "
        f"{t_clin:.2f} s | hallucination flags {t_hall:.2f} s",
        f"total metrics: {t_total:.2f} s wall (target <= 10 s); with scorer load: "
        f"{t_total + t_load:.2f} s; BERTScore used {cpu_bert:.1f} CPU s on 2 threads",
        f"1-min load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)",
        f"BERTScore batch 64 vs batch 1, same {k} pairs: {t_b64:.2f} s vs {t_b1:.2f} s -> "
        f"{t_b1 / t_b64:.1f}x",
        f"cached scorer vs bert_score.score() re-creating the model, {m} single-pair calls: "
        f"{t_cached:.2f} s vs {t_recreate:.2f} s -> {t_recreate / t_cached:.0f}x",
    ]
    print("\n".join(lines))
    if not args.no_write:
        date = subprocess.run(["date", "-u", "+%F"], capture_output=True, text=True).stdout.strip()
        section = (
            f"\n## bench_eval.py — evaluation metrics ({date}, 2-core CPU sandbox)\n\n"
            "`.venv/bin/python benchmarks/bench_eval.py`\n\n"
            + "\n".join(f"- {line}" for line in lines)
            + "\n"
        )
        results = REPO / "benchmarks" / "RESULTS.md"
        with open(results, "a", encoding="utf-8") as handle:
            handle.write(section)
        print(f"appended to {results}")


if __name__ == "__main__":
    main()
