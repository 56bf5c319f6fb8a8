"""Export a run: merge a LoRA / QLoRA adapter into a 16-bit model, or write a GGUF file.

`export_gguf` writes the merged model as one GGUF file for llama.cpp, Ollama and LM Studio
(f16, or q8_0 where a tensor's row length is a multiple of 32), with the `gguf` package's
writer and tensor-name map and llama.cpp's Llama conventions (convert_hf_to_gguf.py): Q and K
rows permuted from HF's rotate-half RoPE layout to llama.cpp's interleaved one, byte-level BPE
vocabulary with merges and token types, special-token ids and the model's chat template.

The quality-preserving way (PEFT / QLoRA authors): reload the base *unquantised* in 16-bit,
apply the adapter, `merge_and_unload`. Merging into the 4-bit weights would round the update
into the NF4 grid. The run directory itself is untouched and its standard PEFT files stay
loadable by `vllm serve BASE --enable-lora --lora-modules NAME=RUN_DIR`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from radllama.core.artifacts import RUN_FILE, RunRecord
from radllama.core.errors import ConfigError
from radllama.core.provenance import utc_now
from radllama.model import loader
from radllama.model.gguf_tokenizer import export_pre_tokenizer_name

ADAPTER_FILE = loader.ADAPTER_FILE
DTYPES = ("bfloat16", "float16", "float32")
GGUF_TYPES = ("f16", "q8_0")


def read_run(run_dir: Path) -> RunRecord:
    if not (run_dir / RUN_FILE).is_file():
        raise ConfigError(
            f"{run_dir} has no {RUN_FILE}; pass a RUN_DIR written by `radllama train`"
        )
    return RunRecord.read(run_dir)


def export_merged(run_dir: str | Path, out_dir: str | Path, dtype: str = "bfloat16") -> Path:
    """Adapter run -> merged model directory (weights + tokenizer + run file). Returns out_dir."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    run = read_run(run_dir)
    if not (run_dir / ADAPTER_FILE).is_file():
        raise ConfigError(
            f"{run_dir} is a {run.method} fine-tune without an adapter: it already is "
            "a standalone model; serve or copy RUN_DIR itself"
        )
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)} (got {dtype})")
    if out_dir.resolve() == run_dir.resolve():
        raise ConfigError("--out must differ from RUN_DIR (the adapter run stays as it is)")
    base = _base_model(run, run_dir)
    model = AutoModelForCausalLM.from_pretrained(
        base, dtype=getattr(torch, dtype), use_safetensors=True, **loader.SAFE_LOAD
    )
    merged = PeftModel.from_pretrained(model, str(run_dir)).merge_and_unload()
    merged.config.use_cache = True  # training turned it off; generation wants it
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(run_dir, **loader.SAFE_LOAD).save_pretrained(out_dir)
    for name in ("README.md",):
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, out_dir / name)
    # The merged directory is a plain full-weight model: loaders must not quantise it or look
    # for an adapter, so method becomes "full" and the provenance moves under "export".
    export = {
        "merged_from_run": str(run_dir.resolve()),
        "merged_from_method": run.method,
        "base_model": base,
        "dtype": dtype,
        "created": utc_now(),
    }
    run.model_copy(update={"method": "full", "quantization": None, "export": export}).write(
        out_dir / RUN_FILE
    )
    return out_dir


def _base_model(run: RunRecord, run_dir: Path) -> str:
    """The adapter's base weights directory (a GGUF base: its converted copy)."""
    return loader.weights_dir(loader.resolve_model(run_dir))


# ---- GGUF out ---------------------------------------------------------------------------


def load_merged(model: str | Path):
    """(float32 model with any adapter merged, tokenizer, source) for any --model reference."""
    import torch

    source = loader.resolve_model(model)
    tokenizer = loader.load_tokenizer(source)
    weights = loader.load_causal_lm(source, dtype=torch.float32)
    if source.is_adapter:
        from peft import PeftModel

        weights = PeftModel.from_pretrained(weights, str(source.path)).merge_and_unload()
    return weights.eval(), tokenizer, source


def llama_cpp_permute(weights, n_head: int, n_head_kv: int | None = None):
    """HF rotate-half Q/K rows -> llama.cpp's interleaved RoPE rows (convert_hf_to_gguf.py's
    LlamaModel.permute; transformers' GGUF loader applies the inverse).

    >>> import numpy as np
    >>> llama_cpp_permute(np.arange(4).reshape(4, 1), n_head=1)[:, 0].tolist()
    [0, 2, 1, 3]
    """
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    shape = weights.shape
    return (
        weights.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:])
        .swapaxes(1, 2)
        .reshape(shape)
    )


def _add_tokenizer(writer, tokenizer, pad_token_id: int | None) -> None:
    import gguf

    state = json.loads(tokenizer.backend_tokenizer.to_str())
    if state.get("model", {}).get("type") != "BPE":
        raise ConfigError("cannot export to GGUF: only byte-level BPE tokenizers are supported")
    vocab = tokenizer.get_vocab()
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    special = {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    added = {t.content for t in tokenizer.added_tokens_decoder.values()}
    types = [
        gguf.TokenType.CONTROL
        if t in special
        else gguf.TokenType.USER_DEFINED
        if t in added
        else gguf.TokenType.NORMAL
        for t in tokens
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(export_pre_tokenizer_name(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    if tokenizer.bos_token_id is not None:
        writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    if pad_token_id is not None:
        writer.add_pad_token_id(pad_token_id)
    # The chat template writes BOS itself where the model wants it.
    writer.add_add_bos_token(False)
    writer.add_chat_template(tokenizer.chat_template)


def _add_hparams(writer, config, gguf_type: str) -> None:
    import gguf

    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    rope = getattr(config, "rope_parameters", None) or {}
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(config, "rope_theta", 1e4))))
    writer.add_vocab_size(config.vocab_size)
    file_type = (
        gguf.LlamaFileType.MOSTLY_F16 if gguf_type == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
    )
    writer.add_file_type(file_type)


def _tensor_type(name: str, array, gguf_type: str):
    """f32 for 1-D tensors (norms), q8_0 where rows split into 32-wide blocks, else f16."""
    import gguf

    if array.ndim == 1:
        return gguf.GGMLQuantizationType.F32
    if (
        gguf_type == "q8_0"
        and array.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0
    ):
        return gguf.GGMLQuantizationType.Q8_0
    return gguf.GGMLQuantizationType.F16


def export_gguf(model: str | Path, out_file: str | Path, gguf_type: str = "f16") -> dict[str, Any]:
    """Any --model (RUN_DIR full/adapter, model dir, GGUF) -> one Llama GGUF file. Returns a
    summary (tensor types, bytes). The file loads in llama.cpp and in transformers (gguf_file=)."""
    import gguf

    if gguf_type not in GGUF_TYPES:
        raise ConfigError(f"--type must be one of {', '.join(GGUF_TYPES)} (got {gguf_type})")
    out_file = Path(out_file)
    if out_file.suffix.lower() != ".gguf":
        raise ConfigError(f"--gguf {out_file}: the output file name must end in .gguf")
    merged, tokenizer, source = load_merged(model)
    config = merged.config
    if config.model_type != "llama":
        raise ConfigError(
            f"cannot export a {config.model_type!r} model to GGUF; only Llama-architecture models"
        )
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    writer = gguf.GGUFWriter(out_file, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(source.path.name)
    _add_hparams(writer, config, gguf_type)
    # The pad id the model's config.json states (SmolLM2: 2, <|im_end|>), not the one
    # `load_tokenizer` substitutes for training and batching (it swaps a pad equal to EOS for
    # <|endoftext|>, 0): llama.cpp and Ollama read the file's own choice.
    pad_id = config.pad_token_id if config.pad_token_id is not None else tokenizer.pad_token_id
    _add_tokenizer(writer, tokenizer, pad_id)
    tied = bool(config.tie_word_embeddings)
    counts: dict[str, int] = {}
    for hf_name, tensor in merged.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd for a tied output layer
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ConfigError(f"cannot map tensor {hf_name} to a GGUF name; not a Llama model?")
        array = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            array = llama_cpp_permute(array, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            array = llama_cpp_permute(array, n_head, n_kv)
        qtype = _tensor_type(name, array, gguf_type)
        writer.add_tensor(name, gguf.quants.quantize(array, qtype), raw_dtype=qtype)
        counts[qtype.name] = counts.get(qtype.name, 0) + 1
    out_file.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {
        "file": str(out_file),
        "type": gguf_type,
        "tensor_types": counts,
        "bytes": out_file.stat().st_size,
        "source": source.reference,
        "source_kind": source.kind,
    }
