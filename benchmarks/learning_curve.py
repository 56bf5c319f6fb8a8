"""Learning curve on Open-i (issue 18): validate ROUGE-L of the retrieval recipe against the
training tokens it has seen, with the copy and consensus baselines on the same rows.

    python benchmarks/learning_curve.py train --total-steps 200 --minutes 12   # resumable piece
    python benchmarks/learning_curve.py score --rows 80 --minutes 12           # unscored milestones
    python benchmarks/learning_curve.py report [--no-append]                   # table + PNG

One run of configs/smollm2-retrieval-cpu.yaml (k=2 dense MiniLM neighbours, LoRA on the top 8
of SmolLM2-135M-Instruct's 30 layers, lr and data as `radllama demo configs/openi-retrieval.yaml`,
cosine LR over `--total-steps`) on the Open-i train split, with the adapter saved at each
milestone step (step 0 = the untrained adapter = the base model with k=2 prompts). Each
milestone's adapter writes greedy impressions (<= 48 new tokens, batch 16, as the demo) for
the first `--rows` rows of Open-i validate, scored with per-sample ROUGE-L (no stemming); the
TF-IDF / dense 1-NN copies and their 5-NN consensus picks answer the same rows. Never the
test split. Intermediate milestones are points along one cosine schedule, not separately
tuned runs of that length (a run cut there would have decayed its LR): read the curve as
"what this run had learnt by then". Everything lives in benchmarks/_work/learning_curve/
(ignored), so each command is a <= 15-minute piece under the shared CPU lock and the next one
continues.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work" / "learning_curve"
RESULTS = WORK / "results.json"
RUN_INFO = WORK / "run_info.json"
PNG = REPO / "benchmarks" / "learning_curve_openi.png"
STEP0 = WORK / "step-0"  # the untrained adapter (outside checkpoints/: never resumed from)
GIVEN: dict[str, Path] = {}  # --data / --base
RECIPE = REPO / "configs" / "smollm2-retrieval-cpu.yaml"
BASELINES = ["retrieval-tfidf", "retrieval-dense", "retrieval-consensus",
             "retrieval-consensus-dense"]  # fmt: skip


def milestones(total_steps: int, asked: list[int]) -> list[int]:
    return sorted({m for m in asked if m < total_steps} | {total_steps})


def log(message: str) -> None:
    print(f"[curve] {message}", flush=True)


def demo_config():
    from radllama.core.config import load_config
    from radllama.demo import DemoConfig

    return load_config(DemoConfig, REPO / "configs" / "openi-retrieval.yaml")


def prepared() -> tuple[Path, Path]:
    """(DATA_DIR with test = Open-i validate, SmolLM2 base dir), built once, as the demo does
    (or the --data / --base given: a smoke test of this script with the tests' micro model)."""
    from radllama.demo import _base_model, _index, _prepare_data

    WORK.mkdir(parents=True, exist_ok=True)
    if GIVEN:
        return GIVEN["data"], GIVEN["base"]
    data_dir = WORK / "data"
    if not (data_dir / "index" / "meta.json").is_file():
        data_dir = _prepare_data(demo_config(), WORK, log)
        _index(data_dir, log)
    return data_dir, _base_model(demo_config(), data_dir, WORK, log)


def subset(data_dir: Path, rows: int) -> Path:
    """A DATA_DIR view whose test split is the first `rows` validate rows (fixed, shared by
    every milestone and baseline)."""
    from radllama.demo import _test_subset

    view = WORK / f"subset-{rows}"
    if not (view / "manifest.json").is_file():
        _test_subset(data_dir, view, rows)
    return view


def train_config(data_dir: Path, base: Path, total_steps: int):
    """The recipe with the demo's learning rate, `total_steps` steps and no evaluation during
    training (the milestones are scored afterwards on validate, not on the eval split)."""
    from radllama.core.config import load_config
    from radllama.training import TrainConfig

    checkpoints = WORK / "run" / "checkpoints"
    resume = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    # none_clears: None must switch the recipe's ROUGE-L evaluation off, not be skipped
    return load_config(TrainConfig, RECIPE, dict(
        data=str(data_dir), model=str(base), output_dir=str(WORK / "run"),
        max_steps=total_steps, learning_rate=demo_config().lora_learning_rate,
        eval_steps=None, generative_eval={"rows": 0}, metric_for_best_model=None,
        save_steps=10**6, save_total_limit=100, resume=resume,
    ), none_clears=True)  # fmt: skip


class Milestones(TrainerCallback):
    """Checkpoint at each milestone step (step 0: the untrained adapter, to STEP0); after
    `seconds`, checkpoint and stop (the end of a piece)."""

    def __init__(self, seconds: float, steps: list[int]) -> None:
        self.deadline = time.monotonic() + seconds
        self.steps = set(steps)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if 0 in self.steps and state.global_step == 0 and not STEP0.is_dir():
            model.save_pretrained(str(STEP0))
            (STEP0 / "trainer_state.json").write_text(json.dumps({"log_history": []}))

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
    steps = milestones(args.total_steps, args.milestones)
    session = prepare_training(config, callbacks=[Milestones(60 * args.minutes, steps)])
    template = {
        "method": config.method, "base_model": session.plan.model,
        "prompt_style": session.plan.prompt_style.model_dump(mode="json"),
        "data_manifest_hash": session.plan.dataset.data_hash, "seed": config.seed,
        "config": config.model_dump(mode="json"),
        "hyperparameters": {"precision": session.plan.resolved.precision},
    }  # fmt: skip
    (WORK / "run_template.json").write_text(json.dumps(template, indent=2))
    info = json.loads(RUN_INFO.read_text()) if RUN_INFO.is_file() else {"pieces": []}
    info.update(total_steps=args.total_steps, milestones=steps,
                precision=session.plan.resolved.precision,
                epoch_tokens=session.data.stats["train"]["tokens"],
                packing=session.packing)  # fmt: skip
    started = time.monotonic()
    session.trainer.train(resume_from_checkpoint=session.checkpoint)
    seconds = time.monotonic() - started
    state = session.trainer.state  # train() replaces the state object
    first = int(session.checkpoint.rsplit("-", 1)[1]) if session.checkpoint else 0
    info["pieces"].append({"from_step": first, "to_step": state.global_step,
                           "seconds": round(seconds, 1), "cpu": cpu_name(),
                           "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"})  # fmt: skip
    RUN_INFO.write_text(json.dumps(info, indent=2))
    log(f"trained steps {first}..{state.global_step} of {args.total_steps} in {seconds:.0f} s "
        f"({(seconds / max(1, state.global_step - first)):.2f} s/step incl. checkpoints; "
        f"precision {session.plan.resolved.precision.get('choice')})")  # fmt: skip


def milestone_dirs() -> dict[int, Path]:
    """Step -> adapter dir: step 0, every milestone and the step where a piece stopped."""
    found = {0: STEP0} if STEP0.is_dir() else {}
    for path in (WORK / "run" / "checkpoints").glob("checkpoint-*"):
        found[int(path.name.split("-")[1])] = path
    return dict(sorted(found.items()))


def tokens_at(checkpoint: Path) -> int:
    """Real (non-pad) training tokens seen by this checkpoint: TRL's num_tokens logged at its
    step (the milestones are multiples of logging_steps), else scaled from the last log."""
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    seen = [(e["step"], e["num_tokens"]) for e in state["log_history"] if "num_tokens" in e]
    if not seen:
        return 0
    step, tokens = seen[-1]
    return round(tokens * state["global_step"] / step)


def per_row_rouge(path: Path) -> dict[str, float]:
    """report_id -> ROUGE-L of that row's prediction (a failed row scores 0)."""
    from radllama.core.jsonl import read_jsonl
    from radllama.evaluate.lexical import rouge_l

    rows = list(read_jsonl(path))
    scores = rouge_l([r.get("prediction") or "" for r in rows], [r["reference"] for r in rows])
    return {str(r["report_id"]): s for r, s in zip(rows, scores, strict=True)}


def score_piece(args) -> None:
    from radllama.core.artifacts import RUN_FILE
    from radllama.generation.generate import GenerateConfig, generate_predictions

    data_dir, _ = prepared()
    view_data = subset(data_dir, args.rows)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"points": {}}
    if results.get("rows", args.rows) != args.rows:
        raise SystemExit(f"results.json was scored on {results['rows']} rows; pass --rows "
                         f"{results['rows']} or delete {RESULTS}")  # fmt: skip
    results["rows"] = args.rows
    template = json.loads((WORK / "run_template.json").read_text())
    deadline = time.monotonic() + 60 * args.minutes
    baselines(view_data, results)
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
        preds = WORK / "preds" / f"lora-k2-step-{step}.jsonl"
        began = time.monotonic()
        generate_predictions(GenerateConfig(
            data=view_data / "test.jsonl", out=preds, model=view, system=f"lora-k2-{step}",
            max_new_tokens=48, batch_size=16,
        ))  # fmt: skip
        scores = per_row_rouge(preds)
        results["points"][str(step)] = {
            "tokens": tokens_at(checkpoint), "rougeL": sum(scores.values()) / len(scores),
            "rows": len(scores), "generation_s": round(time.monotonic() - began, 1),
            "per_row": scores,
        }  # fmt: skip
        RESULTS.write_text(json.dumps(results, indent=2))
        log(f"step {step}: ROUGE-L {results['points'][str(step)]['rougeL']:.4f}")


def baselines(data_dir: Path, results: dict) -> None:
    """TF-IDF and dense 1-NN copies and the consensus picks on the same validate rows."""
    from radllama.generation.baselines import BaselinesConfig, run_baselines

    if "baselines" in results:
        return
    out = WORK / "preds"
    run_baselines(BaselinesConfig(data=data_dir, out_dir=out, systems=BASELINES))
    results["baselines"] = {}
    for system in BASELINES:
        scores = per_row_rouge(out / f"{system}.jsonl")
        results["baselines"][system] = {"rougeL": sum(scores.values()) / len(scores),
                                        "per_row": scores}  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2))


def paired_difference(a: dict[str, float], b: dict[str, float], seed: int = 0) -> tuple:
    """Mean of a - b over the shared rows and its 95% paired bootstrap interval (2,000 draws).

    >>> paired_difference({"1": 0.5, "2": 0.7}, {"1": 0.5, "2": 0.5})[0]
    0.1
    """
    keys = sorted(set(a) & set(b))
    diffs = [a[k] - b[k] for k in keys]
    rng = random.Random(seed)
    means = sorted(sum(rng.choice(diffs) for _ in diffs) / len(diffs) for _ in range(2000))
    return round(sum(diffs) / len(diffs), 10), means[49], means[1949]


def crossing(points: list[tuple[int, float, int]], target: float) -> str:
    """Where ROUGE-L = a + b ln(tokens), fitted to the points with tokens > 0, reaches
    `target`: an extrapolation, said as one."""
    fit = [(math.log(t), r) for t, r, _ in points if t > 0]
    if any(r >= target for _, r, _ in points):
        step = next(s for _, r, s in points if r >= target)
        return f"crossed by step {step}"
    if len(fit) < 2:
        return "not crossed; too few points to extrapolate"
    mx = sum(x for x, _ in fit) / len(fit)
    my = sum(y for _, y in fit) / len(fit)
    slope = sum((x - mx) * (y - my) for x, y in fit) / sum((x - mx) ** 2 for x, _ in fit)
    if slope <= 0:
        return "not crossed; the fitted trend does not rise, no crossing to extrapolate"
    tokens = math.exp(mx + (target - my) / slope)
    last = max(t for t, _, _ in points)
    if tokens > 100 * last:
        return (
            f"not crossed within budget; the fitted slope ({slope:.3f} ROUGE-L per e-fold of "
            f"tokens) would need > 100x the {last / 1e6:.2f} M tokens trained"
        )
    return (
        f"not crossed within budget; a log-linear fit of the points after step 0 reaches it at "
        f"~{tokens / 1e6:.2f} M tokens ({tokens / last:.1f}x the tokens trained; "
        "extrapolated)"
    )


def report(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(RESULTS.read_text())
    info = json.loads(RUN_INFO.read_text())
    points = sorted(results["points"].items(), key=lambda kv: int(kv[0]))
    # TRL's num_tokens restarts at 0 in a resumed process: add the tokens at the piece's start
    for piece in sorted(info["pieces"], key=lambda p: p["from_step"]):
        start = results["points"].get(str(piece["from_step"]))
        for step, point in points:
            if start and piece["from_step"] < int(step) <= piece["to_step"]:
                point["tokens"] += start["tokens"]
    steps = [int(s) for s, _ in points]
    tokens = [p["tokens"] / 1e6 for _, p in points]
    rouge = [p["rougeL"] for _, p in points]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(tokens, rouge, "o-", color="C0", label="LoRA k=2 (dense neighbours), greedy")
    styles = {"retrieval-tfidf": ("C1", "--"), "retrieval-dense": ("C2", "--"),
              "retrieval-consensus": ("C3", ":"), "retrieval-consensus-dense": ("C4", ":")}  # fmt: skip
    for system, value in results["baselines"].items():
        color, style = styles.get(system, ("grey", "-."))
        ax.axhline(value["rougeL"], color=color, linestyle=style,
                   label=f"{system} {value['rougeL']:.3f}")  # fmt: skip
    for step, x, y in zip(steps, tokens, rouge, strict=True):
        ax.annotate(f"{step}", (x, y), textcoords="offset points", xytext=(0, -12), fontsize=7,
                    ha="center")  # fmt: skip
    ax.set_xlabel("training tokens (millions, real tokens; labels: optimizer steps)")
    ax.set_ylabel(f"ROUGE-L, first {results['rows']} Open-i validate rows")
    ax.set_title("SmolLM2-135M-Instruct, retrieval recipe: ROUGE-L vs training tokens")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(PNG, dpi=110)
    tfidf = results["baselines"]["retrieval-tfidf"]["per_row"]
    rows = []
    for s, p in points:
        diff, low, high = paired_difference(p["per_row"], tfidf)
        rows.append(
            f"| {s} | {p['tokens']:,} | {p['tokens'] / info['epoch_tokens']:.2f} | "
            f"{p['rougeL']:.4f} | {diff:+.3f} [{low:+.3f}, {high:+.3f}] | {p['generation_s']:.0f} |"
        )
    base_line = ", ".join(f"{k} {v['rougeL']:.4f}" for k, v in results["baselines"].items())
    curve = [(p["tokens"], p["rougeL"], int(s)) for s, p in points]
    readings = [f"- vs {k} ({v['rougeL']:.4f}): {crossing(curve, v['rougeL'])}."
                for k, v in results["baselines"].items()]  # fmt: skip
    pieces = info["pieces"]
    trained = sum(p["to_step"] - p["from_step"] for p in pieces)
    seconds = sum(p["seconds"] for p in pieces)
    precision = info["precision"] or {}
    piece_text = ", ".join(
        f"{p['from_step']}-{p['to_step']} at {p['seconds'] / max(1, p['to_step'] - p['from_step']):.1f} s/step ({p['date']})"
        for p in pieces
    )
    section = "\n".join([
        f"\n## Learning curve: Open-i validate ROUGE-L vs training tokens (issue 18; "
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu_name()}, 2 shared cores)\n",
        "`python benchmarks/learning_curve.py train|score|report` - one run of "
        "configs/smollm2-retrieval-cpu.yaml (k=2 dense neighbours, LoRA top 8 layers, lr "
        f"{demo_config().lora_learning_rate:g} cosine over {info['total_steps']} steps, 2 x 384-token "
        f"packed rows per step) on the Open-i train split; `bf16: auto` chose "
        f"**{precision.get('choice')}** ({precision.get('reason')}). Training: {trained} steps in "
        f"{seconds:.0f} s; pieces {piece_text} (s/step incl. checkpoint saves; other jobs "
        "shared the 2 cores). "
        f"Each milestone's adapter answers the first {results['rows']} validate rows (greedy, "
        "<= 48 new tokens, batch 16); per-sample ROUGE-L, no stemming. Points lie along one "
        "cosine schedule (not separate runs of that length). Plot: "
        "benchmarks/learning_curve_openi.png.\n",
        f"Baselines on the same rows: {base_line}.\n",
        "| step | training tokens | epochs | ROUGE-L | vs TF-IDF copy [95% paired bootstrap] "
        "| generation s |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        *readings,
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


def set_paths(args) -> None:
    global WORK, RESULTS, RUN_INFO, STEP0, RECIPE, PNG
    WORK, RECIPE = args.work.resolve(), args.recipe.resolve()
    RESULTS, RUN_INFO, STEP0 = WORK / "results.json", WORK / "run_info.json", WORK / "step-0"
    if args.data:
        GIVEN.update(data=args.data.resolve(), base=args.base.resolve())
        PNG = WORK / PNG.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "score", "report"])
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-clock piece length")
    parser.add_argument("--total-steps", type=int, default=200, help="cosine schedule length")
    parser.add_argument(
        "--milestones", type=lambda s: [int(x) for x in s.split(",")],
        default=[0, 25, 50, 100], help="steps to checkpoint (and the last step)",
    )  # fmt: skip
    parser.add_argument("--rows", type=int, default=80, help="validate rows scored")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--work", type=Path, default=WORK, help="working folder")
    parser.add_argument("--data", type=Path, help="a prepared + indexed DATA_DIR (smoke test)")
    parser.add_argument("--base", type=Path, help="its base model dir (smoke test)")
    parser.add_argument("--recipe", type=Path, default=RECIPE, help="SFT recipe")
    args = parser.parse_args()
    set_paths(args)
    {"train": train_piece, "score": score_piece, "report": report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
