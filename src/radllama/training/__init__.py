"""Supervised fine-tuning (full / LoRA / QLoRA) with TRL's SFTTrainer: the public API.

>>> from radllama.core.config import load_config
>>> config = load_config(TrainConfig, None, {"method": "lora", "max_steps": 10})
>>> config.lora.target_modules
'all-linear'

`train(config)` writes RUN_DIR (docs/ARCHITECTURE.md) and returns the run record;
`dry_run(config)` shows the resolved arguments without loading weights. The work is split
over `radllama.training.*` (config, data + tokenisation cache, packing statistics, callbacks,
model/PEFT/quantisation, arguments, run orchestration, model card).
"""

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
    prepare_training,
    train,
    weights_digest,
)

__all__ = [
    "RUN_FILE",
    "GenerativeEvalSettings",
    "LoraSettings",
    "QuantizationSettings",
    "TrainConfig",
    "TrainingDiverged",
    "WatchdogSettings",
    "dry_run",
    "prepare_training",
    "train",
    "weights_digest",
]
