"""The main job, end to end on the embedded default (or on real data via a config).

synthesise -> prepare -> base model -> QLoRA + full SFT -> generate (base zero-shot, QLoRA,
full, retrieval and most-frequent baselines) -> evaluate -> Table-1 report.

Every step writes into `out_dir` and is skipped when its output already exists, so an
interrupted demo resumes where it stopped (generation resumes row by row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field

from radllama.artifacts import RUN_FILE
from radllama.config import StrictModel


class DemoConfig(StrictModel):
    """What `radllama demo` runs. Defaults fit 2 CPU cores in about 15 minutes."""

    input: Path | None = Field(None, description="Report export to use; None = synthesise one.")
    preset: str = Field("mgh", description="Ingest preset for `input` (mgh, iu-xray, openi, ...).")
    test_input: Path | None = Field(
        None, description="Separate file whose rows all form the test split (e.g. Open-i validate)."
    )
    synth_reports: int = Field(6000, ge=100, description="Synthetic reports when input is None.")
    seed: int = Field(0, description="Seed for every stage.")
    test_size: int = Field(120, ge=1, description="Test reports (paper: 2,114).")
    base_size: Literal["micro", "tiny", "small"] = Field("tiny", description="Embedded base model.")
    base_steps: int = Field(400, ge=1, description="Pretraining steps (upper bound).")
    base_minutes: float = Field(2.5, gt=0, description="Pretraining wall-clock budget.")
    train_steps: int = Field(250, ge=1, description="SFT steps per method (upper bound).")
    methods: list[Literal["full", "lora", "qlora"]] = Field(
        ["qlora", "full"], description="Fine-tuning methods to compare (paper: QLoRA and full)."
    )
    full_learning_rate: float = Field(1e-3, gt=0, description="Peak LR for full fine-tuning.")
    lora_learning_rate: float = Field(3e-3, gt=0, description="Peak LR for LoRA / QLoRA.")
    max_new_tokens: int = Field(64, ge=1, description="Generation length cap.")
    metrics: list[str] = Field(
        ["rougeL", "bertscore", "clinical"], description="Metrics for `evaluate`."
    )


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
    from radllama.prepare import load_prepare_config, prepare

    corpus = config.input
    if corpus is None:
        from radllama.synth import synthesize

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
            audit=out / "data-test.deid_audit.json",
        )
    )
    log(f"prepare train: {_counts_line(train_part.manifest)}")
    log(f"prepare test:  {_counts_line(test_part.manifest)}")
    _join_data_dirs(out / "data-train", out / "data-test", data_dir)
    return data_dir


def _counts_line(manifest: dict) -> str:
    from radllama.artifacts import DataManifest

    counts = DataManifest.parse(manifest, "prepare result").counts
    sizes = ", ".join(f"{name} {n}" for name, n in counts.splits.items())
    return f"{counts.input_rows} input rows, {sum(counts.dropped.values())} dropped -> {sizes}"


def _join_data_dirs(train_dir: Path, test_dir: Path, out: Path) -> None:
    """DATA_DIR with train/eval from `train_dir` and test from `test_dir` (manifests kept)."""
    import json
    import shutil

    from radllama.artifacts import DataManifest, OutputFile
    from radllama.jsonl import read_jsonl
    from radllama.provenance import file_sha256, json_sha256

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(train_dir / "train.jsonl", out / "train.jsonl")
    shutil.copyfile(train_dir / "eval.jsonl", out / "eval.jsonl")
    # The split never empties train completely, so gather every kept row of the test input.
    with open(out / "test.jsonl", "w", encoding="utf-8") as test_file:
        for split in ("test", "eval", "train"):
            for row in read_jsonl(test_dir / f"{split}.jsonl"):
                test_file.write(json.dumps(dict(row, split="test"), ensure_ascii=False) + "\n")
    manifest = DataManifest.read(train_dir)
    test_manifest = DataManifest.read(test_dir)
    manifest.test_source = {"dir": str(test_dir), "manifest": test_manifest.to_json()}
    manifest.data_hash = json_sha256([manifest.data_hash, test_manifest.data_hash])
    manifest.outputs = {  # what readers check: the joined files, written before the manifest
        name: OutputFile(bytes=(out / name).stat().st_size, sha256=file_sha256(out / name))
        for name in ("train.jsonl", "eval.jsonl", "test.jsonl")
    }
    manifest.write(out)


def _train(config: DemoConfig, method: str, data_dir: Path, base_dir: Path, run_dir: Path) -> dict:
    """One SFT run with the tiny-CPU recipe (configs/tiny-cpu.yaml), sized by the demo config."""
    from radllama.config import validate_config
    from radllama.train import TrainConfig, train

    train_config = validate_config(
        TrainConfig,
        {
            "method": method,
            "data": str(data_dir),
            "model": str(base_dir),
            "output_dir": str(run_dir),
            "max_steps": config.train_steps,
            "seed": config.seed,
            # 512-token packed rows x 4 = 2,048 tokens/step (~10 pairs); see configs/tiny-cpu.yaml.
            "max_length": 512,
            "per_device_train_batch_size": 4,
            "learning_rate": config.full_learning_rate
            if method == "full"
            else config.lora_learning_rate,
            "warmup_ratio": 0.05,
            "gradient_checkpointing": False,
            "bf16": False,
            "attn_implementation": "sdpa",
            "eval_steps": max(1, config.train_steps // 2),
            "logging_steps": max(1, config.train_steps // 10),
            "save_steps": config.train_steps,
            "report_to": "none",
        },
        source="demo",
    )
    return train(train_config)


def run_demo(config: DemoConfig, out: Path, log: Callable[[str], None] = print) -> dict:
    """The whole pipeline; returns the report dict (and writes out/report/)."""
    from radllama.base import BaseConfig, build_base, describe

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    data_dir = _prepare_data(config, out, log)

    base_dir = out / "base"
    base_config = BaseConfig(
        size=config.base_size,
        max_steps=config.base_steps,
        max_minutes=config.base_minutes,
        seed=config.seed,
    )
    _step(
        f"pretrain the embedded {config.base_size} base model",
        (base_dir / "config.json").is_file(),
        lambda: log(describe(build_base(data_dir, base_dir, base_config))),
        log,
    )

    models = {"base-zero-shot": base_dir}
    for method in config.methods:
        run_dir = out / "runs" / method
        models[method] = run_dir
        _step(
            f"fine-tune ({method})",
            (run_dir / RUN_FILE).is_file(),
            lambda m=method, r=run_dir: _log_run(_train(config, m, data_dir, base_dir, r), log),
            log,
        )

    preds = _generate_all(config, data_dir, models, out / "preds", log)
    scores = _evaluate_all(config, data_dir, preds, out / "scores", log)

    from radllama.report import build_report, render_markdown_table

    report = build_report(scores, out / "report", title="radllama demo: impressions from findings")
    log("")
    log(render_markdown_table(report))
    log(f"\nreport: {out / 'report' / 'report.md'} (and report.html, report.json)")
    log(f"demo finished in {(time.monotonic() - started) / 60:.1f} min")
    return report


def _log_run(record: dict, log: Callable[[str], None]) -> None:
    metrics = record.get("final_metrics", {})
    shown = {
        k: metrics.get(k) for k in ("first_logged_loss", "last_logged_loss", "eval_loss", "steps")
    }
    log(f"  {record.get('method')}: {shown}")


def _generate_all(
    config: DemoConfig,
    data_dir: Path,
    models: dict[str, Path],
    out: Path,
    log: Callable[[str], None],
) -> dict[str, Path]:
    """PREDS.jsonl per system: the models through `generate`, the baselines through `baselines`."""
    from radllama.baselines import BaselinesConfig, run_baselines
    from radllama.generate import GenerateConfig, generate_predictions

    out.mkdir(parents=True, exist_ok=True)
    preds: dict[str, Path] = {}
    for system, model_dir in models.items():
        path = out / f"{system}.jsonl"
        summary = generate_predictions(
            GenerateConfig(
                data=data_dir / "test.jsonl",
                out=path,
                model=model_dir,
                system=system,
                max_new_tokens=config.max_new_tokens,
                batch_size=32,
            )
        )
        log(f"generate {summary.describe()}")
        preds[system] = path
    baselines = run_baselines(BaselinesConfig(data=data_dir, out_dir=out))
    for system, info in baselines.items():
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
    from radllama.artifacts import DataManifest
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
