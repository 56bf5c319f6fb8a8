"""Supervised fine-tuning (full / LoRA / QLoRA) with TRL's SFTTrainer: the public API.

>>> from radllama.core.config import load_config
>>> from radllama.training.config import TrainConfig
>>> config = load_config(TrainConfig, None, {"method": "lora", "max_steps": 10})
>>> config.lora.target_modules
'all-linear'

`train(config)` writes RUN_DIR (docs/ARCHITECTURE.md) and returns the run record;
`dry_run(config)` shows the resolved arguments without loading weights. The work is split
over `radllama.training.*` (config, data + tokenisation cache, packing statistics, callbacks,
model/PEFT/quantisation, arguments, run orchestration, model card).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Lazy (PEP 562): `radllama.training.config` stays importable without torch, so the CLI can
# build its options from TrainConfig without loading the training stack.
_EXPORTS = {
    "GenerativeEvalSettings": "config",
    "LoraSettings": "config",
    "QuantizationSettings": "config",
    "TrainConfig": "config",
    "WatchdogSettings": "config",
    "RUN_FILE": "run",
    "TrainingDiverged": "run",
    "dry_run": "run",
    "end_distributed": "run",
    "prepare_training": "run",
    "train": "run",
    "weights_digest": "run",
}

if TYPE_CHECKING:
    from radllama.training.config import (
        GenerativeEvalSettings,
        LoraSettings,
        QuantizationSettings,
        TrainConfig,
        WatchdogSettings,
    )
    from radllama.training.run import (
        RUN_FILE,
        TrainingDiverged,
        dry_run,
        end_distributed,
        prepare_training,
        train,
        weights_digest,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "RUN_FILE",
    "GenerativeEvalSettings",
    "LoraSettings",
    "QuantizationSettings",
    "TrainConfig",
    "TrainingDiverged",
    "WatchdogSettings",
    "dry_run",
    "end_distributed",
    "prepare_training",
    "train",
    "weights_digest",
]
