"""Base model, tokenizer, PEFT and bitsandbytes configs for full / lora / qlora.

Nothing here loads weights except `load_model`, so `--dry-run` and the config tests can build
every config object for a 70B recipe on a laptop.
"""

from __future__ import annotations

from typing import Any

from radllama.core.errors import ConfigError
from radllama.model import loader
from radllama.training.config import TrainConfig
from radllama.training.hardware import Hardware, Resolved


def model_reference(model: str | None) -> str:
    """Absolute path of a local model directory / full RUN_DIR / .gguf file, or a hub id when
    the hub is reachable (radllama.model.loader decides)."""
    if not model:
        raise ConfigError(
            "no base model: set `model:` in the config or pass --model (a model directory, a "
            "RUN_DIR or a .gguf file)"
        )
    return loader.resolve_model(model).reference


def check_model_dir(reference: str) -> None:
    """The base must be loadable for training: an adapter run is merged first."""
    source = loader.resolve_model(reference)
    if source.is_adapter:
        raise ConfigError(
            f"{reference} is a LoRA/QLoRA adapter run; merge it first (`radllama export "
            f"{reference} --merge --out MERGED_DIR`) and train from MERGED_DIR"
        )


def load_tokenizer(reference: str):
    """The base's tokenizer (chat template checked, pad token set) via the one loader."""
    return loader.load_tokenizer(reference, padding_side="right")


def lora_config(config: TrainConfig, model=None):
    """PEFT LoraConfig for lora/qlora (None for full). With the model at hand, "all-linear"
    becomes the short names of its linear layers (q_proj, ..., down_proj), the form every
    serving stack reads; PEFT would otherwise write full module paths for 4-bit models."""
    if config.method == "full":
        return None
    from peft import LoraConfig

    targets = config.lora.target_modules
    if targets == "all-linear" and model is not None:
        targets = linear_module_names(model)
    layers: dict[str, Any] = {}
    if config.lora.top_layers is not None and model is not None:
        # PEFT's layers_to_transform: indices of the decoder layers (model.layers.<i>) that get
        # adapters; top_layers=8 on a 30-layer model -> 22..29.
        n_layers = model.config.num_hidden_layers
        first = max(0, n_layers - config.lora.top_layers)
        layers = {"layers_to_transform": list(range(first, n_layers)), "layers_pattern": "layers"}
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
        **layers,
    )


def linear_module_names(model) -> list[str]:
    """Short names of the linear layers (4-bit ones included), leaving out the LM head (QLoRA's
    "all linear layers")."""
    import torch

    head = model.get_output_embeddings()
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head
    }
    return sorted(names)


def quantization_config(config: TrainConfig, resolved: Resolved):
    """bitsandbytes 4-bit config for qlora (None otherwise). QLoRA: NF4 + double quantisation."""
    if config.method != "qlora":
        return None
    import torch
    from transformers import BitsAndBytesConfig

    q = config.quantization
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=q.quant_type,
        bnb_4bit_use_double_quant=q.double_quant,
        bnb_4bit_compute_dtype=getattr(torch, resolved.compute_dtype),
        bnb_4bit_quant_storage=getattr(torch, q.quant_storage),
    )


def quantization_record(config: TrainConfig, resolved: Resolved) -> dict[str, Any] | None:
    """What the run file says about 4-bit loading, so inference can load the base the same way."""
    if config.method != "qlora":
        return None
    q = config.quantization
    return {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": q.quant_type,
        "bnb_4bit_use_double_quant": q.double_quant,
        "bnb_4bit_compute_dtype": resolved.compute_dtype,
        "bnb_4bit_quant_storage": q.quant_storage,
    }


def load_model(config: TrainConfig, reference: str, resolved: Resolved, hw: Hardware):
    """Load the base model for training (4-bit + k-bit preparation for qlora)."""
    import torch

    kwargs: dict[str, Any] = {
        "dtype": getattr(torch, resolved.model_dtype),
        "attn_implementation": resolved.attn_implementation,
    }
    quant = quantization_config(config, resolved)
    if quant is not None:
        kwargs["quantization_config"] = quant
        if hw.sharding == "none":  # sharded runs must leave placement to FSDP / DeepSpeed
            kwargs["device_map"] = {"": hw.local_rank if hw.device == "cuda" else "cpu"}
    model = loader.load_causal_lm(reference, **kwargs)
    model.config.use_cache = False  # packed rows stay apart only without a KV cache
    if quant is not None:
        from peft import prepare_model_for_kbit_training

        if hw.device == "cpu":
            _disable_bnb_cpu_repacking(model)
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    return model


def _disable_bnb_cpu_repacking(model) -> None:
    """bitsandbytes 0.50 on an AVX512-BF16 CPU repacks a 4-bit weight *in place* into an
    inference layout on the first no-grad eval forward; that layout needs out_features % 32 == 0
    and is not what training expects afterwards. Evaluation in the middle of training must
    leave the weights alone, so switch the inference fast path off."""
    from bitsandbytes.nn import Linear4bit

    for module in model.modules():
        if isinstance(module, Linear4bit):
            module.support_avx512bf16_for_cpu = False
