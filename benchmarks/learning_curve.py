"""Learning curve on Open-i (issue 18): validate ROUGE-L of the retrieval recipe against the
training tokens it has seen, with the copy and consensus baselines as horizontal lines.

    python benchmarks/learning_curve.py train --minutes 12     # resumable piece of training
    python benchmarks/learning_curve.py score --minutes 12     # score the unscored milestones
    python benchmarks/learning_curve.py report [--no-append]   # table (RESULTS.md) + PNG

One run of configs/smollm2-retrieval-cpu.yaml (k=2 dense MiniLM neighbours, LoRA on the top 8
of SmolLM2-135M-Instruct's 30 layers, cosine LR over `--total-steps`) on the Open-i train
split, checkpointed at the milestone steps; each milestone's adapter writes greedy
impressions for every validate row (<= 48 new tokens, batch 16, as `radllama demo`) and is
scored with per-sample ROUGE-L (no stemming). Intermediate milestones are points along one
cosine schedule, not separately tuned runs of that length (a run cut there would have decayed
its LR): read the curve as "what this run had learnt by then". Everything lives in
benchmarks/_work/learning_curve/ (ignored), so each command is a <= 15-minute piece under the
shared CPU lock and the next one continues.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work" / "learning_curve"
RESULTS = WORK / "results.json"
PNG = REPO / "docs" / "learning_curve_openi.png"
# ~1,090 steps per epoch (2,170 kept pairs, ~1 pair per 384-token row, 2 rows per step)
CANDIDATE_MILESTONES = (50, 100, 200, 400, 800, 1100, 2200)


def milestones(total_steps: int) -> list[int]:
    return sorted({m for m in CANDIDATE_MILESTONES if m < total_steps} | {total_steps})


def log(message: str) -> None:
    print(f"[curve] {message}", flush=True)


def demo_config():
    from radllama.core.config import load_config
    from radllama.demo import DemoConfig

    return load_config(DemoConfig, REPO / "configs" / "openi-retrieval.yaml")


def prepared() -> tuple[Path, Path]:
    """(DATA_DIR with test = Open-i validate, SmolLM2 base dir), built once, as the demo does."""
    from radllama.demo import _base_model, _index, _prepare_data

    WORK.mkdir(parents=True, exist_ok=True)
    data_dir = WORK / "data"
    if not (data_dir / "index" / "meta.json").is_file():
        data_dir = _prepare_data(demo_config(), WORK, log)
        _index(data_dir, log)
    return data_dir, _base_model(demo_config(), data_dir, WORK, log)


def train_config(data_dir: Path, base: Path, total_steps: int):
    from radllama.core.config import load_config
    from radllama.training import TrainConfig

    checkpoints = WORK / "run" / "checkpoints"
    resume = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    return load_config(TrainConfig, REPO / "configs" / "smollm2-retrieval-cpu.yaml", dict(
        data=str(data_dir), model=str(base), output_dir=str(WORK / "run"),
        max_steps=total_steps, learning_rate=demo_config().lora_learning_rate,
        eval_steps=None, generative_eval={"rows": 0}, metric_for_best_model=None,
        save_steps=10**6, save_total_limit=100, resume=resume or None,
    ))  # fmt: skip


class Milestones(TrainerCallback):
    """Checkpoint at each milestone step; after `seconds`, checkpoint and stop (a piece)."""

    def __init__(self, seconds: float, steps: list[int]) -> None:
        self.deadline = time.monotonic() + seconds
        self.steps = set(steps)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.steps:
            control.should_save = True
        if time.monotonic() > self.deadline:
            control.should_save = True
            control.should_training_stop = True


def train_piece(args) -> None:
    from radllama.training import prepare_training

    data_dir, base = prepared()
    config = train_config(data_dir, base, args.total_steps)
    session = prepare_training(
        config, callbacks=[Milestones(60 * args.minutes, milestones(args.total_steps))]
    )
    template = {
        "method": config.method, "base_model": session.plan.model,
        "prompt_style": session.plan.prompt_style.model_dump(mode="json"),
        "data_manifest_hash": session.plan.dataset.data_hash, "seed": config.seed,
        "config": config.model_dump(mode="json"),
        "hyperparameters": {"precision": session.plan.resolved.precision},
    }  # fmt: skip
    (WORK / "run_template.json").write_text(json.dumps(template, indent=2))
    info = {"total_steps": args.total_steps, "precision": session.plan.resolved.precision,
            "epoch_tokens": session.data.stats["train"]["tokens"]}  # fmt: skip
    (WORK / "run_info.json").write_text(json.dumps(info, indent=2))
    started = time.monotonic()
    session.trainer.train(resume_from_checkpoint=session.checkpoint)
    state = session.trainer.state
    log(f"trained to step {state.global_step} of {args.total_steps} in "
        f"{time.monotonic() - started:.0f} s ({session.plan.resolved.precision})")  # fmt: skip


def milestone_dirs() -> dict[int, Path]:
    info = json.loads((WORK / "run_info.json").read_text())
    found = {}
    for path in (WORK / "run" / "checkpoints").glob("checkpoint-*"):
        step = int(path.name.split("-")[1])
        if step in milestones(info["total_steps"]):
            found[step] = path
    return dict(sorted(found.items()))


def tokens_at(checkpoint: Path) -> int:
    """Real (non-pad) training tokens seen by this checkpoint (TRL's num_tokens)."""
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    seen = [e["num_tokens"] for e in state["log_history"] if "num_tokens" in e]
    return int(seen[-1]) if seen else 0


def score_piece(args) -> None:
    from radllama.core.artifacts import RUN_FILE
    from radllama.core.jsonl import read_jsonl
    from radllama.evaluate.lexical import rouge_l
    from radllama.generation.generate import GenerateConfig, generate_predictions

    data_dir, _ = prepared()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"points": {}}
    template = json.loads((WORK / "run_template.json").read_text())
    deadline = time.monotonic() + 60 * args.minutes
    baselines(data_dir, results)
    for step, checkpoint in milestone_dirs().items():
        if str(step) in results["points"]:
            continue
        if time.monotonic() > deadline:
            log("time is up; rerun `score` for the rest")
            break
        view = WORK / "views" / f"step-{step}"  # a RUN_DIR: the adapter + a run file
        if not view.is_dir():
            shutil.copytree(checkpoint, view, ignore=shutil.ignore_patterns("optimizer.pt"))
            (view / RUN_FILE).write_text(json.dumps({**template, "status": "completed"}))
        preds = WORK / "preds" / f"step-{step}.jsonl"
        began = time.monotonic()
        generate_predictions(GenerateConfig(
            data=data_dir / "test.jsonl", out=preds, model=view, system=f"lora-k2-{step}",
            max_new_tokens=48, batch_size=16,
        ))  # fmt: skip
        rows = [r for r in read_jsonl(preds) if r.get("prediction") is not None]
        scores = rouge_l([r["prediction"] for r in rows], [r["reference"] for r in rows])
        results["points"][str(step)] = {
            "tokens": tokens_at(checkpoint), "rougeL": sum(scores) / len(scores),
            "rows": len(rows), "generation_s": round(time.monotonic() - began, 1),
        }  # fmt: skip
        RESULTS.write_text(json.dumps(results, indent=2))
        log(f"step {step}: ROUGE-L {results['points'][str(step)]['rougeL']:.4f}")


def baselines(data_dir: Path, results: dict) -> None:
    """TF-IDF and dense 1-NN copies and the consensus picks on the same validate rows."""
    from radllama.core.jsonl import read_jsonl
    from radllama.evaluate.lexical import rouge_l
    from radllama.generation.baselines import BaselinesConfig, run_baselines

    if "baselines" in results:
        return
    systems = ["retrieval-tfidf", "retrieval-dense", "retrieval-consensus",
               "retrieval-consensus-dense"]  # fmt: skip
    out = WORK / "preds"
    info = run_baselines(BaselinesConfig(data=data_dir, out_dir=out, systems=systems))
    results["baselines"] = {}
    for system in info:
        rows = list(read_jsonl(out / f"{system}.jsonl"))
        scores = rouge_l([r["prediction"] for r in rows], [r["reference"] for r in rows])
        results["baselines"][system] = sum(scores) / len(scores)
    RESULTS.write_text(json.dumps(results, indent=2))


def report(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(RESULTS.read_text())
    info = json.loads((WORK / "run_info.json").read_text())
    points = sorted(results["points"].items(), key=lambda kv: int(kv[0]))
    steps = [int(s) for s, _ in points]
    tokens = [p["tokens"] / 1e6 for _, p in points]
    rouge = [p["rougeL"] for _, p in points]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(tokens, rouge, "o-", color="C0", label="LoRA k=2 (dense neighbours), greedy")
    styles = {"retrieval-tfidf": ("C1", "--"), "retrieval-dense": ("C2", "--"),
              "retrieval-consensus": ("C3", ":"), "retrieval-consensus-dense": ("C4", ":")}  # fmt: skip
    for system, value in results["baselines"].items():
        color, style = styles.get(system, ("grey", "-."))
        ax.axhline(value, color=color, linestyle=style, label=f"{system} {value:.3f}")
    for step, x, y in zip(steps, tokens, rouge, strict=True):
        ax.annotate(f"{step}", (x, y), textcoords="offset points", xytext=(0, -12), fontsize=7,
                    ha="center")  # fmt: skip
    ax.set_xlabel("training tokens (millions, real tokens; labels: optimizer steps)")
    ax.set_ylabel("ROUGE-L, Open-i validate")
    ax.set_title("SmolLM2-135M-Instruct, retrieval recipe: ROUGE-L vs training tokens")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    PNG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PNG, dpi=110)
    rows = [
        f"| {s} | {p['tokens']:,} | {p['tokens'] / info['epoch_tokens']:.2f} | {p['rougeL']:.4f} "
        f"| {p['rows']} | {p['generation_s']:.0f} |"
        for s, p in points
    ]
    base_line = ", ".join(f"{k} {v:.4f}" for k, v in results["baselines"].items())
    section = "\n".join([
        f"\n## Learning curve: Open-i validate ROUGE-L vs training tokens (issue 18; "
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu_name()}, 2 shared cores)\n",
        "`python benchmarks/learning_curve.py train|score|report` - one run of "
        "configs/smollm2-retrieval-cpu.yaml (k=2 dense neighbours, LoRA top 8 layers, lr 1e-3 "
        f"cosine over {info['total_steps']} steps, precision {info['precision'].get('choice')}) on the Open-i train split, checkpoints scored on "
        "every validate row (greedy, <= 48 new tokens). Points are along one cosine schedule "
        "(not separate runs of that length).\n",
        f"Baselines on the same rows: {base_line}.\n",
        "| step | training tokens | epochs | ROUGE-L | rows | generation s |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ])  # fmt: skip
    print(section)
    if not args.no_append:
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as handle:
            handle.write(section)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "score", "report"])
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-clock piece length")
    parser.add_argument("--total-steps", type=int, default=400, help="cosine schedule length")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    {"train": train_piece, "score": score_piece, "report": report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
