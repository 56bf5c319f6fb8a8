"""TrainConfig -> TRL `SFTConfig` (which is a transformers `TrainingArguments`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from radllama.training.config import TrainConfig
from radllama.training.hardware import Hardware, Resolved

CHECKPOINTS = "checkpoints"


def report_to(value: str | list[str]) -> list[str]:
    """`auto` -> the trackers that are installed (tensorboard, wandb), else none."""
    if isinstance(value, list):
        return value
    if value == "none":
        return []
    if value == "auto":
        installed = {"tensorboard": "tensorboard", "wandb": "wandb"}
        return [name for name, module in installed.items() if importlib.util.find_spec(module)]
    return [value]


def build_sft_config(config: TrainConfig, run_dir: str | Path, resolved: Resolved, hw: Hardware):
    """The SFTConfig for this run. Creating it before the model matters under ZeRO-3: it
    registers the DeepSpeed config so `from_pretrained` loads straight into shards."""
    from trl import SFTConfig

    cpu = hw.device == "cpu"
    eval_every = config.eval_steps is not None
    best = config.metric_for_best_model
    best = best and best.removeprefix("eval_")
    # load_best_model_at_end needs a checkpoint at every evaluation, so the best one exists
    save_steps = config.eval_steps if best else config.save_steps
    return SFTConfig(
        output_dir=str(Path(run_dir) / CHECKPOINTS),
        # data: labels and BFD packing are prepared by radllama.training.packing with TRL's
        # pack_dataset (in larger batches than SFTTrainer uses); packing + "bfd" still selects
        # TRL's padding-free collator (position_ids restarting at each packed sequence).
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=config.max_length,
        packing=config.packing,
        packing_strategy="bfd",
        completion_only_loss=True,
        dataset_num_proc=config.dataset_num_proc,
        shuffle_dataset=False,  # the Trainer's seeded sampler shuffles packed rows each epoch
        # optimisation
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        seed=config.seed,
        data_seed=config.seed,
        # hardware
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        # DeepSpeed on CPU: transformers refuses bf16 without use_cpu, which DeepSpeed must not see.
        bf16=resolved.bf16 and not (cpu and hw.sharding == "deepspeed"),
        fp16=False,
        # CPU: use_cpu makes accelerate use gloo across processes (MULTI_CPU). DeepSpeed is the
        # exception: it must not see use_cpu, and falls back to gloo through its CPU accelerator.
        use_cpu=cpu and hw.sharding != "deepspeed",
        ddp_backend="gloo" if cpu and hw.distributed else None,
        dataloader_num_workers=0,
        # evaluation, logging, checkpoints
        eval_strategy="steps" if eval_every else "no",
        eval_steps=config.eval_steps,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # the watchdog must see NaN/inf, not a filtered average
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=config.save_total_limit,  # the best checkpoint is kept on top
        metric_for_best_model=best or None,
        greater_is_better=(best == "rougeL") if best else None,
        load_best_model_at_end=bool(best),
        report_to=report_to(config.report_to),
        disable_tqdm=False,
    )


def describe_arguments(args) -> dict[str, object]:
    """The SFTConfig fields a reader checks before launching (for --dry-run and the log)."""
    keys = (
        "output_dir", "max_length", "packing", "packing_strategy", "completion_only_loss",
        "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
        "lr_scheduler_type", "warmup_steps", "num_train_epochs", "max_steps", "seed",
        "gradient_checkpointing", "bf16", "use_cpu", "ddp_backend", "eval_strategy", "eval_steps",
        "logging_steps", "save_steps", "save_total_limit", "report_to", "metric_for_best_model",
        "load_best_model_at_end",
    )  # fmt: skip
    return {key: getattr(args, key) for key in keys}
