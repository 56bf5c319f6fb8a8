"""Packing vs padding: share of real tokens, and training tokens/s on this CPU.

    python benchmarks/bench_train.py [--steps 20] [--synth-reports 2000] [--no-append]

For the shared Open-i pairs and the synthetic corpus (`radllama synth` + `radllama prepare`):
1. packing efficiency at max_length 2048 and 512 = real tokens / (packed rows x max_length),
   with TRL's best-fit-decreasing packing, against padded batches of 8 pairs (dynamic padding to
   the longest pair of each shuffled batch) and padding to max_length;
2. training throughput = real (non-pad) tokens per second over the same number of optimizer
   steps, same model (embedded `tiny` Llama), same data, same pairs per step on average:
   packed (padding-free rows, position_ids restarting per pair) vs padded batches.
Appends a section to benchmarks/RESULTS.md.

    python benchmarks/bench_train.py --smollm2 [--steps 6] [--no-append]
    python benchmarks/bench_train.py --precision [--steps 30] [--rounds 1] [--no-append]

The real default base, SmolLM2-135M-Instruct (bundled GGUF, dequantised to fp32), on the
synthetic corpus, packed rows of max length 512: training tokens/s for full, LoRA on all 30
layers, LoRA on the top 8 (the demo recipe) and QLoRA (top 8), each in its own process so its
peak RSS is its own, and where a step's time goes (forward / backward / optimizer), from the
torch profiler over the last steps of each run.

`--precision`: the SmolLM2 LoRA recipe in fp32 and under bf16 autocast, side by side (issue
18): tokens/s and the loss of every step, plus what `bf16: auto` picks on this machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from radllama.cli import main as radllama
from radllama.core.artifacts import DataDir
from radllama.core.config import validate_config
from radllama.training import TrainConfig, prepare_training
from radllama.training.data import load_tokenized
from radllama.training.packing import (
    dataset_packing_stats,
    packed_efficiency,
    padded_efficiency,
    training_dataset,
)

REPO = Path(__file__).resolve().parents[1]
OPENI = REPO.parent / "shared" / "data" / "openi" / "train.jsonl"


def run(*args) -> None:
    code = radllama([str(a) for a in args])
    if code != 0:
        raise SystemExit(f"radllama {args[0]} failed with exit code {code}")


def step_clock(stamps: list[float], after_step=None):
    """A TrainerCallback appending perf_counter() to `stamps` before the first step and after
    every step (stamps[i] - stamps[1]: steps 2..i), then calling `after_step` (a profiler's
    step)."""
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if not stamps:
                stamps.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())
            if after_step is not None:
                after_step()

    return Clock()


def smollm2_workdir(work: Path, synth_reports: int) -> None:
    """work/synthetic (a prepared synthetic corpus) and work/smollm2 (the bundled GGUF as HF)."""
    from radllama.model.base import bundled_gguf, convert_gguf

    run("synth", "--out", work / "synth.csv", "--reports", synth_reports, "--quiet")
    run("prepare", "--input", work / "synth.csv", "--out", work / "synthetic")
    convert_gguf(bundled_gguf(), work / "smollm2")


def one_in_subprocess(flag: str, name: str, work: Path, steps: int) -> dict:
    """Run `bench_train.py FLAG NAME` in a fresh process (ru_maxrss is a per-process high-water
    mark) and return the dict it prints on its `RESULT ` line."""
    import json

    done = subprocess.run(
        [sys.executable, __file__, flag, name, "--work", str(work), "--steps", str(steps)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def publish(section: str, args) -> None:
    """Print a RESULTS.md section and append it unless --no-append."""
    print(section)
    if not args.no_append:
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as handle:
            handle.write(section)


def prepare_datasets(work: Path, synth_reports: int) -> dict[str, Path]:
    datasets = {}
    if OPENI.is_file():
        run("prepare", "--input", OPENI, "--preset", "openi", "--out", work / "openi",
            "--audit", work / "openi.deid_audit.json")  # fmt: skip
        datasets["openi"] = work / "openi"
    run("synth", "--out", work / "synth.csv", "--reports", synth_reports, "--quiet")
    run("prepare", "--input", work / "synth.csv", "--out", work / "synthetic")
    datasets["synthetic"] = work / "synthetic"
    return datasets


def efficiency_rows(name: str, data_dir: Path, tokenizer, cache: Path) -> list[str]:
    from datasets import Dataset
    from trl import pack_dataset

    rows = []
    for max_length in (2048, 512):
        data = load_tokenized(DataDir.open_prepared(data_dir), tokenizer, max_length, cache)
        lengths = [len(ids) for ids in data.train["input_ids"]]
        ours = dataset_packing_stats(training_dataset(data.train, max_length, True), max_length)
        # What SFTTrainer's own packing gives (1,000-row map batches), for comparison.
        trl = pack_dataset(
            Dataset.from_dict({"input_ids": data.train["input_ids"]}), max_length, "bfd"
        )
        trl_eff = packed_efficiency(trl["seq_lengths"], max_length)
        shuffled = random.Random(0).sample(lengths, len(lengths))
        dynamic = padded_efficiency(shuffled, batch_size=8)
        static = sum(lengths) / (len(lengths) * max_length)
        rows.append(
            f"| {name} | {max_length} | {len(lengths):,} | {sum(lengths) / len(lengths):.0f} | "
            f"{100 * ours['packing_efficiency']:.2f}% | {100 * trl_eff:.2f}% | {100 * dynamic:.1f}% | "
            f"{100 * static:.1f}% |"
        )
    return rows


def throughput(
    data_dir: Path, model_dir: Path, work: Path, packing: bool, batch: int, steps: int
) -> float:
    """Real tokens per second of training (TRL's num_tokens counts non-pad tokens)."""
    config = validate_config(TrainConfig, dict(
        model=str(model_dir), data=str(data_dir), output_dir=str(work / f"run_{data_dir.name}_{packing}"),
        cache_dir=str(work / "cache"), method="full", max_length=512, packing=packing,
        per_device_train_batch_size=batch, max_steps=steps, logging_steps=steps,
        eval_steps=None, save_steps=10 * steps, gradient_checkpointing=False, report_to="none",
        learning_rate=1e-4, warmup_ratio=0.0,
    ))  # fmt: skip
    session = prepare_training(config)
    output = session.trainer.train()
    tokens = [e["num_tokens"] for e in session.trainer.state.log_history if "num_tokens" in e][-1]
    return tokens / output.metrics["train_runtime"]


SMOLLM2_RUNS = {
    # name: (method, LoRA top_layers)
    "full": ("full", None),
    "lora (all 30 layers)": ("lora", None),
    "lora (top 8 layers)": ("lora", 8),
    "qlora (top 8 layers)": ("qlora", 8),
}


def smollm2_one(name: str, data_dir: Path, model_dir: Path, work: Path, steps: int) -> dict:
    """One SmolLM2 training run in this process: tokens/s, peak RSS, profiler split.

    tokens/s comes from the unprofiled steps 2..steps-2 (step 1 pays for warm-up); the torch
    profiler records only the last 2 steps (its per-op overhead would skew tokens/s)."""
    import json
    import resource

    import torch
    from torch.profiler import ProfilerActivity, profile, record_function, schedule

    if steps < 5:
        raise SystemExit("--steps must be >= 5 (warm-up, >= 2 timed, 2 profiled)")
    method, top = SMOLLM2_RUNS[name]
    config = validate_config(TrainConfig, dict(
        model=str(model_dir), data=str(data_dir), output_dir=str(work / f"run_{method}_{top}"),
        cache_dir=str(work / "cache"), method=method, max_length=512, packing=True,
        per_device_train_batch_size=2, max_steps=steps, logging_steps=1, eval_steps=None,
        save_steps=10 * steps, gradient_checkpointing=False, report_to="none",
        learning_rate=1e-4, warmup_ratio=0.0, lora={"top_layers": top},
    ))  # fmt: skip
    prof = profile(
        activities=[ProfilerActivity.CPU],
        schedule=schedule(skip_first=steps - 2, wait=0, warmup=0, active=2, repeat=1),
    )
    stamps: list[float] = []
    session = prepare_training(config, callbacks=[step_clock(stamps, after_step=prof.step)])
    trainer = session.trainer
    compute_loss, backward = trainer.compute_loss, trainer.accelerator.backward

    def timed_loss(*a, **k):
        with record_function("radllama::forward"):
            return compute_loss(*a, **k)

    def timed_backward(*a, **k):
        with record_function("radllama::backward"):
            return backward(*a, **k)

    trainer.compute_loss, trainer.accelerator.backward = timed_loss, timed_backward
    with prof:
        trainer.train()
    totals = {e.key: e.cpu_time_total / 1e6 for e in prof.key_averages()}
    optimizer = sum(v for k, v in totals.items() if k.startswith("Optimizer.step#"))
    # cumulative real tokens after each step (logging_steps=1)
    tokens = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
    timed = (stamps[steps - 2] - stamps[1], tokens[steps - 3] - tokens[0])  # steps 2..steps-2
    profiled_s = stamps[steps] - stamps[steps - 2]
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    result = {
        "run": name, "steps": steps, "timed_steps": steps - 3, "tokens_per_s": timed[1] / timed[0],
        "s_per_step": timed[0] / (steps - 3), "trainable_params": trainable,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "profiled_s": profiled_s, "forward_s": totals.get("radllama::forward", 0.0),
        "backward_s": totals.get("radllama::backward", 0.0), "optimizer_s": optimizer,
        "threads": torch.get_num_threads(),
    }  # fmt: skip
    print("RESULT " + json.dumps(result))
    return result


def smollm2_main(args) -> None:

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        smollm2_workdir(work, args.synth_reports)
        results = []
        for name in SMOLLM2_RUNS:
            results.append(one_in_subprocess("--smollm2-one", name, work, args.steps))
            print(results[-1])
    smollm2_report(results, args)


def smollm2_report(results: list[dict], args) -> None:
    rows = []
    for r in results:
        split = r["forward_s"] + r["backward_s"] + r["optimizer_s"]
        share = lambda x, total=r["profiled_s"]: f"{100 * x / total:.0f}%"  # noqa: E731
        rows.append(
            f"| {r['run']} | {r['trainable_params'] / 1e6:.2f} M | {r['tokens_per_s']:.0f} | "
            f"{r['s_per_step']:.1f} | {r['peak_rss_gb']:.2f} | {share(r['forward_s'])} | "
            f"{share(r['backward_s'])} | {share(r['optimizer_s'])} | "
            f"{share(max(0.0, r['profiled_s'] - split))} |"
        )
    full = next(r for r in results if r["run"] == "full")["tokens_per_s"]
    section = "\n".join([
        f"\n## Training: SmolLM2-135M-Instruct on this CPU ({datetime.now(UTC):%Y-%m-%d}, "
        "2-core AMD EPYC, shared/noisy)\n",
        f"`python benchmarks/bench_train.py --smollm2 --steps {args.steps}` - the bundled "
        "SmolLM2-135M-Instruct GGUF dequantised to fp32; synthetic corpus "
        f"({args.synth_reports} reports), packed rows of 512 tokens, 2 rows per step, "
        f"{args.steps} optimizer steps per run (tokens/s over steps 2..{args.steps - 2}, "
        "unprofiled), each run in its own process (peak RSS = that "
        "process's high-water mark, model + optimizer + activations). Time split from the torch "
        "profiler (CPU) over the last 2 steps: forward = `compute_loss`, backward = `accelerator.backward`, optimizer "
        "= `Optimizer.step`; other = data loading, logging, scheduler, Trainer bookkeeping. "
        "No GPU was lent to this session, so there are no GPU/MFU figures for SmolLM2 here. "
        "Other engineers' jobs shared the 2 cores: read ratios, not absolute numbers.\n",
        "| run | trainable | tokens/s | s/step | peak RSS GB | forward | backward | optimizer "
        "| other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "\nRelative to full fine-tuning: "
        + ", ".join(f"{r['run']} {r['tokens_per_s'] / full:.2f}x" for r in results) + ".\n",
    ])  # fmt: skip
    publish(section, args)


PRECISIONS = {"fp32": False, "bf16": True}


def precision_one(name: str, work: Path, steps: int) -> dict:
    """The SmolLM2 LoRA recipe (configs/smollm2-cpu.yaml, method lora: top 8 layers, 2 rows x
    384 tokens) for `steps` steps with bf16 forced on or off; tokens/s over steps 2..steps and
    the loss of every step."""
    import json

    import torch

    from radllama.core.config import load_config

    config = load_config(TrainConfig, REPO / "configs" / "smollm2-cpu.yaml", dict(
        method="lora", bf16=PRECISIONS[name], data=str(work / "synthetic"),
        model=str(work / "smollm2"), output_dir=str(work / f"run_{name}"),
        cache_dir=str(work / "cache"), max_steps=steps, logging_steps=1, eval_steps=None,
        save_steps=10 * steps,
    ))  # fmt: skip
    stamps: list[float] = []
    session = prepare_training(config, callbacks=[step_clock(stamps)])
    session.trainer.train()
    history = session.trainer.state.log_history
    tokens = [e["num_tokens"] for e in history if "num_tokens" in e]  # cumulative, per step
    losses = [e["loss"] for e in history if "loss" in e and "train_runtime" not in e]
    result = {
        "run": name, "steps": steps, "losses": losses,
        "tokens_per_s": (tokens[-1] - tokens[0]) / (stamps[-1] - stamps[1]),  # steps 2..steps
        "s_per_step": (stamps[-1] - stamps[1]) / (steps - 1),
        "threads": torch.get_num_threads(),
        "precision": session.plan.resolved.precision,
        "model_dtype": session.plan.resolved.model_dtype,
    }  # fmt: skip
    print("RESULT " + json.dumps(result))
    return result


def raw_steps(model_dir: Path, steps: int = 6) -> list[dict]:
    """The same model maths without the Trainer: forward + backward + AdamW of the LoRA top-8
    SmolLM2 on one 2 x 384-token batch, fp32 vs autocast (fp32 weights) vs bf16 weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    ids = torch.randint(0, 49_000, (2, 384), generator=torch.Generator().manual_seed(0))
    targets = r".*layers\.(2[2-9])\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
    rows = []
    variants = [("fp32", torch.float32, False), ("bf16 autocast, fp32 weights", torch.float32, True),
                ("bf16 autocast, bf16 base weights", torch.bfloat16, True)]  # fmt: skip
    for name, dtype, autocast in variants:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=targets))
        trainable = [p for p in model.parameters() if p.requires_grad]
        for param in trainable:
            param.data = param.data.float()
        optimizer = torch.optim.AdamW(trainable, lr=1e-4)
        times = []
        for _ in range(steps):
            began = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = model(input_ids=ids, labels=ids, use_cache=False).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            times.append(time.perf_counter() - began)
        rows.append({"variant": name, "s_per_step": min(times[1:]), "loss": loss.item()})
        print(rows[-1], flush=True)
    return rows


def precision_main(args) -> None:
    """fp32 vs bf16 autocast, side by side in one run, each in its own process."""

    from radllama.model.precision import choose_cpu_precision

    auto = choose_cpu_precision().to_json()  # what `bf16: auto` picks on this machine
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        smollm2_workdir(work, args.synth_reports)
        results = {}
        for name in ("fp32", "bf16", "fp32", "bf16")[: 2 * args.rounds]:
            result = one_in_subprocess("--precision-one", name, work, args.steps)
            print({k: v for k, v in result.items() if k != "losses"})
            results.setdefault(name, []).append(result)
            shutil_rmtree(work / f"run_{name}")
        raw = raw_steps(work / "smollm2")
    precision_report(results, auto, raw, args)


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def mean5(result: dict, start: int) -> float:
    window = result["losses"][start : start + 5] if start >= 0 else result["losses"][start:]
    return sum(window) / len(window)


def bf16_flags() -> str:
    """The CPU's native bf16 features, as /proc/cpuinfo lists them (AMD EPYC Zen 4 has
    AVX-512 BF16 without AMX; older EPYCs have neither)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines()
                      if line.startswith("flags")), []))  # fmt: skip
    named = [name for flag, name in (("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX"))
             if flag in flags]  # fmt: skip
    return " + ".join(named) or "no native bf16 (AVX2)"


def precision_report(results: dict[str, list[dict]], auto: dict, raw: list[dict], args) -> None:
    import platform

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    best = {name: max(runs, key=lambda r: r["tokens_per_s"]) for name, runs in results.items()}
    fp32, bf16 = best["fp32"], best["bf16"]
    every = max(1, args.steps // 10)
    picks = sorted(set(range(0, args.steps, every)) | {args.steps - 1})
    diffs = [abs(a - b) for a, b in zip(fp32["losses"], bf16["losses"], strict=False)]
    rows = []
    for name, r in best.items():
        rounds = ", ".join(f"{x['tokens_per_s']:.0f}" for x in results[name])
        rows.append(f"| {name} | {r['model_dtype']} | {rounds} | {r['s_per_step']:.2f} |")
    section = "\n".join([
        f"\n## Training precision: fp32 vs bf16 autocast, SmolLM2 LoRA (issue 18; "
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu}, {bf16_flags()}, {fp32['threads']} threads)\n",
        f"`python benchmarks/bench_train.py --precision --steps {args.steps} --rounds "
        f"{args.rounds}` - configs/smollm2-cpu.yaml with `method: lora` (LoRA r=16 on the top 8 "
        "of 30 layers, packed rows of 384 tokens, 2 rows per step, lr 1e-3 cosine) on the "
        f"synthetic corpus ({args.synth_reports} reports); same seed and data order; fp32 and "
        "bf16 runs alternate, each in its own process; tokens/s over steps 2..N (best of the "
        "rounds; every round listed). bf16 = `bf16: true`: torch CPU autocast to bf16, weights, "
        "LoRA adapters and optimizer in fp32. Shared 2-core machine: read the ratio.\n",
        f"`bf16: auto` on this machine: **{auto['choice']}** ({auto['reason']}; 1024^3 matmul "
        f"fp32 {auto.get('fp32_ms')} ms = {auto.get('fp32_gflops')} GFLOP/s, bf16 "
        f"{auto.get('bf16_ms')} ms = {auto.get('bf16_gflops')} GFLOP/s).\n",
        "| run | base weights | tokens/s (each round) | s/step (best) |",
        "|---|---|---:|---:|",
        *rows,
        f"\nbf16 / fp32 tokens/s: **{bf16['tokens_per_s'] / fp32['tokens_per_s']:.2f}x** "
        "(target >= 1.7x).\n",
        "The same model maths without the Trainer (`raw_steps`: forward + backward + AdamW on "
        "one 2 x 384-token batch, best of 5 steps after a warm-up):\n",
        "| variant | s/step | vs fp32 |",
        "|---|---:|---:|",
        *[f"| {r['variant']} | {r['s_per_step']:.2f} | {raw[0]['s_per_step'] / r['s_per_step']:.2f}x |"
          for r in raw],  # fmt: skip
        "",
        "Loss per step (same batches):\n",
        "| step | " + " | ".join(str(i + 1) for i in picks) + " |",
        "|---|" + "---:|" * len(picks),
        "| fp32 | " + " | ".join(f"{fp32['losses'][i]:.3f}" for i in picks) + " |",
        "| bf16 | " + " | ".join(f"{bf16['losses'][i]:.3f}" for i in picks) + " |",
        f"\nMean |loss difference| over the {len(diffs)} steps: {sum(diffs) / len(diffs):.4f}; "
        f"mean loss of the first / last 5 steps: fp32 {mean5(fp32, 0):.3f} / "
        f"{mean5(fp32, -5):.3f}, bf16 {mean5(bf16, 0):.3f} / {mean5(bf16, -5):.3f}.\n",
    ])  # fmt: skip
    publish(section, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per throughput run")
    parser.add_argument("--synth-reports", type=int, default=2000)
    parser.add_argument("--no-append", action="store_true", help="print only")
    parser.add_argument("--smollm2", action="store_true", help="SmolLM2-135M section instead")
    parser.add_argument("--smollm2-one", help=argparse.SUPPRESS)
    parser.add_argument("--precision", action="store_true", help="fp32 vs bf16 (SmolLM2 LoRA)")
    parser.add_argument("--rounds", type=int, default=1, help="--precision: fp32/bf16 pairs")
    parser.add_argument("--precision-one", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smollm2_one:
        smollm2_one(args.smollm2_one, args.work / "synthetic", args.work / "smollm2", args.work,
                    args.steps)  # fmt: skip
        return
    if args.smollm2:
        smollm2_main(args)
        return
    if args.precision_one:
        precision_one(args.precision_one, args.work, args.steps)
        return
    if args.precision:
        precision_main(args)
        return
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        datasets = prepare_datasets(work, args.synth_reports)
        first = next(iter(datasets.values()))
        # Tokenizer + tiny Llama shape; 1 pretraining step (throughput does not depend on weights).
        run("base", "--data", first, "--out", work / "model", "--size", "tiny", "--max-steps", 1)
        tokenizer = AutoTokenizer.from_pretrained(work / "model")
        eff = [
            r for n, d in datasets.items() for r in efficiency_rows(n, d, tokenizer, work / "cache")
        ]
        speed = []
        for name, data_dir in datasets.items():
            # Same pairs per step on average: a packed 512-token row holds ~512/mean_len pairs.
            data = load_tokenized(DataDir.open_prepared(data_dir), tokenizer, 512, work / "cache")
            mean = sum(len(i) for i in data.train["input_ids"]) / len(data.train)
            packed_rows = 2
            padded_batch = max(1, round(packed_rows * 512 / mean))
            packed = throughput(data_dir, work / "model", work, True, packed_rows, args.steps)
            padded = throughput(data_dir, work / "model", work, False, padded_batch, args.steps)
            speed.append(f"| {name} | {packed_rows} rows x 512 | {padded_batch} pairs | "
                         f"{packed:,.0f} | {padded:,.0f} | {packed / padded:.2f}x |")  # fmt: skip
    report(datasets, eff, speed, args)


def report(datasets, eff: list[str], speed: list[str], args) -> None:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    section = "\n".join([
        f"## Training: packing vs padding ({datetime.now(UTC):%Y-%m-%d}, {cpu}-core CPU sandbox)",
        "",
        "`python benchmarks/bench_train.py` - embedded tiny Llama (~5 M params) and its BPE "
        "tokenizer; datasets: " + ", ".join(datasets)
        + ("" if "openi" in datasets else " (shared Open-i data absent)")
        + f"; synthetic = {args.synth_reports} `radllama synth` reports through `radllama prepare`. "
        "The machine was shared with other engineers' jobs: throughput figures are noisy.",
        "",
        "Share of real tokens (train split; pairs longer than max_length dropped, as in training):",
        "",
        "| data | max_length | pairs | mean tokens | packed, radllama (BFD, 100k-row batches) "
        "| packed, SFTTrainer default (1k-row batches) | padded batches of 8 | padded to max_length |",
        "|---|---|---|---|---|---|---|---|",
        *eff,
        "",
        f"Training throughput, full fine-tune, {args.steps} optimizer steps each, real tokens/s:",
        "",
        "| data | packed batch | padded batch | packed tok/s | padded tok/s | ratio |",
        "|---|---|---|---|---|---|",
        *speed,
        "",
    ])  # fmt: skip
    publish("\n" + section, args)


if __name__ == "__main__":
    sys.exit(main())
