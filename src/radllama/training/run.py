"""`train(config)`: DATA_DIR + base model -> RUN_DIR, with TRL's SFTTrainer.

Order of work: check every input (one-line errors, no weights loaded) -> tokenise or hit the
cache -> build the SFTConfig (before the model, for ZeRO-3) -> load the model -> SFTTrainer
(PEFT adapter for lora/qlora) -> train with the interrupt and watchdog callbacks -> evaluate
-> save model/adapter + tokenizer + `radllama_run.json` + README.md on the main process.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radllama.core.artifacts import RUN_FILE, DataDir, ResumeRecord, RunRecord
from radllama.core.config import dump_config
from radllama.core.errors import ConfigError, RadllamaError
from radllama.core.prompts import PromptStyle
from radllama.core.provenance import file_sha256, package_versions, utc_now
from radllama.training import model as model_lib
from radllama.training.arguments import CHECKPOINTS, build_sft_config, describe_arguments
from radllama.training.callbacks import GracefulInterrupt, LossWatchdog
from radllama.training.card import deid_totals, model_card
from radllama.training.config import TrainConfig
from radllama.training.data import TokenizedData, load_tokenized
from radllama.training.generative_eval import GenerativeEval
from radllama.training.hardware import (
    Hardware,
    Resolved,
    detect_hardware,
    hardware_problems,
    resolve,
)
from radllama.training.lm_head import use_cpu_lm_head
from radllama.training.packing import dataset_packing_stats, training_dataset

logger = logging.getLogger("radllama.training")


class TrainingDiverged(RadllamaError):
    """The loss watchdog stopped the run (NaN/inf or divergence)."""


@dataclass
class RunPlan:
    """Everything decided before any weight is loaded."""

    config: TrainConfig
    hw: Hardware
    resolved: Resolved
    model: str | None = None
    run_dir: Path | None = None
    dataset: DataDir | None = None
    problems: list[str] = field(default_factory=list)
    prompt_style: PromptStyle | None = None  # with k and the index identity when k > 0


def plan_run(config: TrainConfig, strict: bool = True) -> RunPlan:
    """Check model, data, output and hardware. strict: raise the first problem as ConfigError
    (a real run); otherwise collect them (a dry run on a machine other than the target)."""
    hw = detect_hardware()
    plan = RunPlan(config, hw, resolve(config, hw), problems=hardware_problems(config, hw))
    steps = [
        ("model", lambda: model_lib.model_reference(config.model)),
        ("dataset", lambda: DataDir.open_prepared(_required(config.data, "data", "--data DIR"))),
        (
            "run_dir",
            lambda: Path(_required(config.output_dir, "output_dir", "--out DIR")).resolve(),
        ),
    ]
    for name, step in steps:
        try:
            setattr(plan, name, step())
        except RadllamaError as error:
            plan.problems.append(str(error))
    if plan.model:
        try:
            model_lib.check_model_dir(plan.model)
        except RadllamaError as error:
            plan.problems.append(str(error))
    if strict and plan.problems:
        raise ConfigError(plan.problems[0])
    return plan


def _required(value: str | None, key: str, option: str) -> str:
    if not value:
        raise ConfigError(f"no {key}: set `{key}:` in the config or pass {option}")
    return value


def dry_run(config: TrainConfig) -> str:
    """The resolved config and every argument object, built without loading weights."""
    plan = plan_run(config, strict=False)
    args = build_sft_config(config, plan.run_dir or Path("RUN_DIR"), plan.resolved, plan.hw)
    lora = model_lib.lora_config(config)
    quant = model_lib.quantization_config(config, plan.resolved)
    sections = {
        "config": dump_config(config).rstrip(),
        "hardware": f"{plan.hw}",
        "resolved": f"{plan.resolved}",
        "tokens per optimizer step (max)": f"{config.tokens_per_step(plan.hw.world_size):,}",
        "SFTConfig": json.dumps(describe_arguments(args), indent=2, default=str),
        "LoraConfig": json.dumps(lora.to_dict(), indent=2, default=str) if lora else "none (full)",
        "BitsAndBytesConfig": json.dumps(quant.to_dict(), indent=2, default=str)
        if quant
        else "none",
        "problems": "\n".join(f"- {p}" for p in plan.problems) or "none",
    }
    return "\n\n".join(f"## {title}\n{body}" for title, body in sections.items())


@dataclass
class TrainingSession:
    """A ready SFTTrainer and what train() needs around it (also used by the benchmarks and
    the packing tests, which want the exact batches training sees)."""

    plan: RunPlan
    tokenizer: Any
    data: TokenizedData
    trainer: Any
    checkpoint: str | None
    interrupt: GracefulInterrupt
    watchdog: LossWatchdog
    packing: dict[str, Any]
    generative_eval: GenerativeEval | None = None


def prepare_training(config: TrainConfig, callbacks: list | None = None) -> TrainingSession:
    """Checks, tokenisation (or cache hit), run directory, model and SFTTrainer; no step taken."""
    _console_logging()
    plan = plan_run(config)
    precision = plan.resolved.precision or {}
    logger.info("precision: %s (%s)", precision.get("choice"), precision.get("reason"))
    tokenizer = model_lib.load_tokenizer(plan.model)
    # SFTConfig first: it sets up the process group (so the main process alone builds the
    # tokenisation cache) and, under ZeRO-3, lets from_pretrained load straight into shards.
    args = build_sft_config(config, plan.run_dir, plan.resolved, plan.hw)
    examples = _retrieval(config, plan)
    data = load_tokenized(
        plan.dataset, tokenizer, config.max_length, config.cache_dir, config.dataset_num_proc,
        examples=examples,
    )  # fmt: skip
    logger.info(
        "tokenisation cache %s: %s (train %d pairs, eval %d)",
        "HIT" if data.cache_hit else "MISS (built)", data.cache_path,
        data.stats["train"]["kept"], data.stats.get("eval", {}).get("kept", 0),
    )  # fmt: skip
    checkpoint = _prepare_run_dir(plan, data.cache_path.name)
    model = model_lib.load_model(config, plan.model, plan.resolved, plan.hw)
    interrupt = GracefulInterrupt()
    watchdog = LossWatchdog(config.watchdog.divergence_factor)
    guards = [interrupt] + ([watchdog] if config.watchdog.enabled else [])
    rouge = _generative_eval(config, data, tokenizer, plan.resolved.bf16)
    # last: it must see the step count that a budget callback may have just changed
    extra = list(callbacks or []) + ([rouge] if rouge else [])
    trainer = _build_trainer(plan, args, model, tokenizer, data, guards + extra)
    if rouge is not None:
        rouge.trainer = trainer
    packing = {}
    if config.packing:
        packing = dataset_packing_stats(trainer.train_dataset, config.max_length)
        logger.info(
            "packing: %d pairs -> %d rows of %d tokens, efficiency %.2f%% real tokens",
            packing["sequences"], packing["packed_rows"], config.max_length,
            100 * packing["packing_efficiency"],
        )  # fmt: skip
    return TrainingSession(
        plan, tokenizer, data, trainer, checkpoint, interrupt, watchdog, packing, rouge
    )


def _generative_eval(config: TrainConfig, data, tokenizer, bf16: bool) -> GenerativeEval | None:
    """The ROUGE-L callback on a fixed eval subset (clamped to the eval split, with a message)."""
    settings = config.generative_eval
    if not settings.rows:
        return None
    if data.eval is None or config.eval_steps is None:
        raise ConfigError(
            "generative_eval.rows > 0 needs an eval split and eval_steps: prepare the data with "
            "an eval split, set eval_steps, or set generative_eval.rows: 0"
        )
    rows = settings.rows
    if rows > len(data.eval):
        logger.warning(
            "generative_eval.rows %d > the %d rows of the eval split: generating all %d",
            rows, len(data.eval), len(data.eval),
        )  # fmt: skip
        rows = len(data.eval)
    return GenerativeEval(
        data.eval, tokenizer, rows, settings.max_new_tokens, settings.batch_size, bf16
    )


def _retrieval(config: TrainConfig, plan: RunPlan):
    """(style, retriever) for k > 0 examples per prompt, else None; sets plan.prompt_style."""
    from radllama.retrieval.prompting import attach_retrieval

    style = PromptStyle.model_validate(plan.dataset.prompt_style)
    style = style.model_copy(update={"example_max_words": config.example_max_words})
    index = config.index or plan.dataset.path
    style, retriever = attach_retrieval(style, index if config.num_examples else None,
                                        config.num_examples)  # fmt: skip
    plan.prompt_style = style
    if retriever is None:
        return None
    if retriever.meta.train_sha256 != file_sha256(plan.dataset.listed_splits(["train"])["train"]):
        raise ConfigError(
            f"the index at {retriever.folder} was built for another dataset than "
            f"{plan.dataset.path}; run `radllama index {plan.dataset.path}` or fix `index:`"
        )
    return style, retriever


def train(config: TrainConfig, callbacks: list | None = None) -> dict[str, Any]:
    """Fine-tune and write RUN_DIR. Returns the run record (`radllama_run.json` contents), or
    `{"status": "interrupted", ...}` when SIGTERM/SIGINT stopped it after a checkpoint."""
    session = prepare_training(config, callbacks)
    trainer, plan = session.trainer, session.plan
    output = trainer.train(resume_from_checkpoint=session.checkpoint)
    if session.watchdog.problem:
        raise TrainingDiverged(
            f"{session.watchdog.problem}; training stopped and that step was not saved: lower "
            f"learning_rate (now {config.learning_rate:g}) or check the data, then rerun"
        )
    if session.interrupt.stopped_at is not None:
        return _interrupted(plan, session.interrupt)
    if session.generative_eval is not None:
        session.generative_eval.enabled = False  # the kept model's score is already known
    metrics = _final_metrics(trainer, output, session.packing)
    if session.generative_eval is not None:
        metrics["generative_eval"] = session.generative_eval.summary(trainer.state)
    record = _run_record(plan, session.data, metrics, trainer)
    _save_run(trainer, plan, record)
    return record


def end_distributed() -> None:
    """Destroy the process group `accelerate launch` created, while the interpreter is alive.

    Without it gloo's worker threads outlive the interpreter and a rank can abort at exit
    ("terminate called without an active exception", SIGABRT) after a complete run, failing
    the launch (pytorch/pytorch#190489). A no-op outside distributed runs."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _console_logging() -> None:
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[radllama] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = True


def _build_trainer(plan: RunPlan, args, model, tokenizer, data, callbacks):
    import torch
    from trl import SFTTrainer

    config = plan.config
    prepared = {
        name: training_dataset(split, config.max_length, config.packing, config.dataset_num_proc)
        for name, split in (("train", data.train), ("eval", data.eval)) if split is not None
    }  # fmt: skip
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=prepared["train"],
        eval_dataset=prepared.get("eval"),
        processing_class=tokenizer,
        peft_config=model_lib.lora_config(plan.config, model),
        callbacks=callbacks,
    )
    if plan.hw.device == "cpu":
        # TRL's fused LM head scores every position in fp32 torch tiles on a CPU: slower than
        # the rest of a SmolLM2 step and no faster under bf16 (radllama.training.lm_head).
        peft = hasattr(trainer.model, "get_base_model")
        patched = trainer.model.get_base_model() if peft else trainer.model
        if use_cpu_lm_head(patched):
            logger.info("loss head: full logits of the labelled positions (CPU)")
    if plan.config.method == "qlora" and plan.resolved.compute_dtype == "float32":
        # TRL casts QLoRA adapters to bf16 (the QLoRA paper's GPU recipe). On CPU the 4-bit
        # layers compute in fp32, so the adapters stay fp32 (the optimizer does not exist yet).
        for param in trainer.model.parameters():
            if param.requires_grad:
                param.data = param.data.to(torch.float32)
    return trainer


def _prepare_run_dir(plan: RunPlan, data_key: str) -> str | None:
    """Refuse to overwrite a run; on --resume return the last checkpoint after checking that
    everything deciding the data order is unchanged."""
    from accelerate import PartialState
    from transformers.trainer_utils import get_last_checkpoint

    config, run_dir = plan.config, plan.run_dir
    checkpoints = run_dir / CHECKPOINTS
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    order = ResumeRecord(
        method=config.method, seed=config.seed, data_cache_key=data_key,
        max_length=config.max_length, packing=config.packing,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        world_size=plan.hw.world_size,
    )  # fmt: skip
    if config.resume:
        if last is None:
            raise ConfigError(f"--resume: no checkpoint in {checkpoints}; run without --resume")
        saved = ResumeRecord.read_optional(checkpoints) or order
        changed = order.changed(saved)
        if changed:
            raise ConfigError(
                f"--resume: {', '.join(changed)} differ from the interrupted run "
                f"({', '.join(f'{k}={getattr(saved, k)}' for k in changed)}); restore them to resume"
            )
        logger.info("resuming from %s", last)
        return last
    if last is not None:
        raise ConfigError(
            f"{run_dir} holds checkpoints of an earlier run ({Path(last).name}); pass --resume to "
            "continue it or choose a new --out"
        )
    if (run_dir / RUN_FILE).is_file():
        raise ConfigError(f"{run_dir} already holds a finished run; choose a new --out")
    if PartialState().is_main_process:
        checkpoints.mkdir(parents=True, exist_ok=True)
        order.write(checkpoints)
    return None


def _interrupted(plan: RunPlan, interrupt: GracefulInterrupt) -> dict[str, Any]:
    import signal

    checkpoint = plan.run_dir / CHECKPOINTS / f"checkpoint-{interrupt.stopped_at}"
    logger.warning(
        "stopped by %s at step %d; checkpoint %s; continue with --resume",
        signal.Signals(interrupt.requested).name, interrupt.stopped_at, checkpoint,
    )  # fmt: skip
    return {
        "status": "interrupted",
        "signal": signal.Signals(interrupt.requested).name,
        "step": interrupt.stopped_at,
        "checkpoint": str(checkpoint),
        "run_dir": str(plan.run_dir),
    }


def _final_metrics(trainer, output, packing: dict) -> dict[str, Any]:
    history = trainer.state.log_history
    losses = [entry["loss"] for entry in history if "loss" in entry]
    tokens = [entry["num_tokens"] for entry in history if "num_tokens" in entry]
    runtime = output.metrics.get("train_runtime") or 0.0
    eval_loss = None
    if trainer.eval_dataset is not None:
        eval_loss = trainer.evaluate().get("eval_loss")
    return {
        "train_loss": output.training_loss,
        "eval_loss": eval_loss,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "steps": trainer.state.global_step,
        "epochs": round(trainer.state.epoch or 0.0, 3),  # past 1: the order reshuffled
        "packing_efficiency": packing.get("packing_efficiency"),
        "train_tokens": tokens[-1] if tokens else None,
        "tokens_per_second": (tokens[-1] / runtime) if tokens and runtime else None,
        "train_runtime_s": runtime,
    }


def weights_digest(model) -> str:
    """SHA-256 of the trainable parameters (name + raw bytes): equal digests = equal weights."""
    import hashlib

    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda item: item[0]):
        if param.requires_grad:
            digest.update(name.encode())
            digest.update(param.detach().float().cpu().numpy().tobytes())  # bf16 -> fp32 is exact
    return digest.hexdigest()


def _distributed_record(trainer, plan: RunPlan) -> dict[str, Any] | None:
    """Under data parallelism every rank must end with the same weights; check it."""
    if not plan.hw.distributed:
        return None
    record: dict[str, Any] = {"world_size": plan.hw.world_size, "sharding": plan.hw.sharding}
    if plan.hw.sharding != "none":
        return record  # each rank holds a shard; the saved full weights are the check
    from accelerate.utils import gather_object

    digest = weights_digest(trainer.model)
    rank = trainer.accelerator.process_index
    logger.info("rank %d/%d trainable weights sha256 %s", rank, plan.hw.world_size, digest)
    digests = gather_object([digest])
    record.update(weights_sha256_per_rank=digests, ranks_agree=len(set(digests)) == 1)
    return record


def _run_record(plan: RunPlan, data, metrics: dict, trainer) -> dict[str, Any]:
    config = plan.config
    hyperparameters = {
        "learning_rate": config.learning_rate, "lr_scheduler_type": config.lr_scheduler_type,
        "warmup_ratio": config.warmup_ratio, "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps, "per_device_train_batch_size": config.per_device_train_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "world_size": plan.hw.world_size, "max_length": config.max_length,
        "tokens_per_step_max": config.tokens_per_step(plan.hw.world_size),
        "packing": config.packing, "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm, "gradient_checkpointing": config.gradient_checkpointing,
        "bf16": plan.resolved.bf16, "attn_implementation": plan.resolved.attn_implementation,
        # how bf16 was chosen: forced, GPU, or measured on this CPU (both matmul timings)
        "precision": plan.resolved.precision, "model_dtype": plan.resolved.model_dtype,
    }  # fmt: skip
    if config.method != "full":
        hyperparameters.update({f"lora_{k}": v for k, v in config.lora.model_dump().items()})
    record = RunRecord(
        method=config.method,
        base_model=plan.model,
        hyperparameters=hyperparameters,
        # generation must render prompts as training did (with k and the index when k > 0)
        prompt_style=plan.prompt_style or plan.dataset.prompt_style,
        data_manifest_hash=plan.dataset.data_hash,
        package_versions=package_versions(),
        seed=config.seed,
        final_metrics=metrics,
        config=config.model_dump(mode="json"),
        quantization=model_lib.quantization_record(config, plan.resolved),
        data={
            "dir": str(plan.dataset.path.resolve()),
            "stats": data.stats,
            "cache": {"hit": data.cache_hit, "path": str(data.cache_path)},
            "deid_audit_totals": deid_totals(plan.dataset.path),
        },
        distributed=_distributed_record(trainer, plan),
        status="completed",
        created=utc_now(),
    )
    return record.to_json()


def _save_run(trainer, plan: RunPlan, record: dict[str, Any]) -> None:
    """Model or adapter + tokenizer (collective under FSDP/ZeRO-3), then the run file and card."""
    if getattr(trainer, "is_fsdp_enabled", False):
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    trainer.save_model(str(plan.run_dir))
    if trainer.is_world_process_zero():
        RunRecord.parse(record, RUN_FILE).write(plan.run_dir)
        (plan.run_dir / "README.md").write_text(model_card(record))
        logger.info("saved %s run to %s", plan.config.method, plan.run_dir)
    trainer.accelerator.wait_for_everyone()
