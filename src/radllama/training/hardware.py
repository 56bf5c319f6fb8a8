"""What this machine (or this process of a distributed launch) can run, and the checks that
turn an impossible request (bf16 on a CPU without native bf16, flash-attention on a CPU) into
a one-line error. `bf16: auto` on a CPU is decided by measurement (radllama.model.precision)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from radllama.model.precision import PrecisionChoice, cpu_has_native_bf16, measured_cpu_precision
from radllama.training.config import TrainConfig


@dataclass(frozen=True)
class Hardware:
    """The device this process trains on and how it was launched."""

    device: Literal["cpu", "cuda"]
    bf16_supported: bool  # GPU: torch says so; CPU: native bf16 (AVX-512 BF16 / AMX)
    flash_attn_installed: bool
    world_size: int
    local_rank: int
    sharding: Literal["none", "deepspeed", "fsdp"]

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def detect_hardware() -> Hardware:
    """Read CUDA availability and the launcher's environment (torchrun / accelerate launch)."""
    import torch

    cuda = torch.cuda.is_available()
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        sharding = "deepspeed"
    elif os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        sharding = "fsdp"
    else:
        sharding = "none"
    return Hardware(
        device="cuda" if cuda else "cpu",
        bf16_supported=torch.cuda.is_bf16_supported() if cuda else cpu_has_native_bf16(),
        flash_attn_installed=importlib.util.find_spec("flash_attn") is not None,
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        sharding=sharding,
    )


@dataclass(frozen=True)
class Resolved:
    """Hardware-dependent choices after resolving the config's "auto" values."""

    bf16: bool
    attn_implementation: str
    model_dtype: str  # dtype of the (unquantised) weights while training
    compute_dtype: str  # matmul dtype of 4-bit layers (qlora)
    precision: dict[str, Any] | None = None  # how bf16 was decided (run file provenance)


def resolve(
    config: TrainConfig,
    hw: Hardware,
    choose_cpu: Callable[[], PrecisionChoice] | None = None,
) -> Resolved:
    """`auto` -> concrete values: bf16 + flash-attention on a GPU that has them; on a CPU,
    bf16 autocast where `choose_cpu` measures it faster (qlora stays fp32: its 4-bit layers
    compute in fp32 on CPU), sdpa attention."""
    bf16, precision = _bf16(config, hw, choose_cpu)
    attn = config.attn_implementation
    if attn == "auto":
        attn = "flash_attention_2" if hw.device == "cuda" and hw.flash_attn_installed else "sdpa"
    compute = config.quantization.compute_dtype
    if compute == "auto":
        compute = "bfloat16" if hw.device == "cuda" and hw.bf16_supported else "float32"
    # Full fine-tuning keeps fp32 weights that the Trainer autocasts to bf16, except under
    # DeepSpeed, which keeps its own fp32 master copy and wants bf16 weights. Adapters on a GPU
    # train on a frozen bf16 base, which halves its memory. On a CPU the base stays fp32 under
    # autocast (the measured 1.8x): the frozen weights stay bit-identical to the base model.
    adapters_on_gpu = config.method != "full" and hw.device == "cuda"
    bf16_weights = adapters_on_gpu or hw.sharding == "deepspeed"
    model_dtype = "bfloat16" if (bf16 and bf16_weights) else "float32"
    return Resolved(
        bf16=bf16,
        attn_implementation=attn,
        model_dtype=model_dtype,
        compute_dtype=compute,
        precision=precision,
    )


def _bf16(config: TrainConfig, hw: Hardware, choose_cpu) -> tuple[bool, dict[str, Any]]:
    if config.bf16 != "auto":
        return config.bf16, {"choice": "bf16" if config.bf16 else "fp32", "reason": "forced by "
                             f"`bf16: {str(config.bf16).lower()}`", "device": hw.device}  # fmt: skip
    if hw.device == "cuda":
        reason = "GPU with bf16" if hw.bf16_supported else "GPU without bf16"
        return hw.bf16_supported, {"choice": "bf16" if hw.bf16_supported else "fp32",
                                   "reason": reason, "device": "cuda"}  # fmt: skip
    if config.method == "qlora":
        return False, {"choice": "fp32", "device": "cpu",
                       "reason": "qlora on CPU: bitsandbytes' 4-bit layers compute in fp32"}  # fmt: skip
    choice = (choose_cpu or measured_cpu_precision)()  # measured once per process
    return choice.bf16, choice.to_json()


def hardware_problems(config: TrainConfig, hw: Hardware) -> list[str]:
    """Requests this hardware cannot run, each one line naming the fix (empty = fine)."""
    problems = []
    if config.bf16 is True and hw.device == "cpu" and not hw.bf16_supported:
        problems.append(
            "bf16: true but this CPU has no native bf16 (avx512_bf16 / amx_bf16 flags) and no "
            "GPU; set `bf16: auto` (measures and picks) or `bf16: false`"
        )
    elif config.bf16 is True and not hw.bf16_supported:
        problems.append("bf16: true but this GPU has no bf16 support; set `bf16: false`")
    if config.attn_implementation.startswith("flash_attention"):
        if hw.device == "cpu":
            problems.append(
                f"attn_implementation: {config.attn_implementation} needs a CUDA GPU; "
                "use `sdpa` (or `auto`) on CPU"
            )
        elif not hw.flash_attn_installed:
            problems.append(
                f"attn_implementation: {config.attn_implementation} but flash-attn is not "
                "installed; `pip install flash-attn` or use `sdpa`"
            )
    if (
        config.method == "qlora"
        and hw.sharding != "none"
        and config.quantization.quant_storage == "uint8"
    ):
        problems.append(
            f"qlora under {hw.sharding} shards the 4-bit weights, which needs them stored in the "
            "dtype of the other parameters: set `quantization.quant_storage: bfloat16`"
        )
    return problems
