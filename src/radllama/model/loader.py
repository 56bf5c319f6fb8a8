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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from radllama.core.artifacts import RUN_FILE, RunRecord
from radllama.core.errors import ConfigError

ADAPTER_FILE = "adapter_config.json"
GGUF_SUFFIX = ".gguf"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
# A pad token distinct from EOS, when the vocabulary has one: Llama 3's reserved right-pad
# token, then the SmolLM2/GPT-2 style end-of-text token (SmolLM2's EOS is <|im_end|>).
PAD_CANDIDATES = ("<|finetune_right_pad_id|>", "<|endoftext|>", "<pad>")

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
        if looks_like_hub_id and os.environ.get("HF_HUB_OFFLINE") != "1":
            return ModelSource(text, "hub")
        raise ModelError(
            f"model {reference} does not exist; pass --model with a local model directory (e.g. from "
            "`radllama base`), a RUN_DIR from `radllama train` or a .gguf file"
        )
    path = path.resolve()
    if path.is_file():
        if path.suffix.lower() != GGUF_SUFFIX and not _has_gguf_magic(path):
            raise ModelError(
                f"--model {path} is a file but not a .gguf; pass a GGUF file, or the model "
                "directory that contains this file"
            )
        return ModelSource(str(path), "gguf")
    run = RunRecord.read_optional(path / RUN_FILE)
    if (path / ADAPTER_FILE).is_file():
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
    return ModelSource(str(path), "run-full" if run is not None else "model-dir", run)


def base_source(source: ModelSource) -> ModelSource:
    """The base model of an adapter run (its `base_model`, absolute or relative to the run)."""
    adapter = _read_json(source.path / ADAPTER_FILE)
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
    from radllama.model.base import convert_gguf, file_sha256

    digest = file_sha256(gguf_file)
    out = cache_root() / "gguf" / digest[:16]
    if not (out / "config.json").is_file() or not (out / "radllama_base.json").is_file():
        convert_gguf(gguf_file, out, sha256=digest)
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
        tokenizer = AutoTokenizer.from_pretrained(directory)
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
    try:
        return AutoModelForCausalLM.from_pretrained(directory, **kwargs)
    except (OSError, ValueError, ImportError) as error:
        raise ModelError(f"cannot load the model in {directory}: {_first_line(error)}") from None


def _has_gguf_magic(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"GGUF"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(
            f"{path}: cannot read it as JSON ({error}); re-run the step that wrote it"
        ) from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object; re-run the step that wrote it")
    return data


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
