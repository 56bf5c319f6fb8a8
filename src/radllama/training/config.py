"""`TrainConfig`: the typed supervised fine-tuning config (YAML is only its serialisation).

Field names follow TRL `SFTConfig` / transformers `TrainingArguments` where one exists, so a
reader who knows those libraries knows this file. Hardware-dependent values (`bf16`,
`attn_implementation`, the 4-bit compute dtype) default to `"auto"` / `None` and are resolved
by `radllama.training.hardware` for the machine the run is on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from radllama.core.config import StrictModel

Method = Literal["full", "lora", "qlora"]


class LoraSettings(StrictModel):
    """PEFT LoRA adapter shape (used by `lora` and `qlora`)."""

    r: int = Field(16, ge=1, description="Rank of the low-rank update.")
    alpha: int = Field(32, ge=1, description="LoRA alpha; the update is scaled by alpha / r.")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: str | list[str] = Field(
        "all-linear",
        description="Modules that get adapters: 'all-linear' (every linear layer but the LM head, "
        "as in QLoRA) or a list of module names such as [q_proj, v_proj].",
    )
    top_layers: int | None = Field(
        None,
        ge=1,
        description="Adapters on the last N decoder layers only (None: every layer). The layers "
        "below need no backward pass, so a CPU step costs about forward + N/L of a backward.",
    )


class QuantizationSettings(StrictModel):
    """bitsandbytes 4-bit quantisation of the frozen base (used by `qlora`)."""

    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type (QLoRA: NF4).")
    double_quant: bool = Field(True, description="Quantise the quantisation constants too.")
    compute_dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto",
        description="Matmul dtype of the 4-bit layers; auto = bfloat16 on GPU, float32 on CPU.",
    )
    quant_storage: Literal["uint8", "bfloat16", "float16", "float32"] = Field(
        "uint8",
        description="Storage dtype of packed 4-bit weights. Set it to the dtype of the other "
        "parameters (bfloat16) when sharding QLoRA with FSDP or DeepSpeed ZeRO-3 (PEFT docs).",
    )


class WatchdogSettings(StrictModel):
    """When to stop a run whose loss has gone wrong."""

    enabled: bool = Field(True, description="Check every logged loss.")
    divergence_factor: float = Field(
        5.0,
        gt=1,
        description="Stop when a logged loss exceeds this multiple of the lowest logged loss so far.",
    )


class GenerativeEvalSettings(StrictModel):
    """ROUGE-L during training (radllama.training.generative_eval): at every `eval_steps`,
    greedy batched impressions for a fixed subset of the eval split."""

    rows: int = Field(
        0,
        ge=0,
        description="Eval rows generated at each evaluation (0 = off); more rows than the eval "
        "split has are clamped to it, with a message. Its time is paid from the step budget.",
    )
    max_new_tokens: int = Field(48, ge=1, description="Generation length cap (tokens).")
    batch_size: int = Field(16, ge=1, description="Prompts per generate call.")


# metric_for_best_model -> what computes it
BEST_MODEL_METRICS = {"rougeL": "generative_eval.rows > 0", "loss": "the eval split"}


class TrainConfig(StrictModel):
    """Supervised fine-tuning of a causal LM on a `radllama prepare` dataset directory."""

    # -- what to train on, and where the result goes
    model: str | None = Field(
        None,
        description="Base model: a local Hugging Face model directory (or a hub id when online).",
    )
    data: str | None = Field(None, description="Dataset directory written by `radllama prepare`.")
    output_dir: str | None = Field(None, description="Run directory (model or adapter + run file).")
    method: Method = Field("qlora", description="full | lora | qlora.")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA adapter shape.")
    quantization: QuantizationSettings = Field(
        default_factory=QuantizationSettings, description="4-bit settings for qlora."
    )

    # -- sequences and packing
    max_length: int = Field(
        2048, ge=16, description="Tokens per packed row (paper: 2048); longer pairs are dropped."
    )
    packing: bool = Field(
        True, description="Best-fit-decreasing packing with position_ids restarting per sequence."
    )
    cache_dir: str | None = Field(
        None,
        description="Tokenisation cache root; default $RADLLAMA_CACHE or ~/.cache/radllama/tokenized.",
    )
    dataset_num_proc: int | None = Field(None, ge=1, description="Processes for tokenising.")

    # -- retrieval-augmented SFT (radllama index DATA_DIR first)
    num_examples: int = Field(
        0,
        ge=0,
        description="k similar training reports put in each prompt (0 = none); they come from "
        "the index under the leakage rules (never itself, a duplicate or the same patient).",
    )
    index: str | None = Field(
        None, description="Retrieval index (DATA_DIR or DATA_DIR/index); default: DATA_DIR/index."
    )
    example_max_words: int = Field(
        60, ge=1, description="Each example's FINDINGS is cut to this many words (tokens/row)."
    )

    # -- optimisation
    per_device_train_batch_size: int = Field(
        1, ge=1, description="Packed rows per device per micro-step."
    )
    per_device_eval_batch_size: int = Field(1, ge=1, description="Packed rows per eval batch.")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Micro-steps per optimizer step.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    lr_scheduler_type: Literal["cosine", "linear", "constant_with_warmup"] = Field(
        "cosine", description="Decay after warm-up."
    )
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Share of steps for linear warm-up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    num_train_epochs: float = Field(1.0, gt=0, description="Epochs (ignored when max_steps > 0).")
    max_steps: int = Field(-1, description="Optimizer steps; -1 = run num_train_epochs.")
    seed: int = Field(42, description="Seed for init, LoRA init, data order and dropout.")

    # -- hardware
    gradient_checkpointing: bool = Field(True, description="Recompute activations in backward.")
    bf16: bool | Literal["auto"] = Field(
        "auto",
        description="bf16 mixed precision. auto: on a GPU with bf16; on a CPU with native bf16 "
        "(AVX-512 BF16 / AMX) when a start-up matmul measures it >= 1.5x faster than fp32 "
        "(radllama.model.precision); fp32 elsewhere. true / false force it.",
    )
    attn_implementation: Literal[
        "auto", "sdpa", "eager", "flash_attention_2", "flash_attention_3"
    ] = Field("auto", description="auto = flash_attention_2 on GPU when installed, else sdpa.")

    # -- evaluation, logging, checkpoints
    eval_steps: int | None = Field(
        50, ge=1, description="Evaluate every N steps (None = only at the end)."
    )
    logging_steps: int = Field(10, ge=1, description="Log (and check the loss) every N steps.")
    save_steps: int = Field(200, ge=1, description="Checkpoint every N steps.")
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept in RUN_DIR/checkpoints.")
    report_to: Literal["auto", "none", "tensorboard", "wandb"] | list[str] = Field(
        "auto", description="auto = tensorboard and/or wandb when installed, else none."
    )
    generative_eval: GenerativeEvalSettings = Field(
        default_factory=GenerativeEvalSettings, description="ROUGE-L during training."
    )
    metric_for_best_model: str | None = Field(
        None,
        description="Keep the checkpoint that is best by this eval metric and make it the run's "
        "model: rougeL (needs generative_eval.rows > 0) or loss; None = the last step's weights.",
    )
    watchdog: WatchdogSettings = Field(
        default_factory=WatchdogSettings, description="Loss watchdog."
    )
    resume: bool = Field(False, description="Continue from the last checkpoint in RUN_DIR.")

    @field_validator("bf16", mode="before")
    @classmethod
    def _bf16_null_is_auto(cls, value):
        return "auto" if value is None else value  # run files before `auto` saved null

    @model_validator(mode="after")
    def _best_model_metric_is_computed(self):
        metric = self.metric_for_best_model
        if metric is None:
            return self
        name = metric.removeprefix("eval_")
        if name not in BEST_MODEL_METRICS:
            raise ValueError(
                f"metric_for_best_model {metric!r} is not computed during training; use one "
                f"of {sorted(BEST_MODEL_METRICS)}"
            )
        if self.eval_steps is None:
            raise ValueError(f"metric_for_best_model {metric!r} needs eval_steps (now null)")
        if name == "rougeL" and not self.generative_eval.rows:
            raise ValueError(
                "metric_for_best_model 'rougeL' needs generative_eval.rows > 0 (now 0)"
            )
        return self

    def tokens_per_step(self, world_size: int = 1) -> int:
        """Upper bound of tokens per optimizer step: rows x max_length x accumulation x devices."""
        return (
            self.per_device_train_batch_size
            * self.max_length
            * self.gradient_accumulation_steps
            * world_size
        )
