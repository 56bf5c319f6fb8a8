"""Generation throughput: batched (batch 32) vs one prompt at a time, same model and prompts.

What it measures: generated tokens per second of `ImpressionModel.generate` (the hf backend of
`radllama generate`) over the same prompts, greedy, once with ``batch_size=32`` (left padding,
KV cache, prompts sorted by length) and once with ``batch_size=1`` (the naive loop). Both runs
must give identical impressions (greedy + correct left padding); the script checks that.
Target: batched >= 8x the tokens/s of one-at-a-time.

The model is the embedded base (radllama.model.base, ``tiny`` by default) pretrained for a few steps
on Open-i findings/impressions from ../shared/data (or ``--data DATA_DIR``; or an existing
model or run dir with ``--model``); prompts are Open-i findings (or the DATA_DIR's rows).

    .venv/bin/python benchmarks/bench_generate.py              # ~2-3 min on a 2-core CPU
    .venv/bin/python benchmarks/bench_generate.py --size small --prompts 64 --no-append
    .venv/bin/python benchmarks/bench_generate.py --smollm2 --prompts 32   # the real default base
    .venv/bin/python benchmarks/bench_generate.py --smollm2 --precision --prompts 16  # fp32 vs bf16

`--precision` (issue 18): the same prompts, batched, with float32 and with bfloat16 weights, side
by side in one process (fp32, bf16, fp32, bf16; best of the two rounds each): tokens/s ratio and
how many greedy impressions are identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import publish  # benchmarks/results.py (the script folder is on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
OPENI = REPO.parent / "shared" / "data" / "openi"


def openi_data_dir(out: Path, limit: int = 2000) -> Path:
    """A minimal DATA_DIR (train.jsonl + test.jsonl) from Open-i's train/validate files."""
    if not (OPENI / "train.jsonl").is_file():
        sys.exit(f"{OPENI}/train.jsonl not found; pass --data DATA_DIR or --model MODEL_DIR")
    from radllama.core.jsonl import read_jsonl, write_jsonl

    out.mkdir(parents=True, exist_ok=True)
    for split, source in (("train", "train.jsonl"), ("test", "validate.jsonl")):
        path = OPENI / source if (OPENI / source).is_file() else OPENI / "train.jsonl"
        rows = [
            {
                "report_id": f"{split}{i}",
                "exam_code": "XR CHEST",
                "findings": r["inputs"],
                "impression": r["target"],
            }  # fmt: skip
            for i, r in zip(range(limit), read_jsonl(path), strict=False)
        ]
        write_jsonl(out / f"{split}.jsonl", rows)
    return out


def test_items(data_dir: Path, n: int) -> list[tuple[str, str]]:
    """(exam, findings) of the first n test rows (train rows if there is no test split)."""
    from radllama.core.jsonl import read_jsonl

    path = (
        data_dir / "test.jsonl" if (data_dir / "test.jsonl").is_file() else data_dir / "train.jsonl"
    )
    rows = [r for _, r in zip(range(n), read_jsonl(path), strict=False)]
    if len(rows) < n:
        sys.exit(f"{path} has {len(rows)} rows; need --prompts {n}")
    return [(r.get("exam_code") or r.get("exam_description") or "", r["findings"]) for r in rows]


def timed(model, items, batch_size: int, max_new_tokens: int) -> tuple[float, list]:
    from radllama.generation.inference import GenerationSettings

    settings = GenerationSettings(max_new_tokens=max_new_tokens, batch_size=batch_size)
    start = time.perf_counter()
    outputs = model.generate(items, settings)
    return time.perf_counter() - start, outputs


def measure(model, items, args) -> dict:
    timed(model, items[:2], 2, 4)  # warm-up: first forward passes allocate
    batched_s, batched = timed(model, items, args.batch_size, args.max_new_tokens)
    single_s, single = timed(model, items, 1, args.max_new_tokens)
    tokens = sum(o.completion_tokens for o in single)
    return {
        "prompts": len(items),
        "mean_prompt_tokens": sum(o.prompt_tokens for o in single) / len(items),
        "generated_tokens": tokens,
        "batched_tokens": sum(o.completion_tokens for o in batched),
        "batched_s": batched_s,
        "single_s": single_s,
        "batched_tok_s": sum(o.completion_tokens for o in batched) / batched_s,
        "single_tok_s": tokens / single_s,
        "identical": [o.raw_text for o in batched] == [o.raw_text for o in single],
    }


def precision_rows(model_dir: Path, items, args) -> dict:
    """fp32 vs bf16 weights, batched greedy, alternating twice; best wall time of each."""
    from radllama.generation.inference import ImpressionModel

    models = {d: ImpressionModel.load(model_dir, device="cpu", dtype=d)
              for d in ("float32", "bfloat16")}  # fmt: skip
    best: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    tokens: dict[str, int] = {}
    for dtype in ("float32", "bfloat16", "float32", "bfloat16"):
        timed(models[dtype], items[:2], 2, 4)  # warm-up
        seconds, outputs = timed(models[dtype], items, args.batch_size, args.max_new_tokens)
        print(dtype, f"{seconds:.1f} s", flush=True)
        best[dtype] = min(best.get(dtype, seconds), seconds)
        texts[dtype] = [o.raw_text for o in outputs]
        tokens[dtype] = sum(o.completion_tokens for o in outputs)
    same = sum(a == b for a, b in zip(texts["float32"], texts["bfloat16"], strict=True))
    rate = {d: tokens[d] / best[d] for d in best}
    return {"fp32_tok_s": rate["float32"], "bf16_tok_s": rate["bfloat16"],
            "ratio": rate["bfloat16"] / rate["float32"], "identical": same, "prompts": len(items),
            "fp32_s": best["float32"], "bf16_s": best["bfloat16"]}  # fmt: skip


def precision_markdown(result: dict, args) -> str:
    from radllama.model.precision import measured_cpu_precision

    date = subprocess.run(["date", "-u", "+%F"], capture_output=True, text=True).stdout.strip()
    auto = measured_cpu_precision().to_json()
    return "\n".join([
        f"\n## Generation precision: fp32 vs bf16 weights, SmolLM2 (issue 18, {date})\n",
        "`python benchmarks/bench_generate.py --smollm2 --precision "
        f"--prompts {args.prompts}` - `ImpressionModel.generate`, greedy, batch "
        f"{args.batch_size}, max_new_tokens={args.max_new_tokens}, SmolLM2-135M-Instruct (bundled "
        "GGUF dequantised), zero-shot; float32 vs bfloat16 weights, alternating, best of 2 each. "
        f"`bf16: auto` probe here: {auto['choice']} ({auto['reason']}).\n",
        "| weights | best wall s | tokens/s |",
        "|---|---:|---:|",
        f"| float32 | {result['fp32_s']:.1f} | {result['fp32_tok_s']:.1f} |",
        f"| bfloat16 | {result['bf16_s']:.1f} | {result['bf16_tok_s']:.1f} |",
        f"\nbf16 / fp32 tokens/s: **{result['ratio']:.2f}x**; greedy impressions identical: "
        f"{result['identical']} of {result['prompts']}.\n",
    ])  # fmt: skip


def markdown(result: dict, args, model_note: str) -> str:
    date = subprocess.run(["date", "-u", "+%F"], capture_output=True, text=True).stdout.strip()
    ratio = result["batched_tok_s"] / result["single_tok_s"]
    verdict = "met" if ratio >= 8 else "NOT met"
    return "\n".join([
        f"\n## Generation: batched vs one at a time (`benchmarks/bench_generate.py`, {date})\n",
        "Machine: 2-core CPU sandbox, shared with other engineers' jobs (noisy; the ratio is "
        f"more reliable than absolute numbers). Model: {model_note}. `ImpressionModel.generate` "
        f"(hf backend of `radllama generate`), greedy, max_new_tokens={args.max_new_tokens}, "
        f"{result['prompts']} test prompts (mean {result['mean_prompt_tokens']:.0f} prompt "
        "tokens), float32, KV cache. Tokens = generated tokens up to and including EOS.\n",
        "| mode | wall s | generated tokens | tokens/s |",
        "|---|---:|---:|---:|",
        f"| batch_size={args.batch_size} (left padding, length-sorted) | {result['batched_s']:.1f} "
        f"| {result['batched_tokens']} | {result['batched_tok_s']:.0f} |",
        f"| batch_size=1 (one prompt at a time) | {result['single_s']:.1f} "
        f"| {result['generated_tokens']} | {result['single_tok_s']:.0f} |",
        f"\nBatched gives **{ratio:.1f}x** the tokens/s of one-at-a-time (target >= 8x: "
        f"{verdict}); impressions identical in both modes: "
        f"{'yes' if result['identical'] else 'NO'}.\n",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Existing model/run dir (skip building one).")
    parser.add_argument(
        "--data", type=Path, help="DATA_DIR with train/test.jsonl (default: Open-i)."
    )
    parser.add_argument("--size", default="tiny", choices=["micro", "tiny", "small"])
    parser.add_argument("--steps", type=int, default=60, help="Pretraining steps for the model.")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--no-append", action="store_true", help="Don't write RESULTS.md.")
    parser.add_argument(
        "--smollm2", action="store_true", help="Use the bundled SmolLM2-135M-Instruct GGUF."
    )
    parser.add_argument("--precision", action="store_true", help="fp32 vs bf16 weights")
    args = parser.parse_args()

    from radllama.generation.inference import ImpressionModel
    from radllama.model.base import BaseConfig, build_base, bundled_gguf, convert_gguf

    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        data_dir = args.data or openi_data_dir(Path(tmp) / "data")
        model_dir = args.model
        if args.smollm2:
            model_dir = Path(tmp) / "smollm2"
            convert_gguf(bundled_gguf(), model_dir)
        if model_dir is None:
            model_dir = Path(tmp) / "model"
            config = BaseConfig(size=args.size, max_steps=args.steps, seq_length=128, batch_size=8)
            build_base(data_dir, model_dir, config)
        model = ImpressionModel.load(model_dir, device="cpu")
        params = sum(p.numel() for p in model.model.parameters()) / 1e6
        note = (f"embedded `{args.size}` Llama ({params:.1f} M params, {args.steps} pretraining "
                "steps on Open-i)") if not args.model else f"`{args.model}` ({params:.1f} M params)"  # fmt: skip
        if args.smollm2:
            note = (f"SmolLM2-135M-Instruct ({params:.1f} M params; bundled Q4_1 GGUF dequantised "
                    "to fp32), zero-shot")  # fmt: skip
        if args.precision:
            result = precision_rows(model_dir, test_items(data_dir, args.prompts), args)
            publish(precision_markdown(result, args), result, append=not args.no_append)
            return
        result = measure(model, test_items(data_dir, args.prompts), args)
    text = markdown(result, args, note)
    publish(text, result, append=not args.no_append)


if __name__ == "__main__":
    main()
