"""The one model loader: training, inference, serving and export all load weights here.

`--model` everywhere accepts three things, told apart by `resolve_model`:

- a Hugging Face model directory (``config.json`` + weights + tokenizer), e.g. from
  `radllama base`;
- a RUN_DIR from `radllama train` (``radllama_run.json``): a full fine-tune holds the
  weights, a LoRA/QLoRA run holds a PEFT adapter over ``run["base_model"]`` (itself any of
  the three);
- a ``.gguf`` file (llama.cpp / Ollama / LM Studio format, any quantisation transformers can
  dequantise). It is converted once into a plain model directory in the cache
  (``$RADLLAMA_CACHE``, default ``~/.cache/radllama``; keyed by the file's sha256), so 4-bit
  QLoRA loading, PEFT and `save_pretrained` see an ordinary checkpoint.

Pad/EOS handling and the chat-template check are in `load_tokenizer`, nowhere else.

Loading rules (a model directory is data, never code):

- ``trust_remote_code=False`` on every transformers load (`SAFE_LOAD`), so transformers never
  imports a directory's Python file and never asks on stdin whether to;
- ``config.json``'s ``model_type`` must be a causal-LM architecture transformers itself ships
  (`supported_model_types`), and a tokenizer class must be one of transformers' own;
- weights must be safetensors (``use_safetensors=True``): a directory holding only a pickle
  (``pytorch_model.bin``, ``adapter_model.bin``) is refused with one line, since unpickling runs
  code;
- a `--model` that is not an existing path is one line, never a model-hub look-up (the CLI runs
  offline by default, `radllama.core.guard.offline_by_default`); a hub id is resolved only when
  the user opts in with ``HF_HUB_OFFLINE=0``;
- a GGUF file's header is checked against its size before any reader allocates
  (`radllama.model.gguf_check`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from radllama.core.artifacts import RUN_FILE, BaseMeta, RunRecord
from radllama.core.errors import ConfigError
from radllama.core.model_files import check_no_custom_code, read_json_object
from radllama.model.gguf_check import check_gguf_header

ADAPTER_FILE = "adapter_config.json"
GGUF_SUFFIX = ".gguf"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
# A pad token distinct from EOS, when the vocabulary has one: Llama 3's reserved right-pad
# token, then the SmolLM2/GPT-2 style end-of-text token (SmolLM2's EOS is <|im_end|>).
PAD_CANDIDATES = ("<|finetune_right_pad_id|>", "<|endoftext|>", "<pad>")
# Keyword arguments of every transformers `from_pretrained` in this project: never run a
# model directory's own Python code (and so never prompt on stdin about it).
SAFE_LOAD: dict[str, Any] = {"trust_remote_code": False}
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "adapter_model.bin")

Kind = Literal["model-dir", "run-full", "run-adapter", "gguf", "hub"]


class ModelError(ConfigError):
    """A --model that cannot be loaded (missing, wrong kind, no chat template, bad GGUF)."""


@dataclass
class ModelSource:
    """What a `--model` reference is, decided without loading weights."""

    reference: str  # as given (absolute path for local things; hub id otherwise)
    kind: Kind
    run: RunRecord | None = None  # radllama_run.json (None for a model dir or a GGUF)

    @property
    def path(self) -> Path:
        return Path(self.reference)

    @property
    def is_adapter(self) -> bool:
        return self.kind == "run-adapter"


def resolve_model(reference: str | Path | None) -> ModelSource:
    """Classify a --model reference; one clear error when it is none of the three."""
    if reference is None or str(reference) == "":
        raise ModelError("no model: pass --model (a model directory, a RUN_DIR or a .gguf file)")
    path = Path(reference).expanduser()
    if not path.exists():
        text = str(reference)
        looks_like_hub_id = text.count("/") == 1 and not text.startswith((".", "/", "~"))
        if looks_like_hub_id and hub_opted_in():
            return ModelSource(text, "hub")
        raise ModelError(
            f"no such model path {reference} (it does not exist); pass --model with a local model "
            "directory (e.g. from `radllama base`), a RUN_DIR from `radllama train` or a .gguf "
            "file (hub ids are looked up only with HF_HUB_OFFLINE=0)"
        )
    path = path.resolve()
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise ModelError(f"--model {path} is not a regular file or directory; pass a model path")
    if path.is_file():
        if path.suffix.lower() != GGUF_SUFFIX and not _has_gguf_magic(path):
            raise ModelError(
                f"--model {path} is a file but not a .gguf; pass a GGUF file, or the model "
                "directory that contains this file"
            )
        check_gguf_header(path)  # counts and lengths fit the file, before any reader allocates
        return ModelSource(str(path), "gguf")
    run = RunRecord.read_optional(path / RUN_FILE)
    if (path / ADAPTER_FILE).is_file():
        _check_safetensors(path, "adapter_model.safetensors")
        return ModelSource(str(path), "run-adapter", run)
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{path} has no config.json (nor adapter_config.json); --model must be a Hugging "
            "Face model directory, a RUN_DIR from `radllama train` or a .gguf file"
        )
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(
            f"{path} has no tokenizer (tokenizer.json / tokenizer.model); save the base model's "
            "tokenizer into it (`AutoTokenizer.from_pretrained(...).save_pretrained(DIR)`)"
        )
    check_model_config(path)
    _check_safetensors(path, "model.safetensors")
    return ModelSource(str(path), "run-full" if run is not None else "model-dir", run)


def hub_opted_in() -> bool:
    """True only when the user explicitly turned the hub on (``HF_HUB_OFFLINE=0``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"0", "false", "no", "off"}


def supported_model_types() -> frozenset[str]:
    """Causal-LM `model_type`s whose code ships inside transformers (no custom code)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


def check_model_config(path: Path) -> None:
    """config.json / tokenizer_config.json name only architectures transformers ships.

    Read as JSON before any transformers call: an unknown `model_type` with an `auto_map` is a
    request to import the directory's own Python file, which this project never does."""
    check_no_custom_code(
        path, supported_model_types(), ModelError, "causal-LM architecture built into transformers"
    )


def _check_safetensors(path: Path, expected: str) -> None:
    """Weights load from safetensors only: unpickling a .bin file can run arbitrary code."""
    if any(path.glob("*.safetensors")) or (path / f"{expected}.index.json").is_file():
        return
    pickles = [name for name in PICKLE_WEIGHTS if (path / name).is_file()]
    if pickles:
        raise ModelError(
            f"{path} holds only pickle weights ({pickles[0]}), which can run code when loaded; "
            f"convert them to safetensors ({expected}, e.g. `save_pretrained(DIR, "
            "safe_serialization=True)` in a sandbox) and pass that directory"
        )


def base_source(source: ModelSource) -> ModelSource:
    """The base model of an adapter run (its `base_model`, absolute or relative to the run)."""
    adapter = read_json_object(source.path / ADAPTER_FILE, ModelError)
    candidates = [source.run.base_model if source.run else None]
    candidates.append(adapter.get("base_model_name_or_path"))
    for name in filter(None, candidates):
        for candidate in (Path(name).expanduser(), source.path / name):
            if candidate.exists():
                try:
                    base = resolve_model(candidate)
                except ModelError:
                    continue
                if not base.is_adapter:
                    return base
    raise ModelError(
        f"{source.path} is an adapter run but its base model {candidates[0] or candidates[1]!r} "
        "is not a local model directory or .gguf file; put the base model there or fix "
        f"base_model in {source.path / RUN_FILE}"
    )


def weights_dir(source: ModelSource) -> str:
    """A directory (or hub id) `from_pretrained` can read the full weights from.

    For an adapter run this is its base's weights; for a GGUF file, its converted copy."""
    if source.is_adapter:
        return weights_dir(base_source(source))
    if source.kind == "gguf":
        return str(gguf_model_dir(source.path))
    return source.reference


def tokenizer_dir(source: ModelSource) -> str:
    """Where the tokenizer lives: the run's own (it may add tokens), else the base's."""
    if source.is_adapter and any((source.path / n).is_file() for n in TOKENIZER_FILES):
        return source.reference
    return weights_dir(source)


def cache_root() -> Path:
    return Path(os.environ.get("RADLLAMA_CACHE") or Path.home() / ".cache" / "radllama")


def gguf_model_dir(gguf_file: Path) -> Path:
    """The converted model directory of a GGUF file (converted on first use, then reused)."""
    from radllama.model.base import CONVERTER_VERSION, convert_gguf, file_sha256

    digest = file_sha256(gguf_file)
    out = cache_root() / "gguf" / digest[:16]
    record = out / BaseMeta.FILE_NAME
    done = (out / "config.json").is_file() and record.is_file()
    if not done or BaseMeta.read(record).converter < CONVERTER_VERSION:
        convert_gguf(gguf_file, out, sha256=digest)  # first use, or an older converter's copy
    return out


def load_tokenizer(source: ModelSource | str | Path, padding_side: str = "right"):
    """The model's tokenizer with its own chat template, a pad token and `padding_side`.

    Training pads on the right (the padding-free collator never feeds pads to the model);
    generation pads on the left so new tokens append on the right."""
    from transformers import AutoTokenizer

    if not isinstance(source, ModelSource):
        source = resolve_model(source)
    directory = tokenizer_dir(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, **SAFE_LOAD)
    except (OSError, ValueError) as error:
        raise ModelError(
            f"cannot load the tokenizer in {directory}: {_first_line(error)}"
        ) from None
    if not tokenizer.chat_template:
        raise ModelError(
            f"the tokenizer in {directory} has no chat template; use an Instruct/chat model or "
            "add `chat_template` to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        vocab = tokenizer.get_vocab()
        pad = next(
            (t for t in PAD_CANDIDATES if t in vocab and t != tokenizer.eos_token),
            tokenizer.eos_token,  # padded positions are masked; EOS is safe as a last resort
        )
        tokenizer.pad_token = pad
    tokenizer.padding_side = padding_side
    return tokenizer


def load_causal_lm(source: ModelSource | str | Path, **kwargs):
    """`AutoModelForCausalLM.from_pretrained` on the source's full weights (adapter: its base).

    kwargs go to from_pretrained (dtype, quantization_config, device_map, attn_implementation).
    A load failure is one line naming the directory."""
    from transformers import AutoModelForCausalLM

    if not isinstance(source, ModelSource):
        source = resolve_model(source)
    directory = weights_dir(source)
    kwargs.pop("trust_remote_code", None)  # never anything but SAFE_LOAD's False
    if source.kind != "hub":
        kwargs["use_safetensors"] = True
    try:
        return AutoModelForCausalLM.from_pretrained(directory, **kwargs, **SAFE_LOAD)
    except (OSError, ValueError, ImportError) as error:
        raise ModelError(f"cannot load the model in {directory}: {_first_line(error)}") from None


def _has_gguf_magic(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"GGUF"


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
