"""Candidate decoding's cost per report next to greedy: same model, rows and batch size.

    python benchmarks/bench_candidates.py --model RUN_DIR --data DATA_DIR [--rows 32]
        [--batch-size 16] [--max-new-tokens 48] [--num-samples 4] [--neighbours 5]

All go through `radllama.generation.generate.generate_predictions` (the code `radllama
generate` runs), greedy first, then `--decode candidates` (greedy + N samples + k neighbours,
one shared prompt prefill per batch) with the defaults (no samples where the k neighbours
agree: `skip_samples_at` 1.0), then candidates sampling every report, on the first `rows`
test rows; the model load is timed apart and left out of s/report. Prints one line per mode
and the ratios (goal: <= 3x for N = 4 + k = 5). Run it under the shared CPU lock; results go
to benchmarks/RESULTS.md by hand. A bare model directory (`radllama base`) times the same
decoding as a fine-tune of it: no trained run is needed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from radllama.evaluate.hallucination import hallucination_flags
from radllama.generation.generate import GenerateConfig, generate_predictions


def timed(config: GenerateConfig) -> tuple[float, int]:
    """(seconds in generation batches, rows) from the rows' per-batch latencies."""
    summary = generate_predictions(config, flagger=hallucination_flags)
    rows = [json.loads(line) for line in config.out.read_text().splitlines()]
    # latency_s is the batch's wall time, written on each of its rows (batches in order)
    first_rows = rows[:: config.batch_size]
    return sum(row["latency_s"] for row in first_rows), summary.generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--num-samples", type=int, default=4)
    parser.add_argument("--neighbours", type=int, default=5)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        modes = {"greedy": ("greedy", 1.0), "candidates": ("candidates", 1.0),
                 "candidates-always-sample": ("candidates", None)}  # fmt: skip
        for name, (decode, skip) in modes.items():
            config = GenerateConfig(
                data=args.data / "test.jsonl", out=Path(scratch) / f"{name}.jsonl",
                model=args.model, system=name, limit=args.rows, batch_size=args.batch_size,
                max_new_tokens=args.max_new_tokens, index=args.data, decode=decode,
                num_samples=args.num_samples, candidate_neighbours=args.neighbours,
                skip_samples_at=skip,
            )  # fmt: skip
            began = time.perf_counter()
            seconds, rows = timed(config)
            total = time.perf_counter() - began
            results[name] = seconds / rows
            extra = ""
            if decode == "candidates":
                preds = [json.loads(line) for line in config.out.read_text().splitlines()]
                sampled = sum(any("sample" in c["source"] for c in r["candidates"]) for r in preds)
                extra = f", {sampled} of {rows} reports sampled"
            print(f"{name}: {rows} rows, {seconds:.1f} s in batches ({seconds / rows:.3f} "
                  f"s/report), {total - seconds:.1f} s load + retrieval{extra}")  # fmt: skip
    for name in ("candidates", "candidates-always-sample"):
        print(f"{name} / greedy = {results[name] / results['greedy']:.2f}x s/report (batch "
              f"{args.batch_size}, N={args.num_samples}, k={args.neighbours}, <= "
              f"{args.max_new_tokens} new tokens)")  # fmt: skip


if __name__ == "__main__":
    main()
