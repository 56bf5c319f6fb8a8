"""Base model, tokenizer, PEFT and bitsandbytes configs for full / lora / qlora.

Nothing here loads weights except `load_model`, so `--dry-run` and the config tests can build
every config object for a 70B recipe on a laptop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from radllama.errors import ConfigError
from radllama.training.config import TrainConfig
from radllama.training.hardware import Hardware, Resolved

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


def model_reference(model: str | None) -> str:
    """Absolute path of a local model directory, or a hub id when the hub is reachable."""
    if not model:
        raise ConfigError("no base model: set `model:` in the config or pass --model DIR")
    path = Path(model).expanduser()
    if path.exists():
        return str(path.resolve())
    looks_like_hub_id = model.count("/") == 1 and not model.startswith((".", "/", "~"))
    if looks_like_hub_id and os.environ.get("HF_HUB_OFFLINE") != "1":
        return model
    raise ConfigError(
        f"model directory {model} not found; pass --model DIR with a local Hugging Face model "
        "(config.json + weights + tokenizer), e.g. one made by `radllama base`"
    )


def check_model_dir(reference: str) -> None:
    """A local model directory must hold config.json and a tokenizer (weights are checked on load)."""
    path = Path(reference)
    if not path.is_dir():
        if path.exists():
            raise ConfigError(
                f"--model {path} is a file; pass the model directory that contains it"
            )
        return  # hub id
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"{path} has no config.json; --model must be a Hugging Face model directory "
            "(save_pretrained output or `radllama base --out`)"
        )
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ConfigError(
            f"{path} has no tokenizer (tokenizer.json / tokenizer.model); copy the tokenizer of the "
            "base model into it (`AutoTokenizer.from_pretrained(...).save_pretrained(DIR)`)"
        )


def load_tokenizer(reference: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(reference)
    if not tokenizer.chat_template:
        raise ConfigError(
            f"the tokenizer in {reference} has no chat template; use an Instruct/chat model or add "
            "`chat_template` to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None:
        # Llama 3 has no pad token; its reserved right-pad token is the usual choice. The
        # padding-free collator never feeds pad tokens to the model anyway.
        pad = "<|finetune_right_pad_id|>"
        tokenizer.pad_token = pad if pad in tokenizer.get_vocab() else tokenizer.eos_token
    return tokenizer


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
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
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
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {
        "dtype": getattr(torch, resolved.model_dtype),
        "attn_implementation": resolved.attn_implementation,
    }
    quant = quantization_config(config, resolved)
    if quant is not None:
        kwargs["quantization_config"] = quant
        if hw.sharding == "none":  # sharded runs must leave placement to FSDP / DeepSpeed
            kwargs["device_map"] = {"": hw.local_rank if hw.device == "cuda" else "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(reference, **kwargs)
    except (OSError, ValueError, ImportError) as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"cannot load the model in {reference}: {first}") from None
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
