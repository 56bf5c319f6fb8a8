"""The tokenizer a GGUF file describes, made faithful to llama.cpp's reading of it.

transformers builds a tokenizer from a GGUF's vocabulary and merges, but its split rule only
from the pre-tokenizer names it knows (`tokenizer.ggml.pre`: llama-bpe, qwen2, ...). For the
digit-splitting family (llama.cpp's ``smollm``, ``starcoder``, ...: every digit its own word,
then the GPT-2 split) it falls back to GPT-2 alone, so a run of spaces before a digit comes out
differently: SmolLM2 cuts ``"rib  3"`` into ``rib|ĠĠ|3`` (the spaces are one word once the digit
is split off) where GPT-2 alone gives ``rib|Ġ|Ġ|3``. `faithful_tokenizer` puts llama.cpp's rule
back and sets the special tokens to the ids the file states.

`export_pre_tokenizer_name` is the other direction: the `tokenizer.ggml.pre` to write for a
tokenizer when exporting a GGUF.

>>> split_words("rib  3", "smollm")
['rib', 'ĠĠ', '3']
>>> split_words("rib  3", "gpt-2")
['rib', 'Ġ', 'Ġ3']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from radllama.core.errors import ConfigError

# llama.cpp (src/llama-vocab.cpp): these pre-tokenizer types split `\p{N}` (one digit) first,
# then apply the GPT-2 regex. Hugging Face spells that Digits(individual) + ByteLevel.
DIGIT_SPLIT_PRE = (
    "smollm",
    "starcoder",
    "refact",
    "command-r",
    "codeshell",
    "exaone",
    "minerva-7b",
)
GPT2_PRE = ("gpt-2", "gpt2", "mpt", "olmo", "jais", "default")
# GGUF special-token keys -> transformers' attribute names.
SPECIAL_KEYS = {
    "bos_token": "tokenizer.ggml.bos_token_id",
    "eos_token": "tokenizer.ggml.eos_token_id",
    "unk_token": "tokenizer.ggml.unknown_token_id",
    "pad_token": "tokenizer.ggml.padding_token_id",
}


def _pre_tokenizer(pre: str):
    """The Hugging Face pre-tokenizer for llama.cpp's digit-split or GPT-2 rule; None otherwise
    (transformers already builds the regex-split families itself)."""
    from tokenizers import pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if pre in DIGIT_SPLIT_PRE:
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    if pre in GPT2_PRE:
        return byte_level
    return None


def split_words(text: str, pre: str) -> list[str]:
    """The words `pre`'s rule cuts `text` into (byte-level spelling), for tests and docs."""
    return [word for word, _ in _pre_tokenizer(pre).pre_tokenize_str(text)]


def read_tokenizer_metadata(gguf_file: str | Path) -> dict[str, Any]:
    """`tokenizer.ggml.pre`, add_bos flag and the special tokens (id and text) of a GGUF file."""
    import gguf

    return tokenizer_metadata(gguf.GGUFReader(gguf_file))


def tokenizer_metadata(reader) -> dict[str, Any]:
    """`read_tokenizer_metadata` from an open `gguf.GGUFReader` (reading one is slow)."""
    fields = reader.fields

    def value(key: str):
        field = fields.get(key)
        return None if field is None else field.contents()

    tokens_field = fields.get("tokenizer.ggml.tokens")
    special: dict[str, tuple[int, str]] = {}
    for name, key in SPECIAL_KEYS.items():
        index = value(key)
        if index is not None and tokens_field is not None and 0 <= index < len(tokens_field.data):
            special[name] = (int(index), tokens_field.contents(index))
    return {
        "model": value("tokenizer.ggml.model"),
        "pre": value("tokenizer.ggml.pre"),
        "add_bos_token": value("tokenizer.ggml.add_bos_token"),
        "add_eos_token": value("tokenizer.ggml.add_eos_token"),
        "special": special,
    }


def faithful_tokenizer(tokenizer, metadata: dict[str, Any]):
    """`tokenizer` (transformers' reading of a GGUF) with llama.cpp's split rule for
    `metadata["pre"]` and the special tokens at the ids the file states. Returns it."""
    if metadata.get("model") == "gpt2":
        rule = _pre_tokenizer(metadata.get("pre") or "default")
        if rule is not None:
            tokenizer.backend_tokenizer.pre_tokenizer = rule
    vocab = tokenizer.get_vocab()
    for name, (index, text) in metadata["special"].items():
        if vocab.get(text) != index:
            raise ConfigError(
                f"the GGUF's {name} id {index} ({text!r}) is not that token in the vocabulary "
                "transformers read; the file's tokenizer metadata is inconsistent"
            )
        setattr(tokenizer, name, text)
    if metadata.get("add_bos_token") is not None and hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = bool(metadata["add_bos_token"])
    return tokenizer


def export_pre_tokenizer_name(tokenizer) -> str:
    """llama.cpp's `tokenizer.ggml.pre` for this tokenizer's split rule (GGUF export)."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    if backend.get("type") == "ByteLevel" and backend.get("use_regex", True):
        return "gpt-2"  # GPT-2 split regex (the embedded tokenizer)
    parts = backend.get("pretokenizers", []) if backend.get("type") == "Sequence" else []
    kinds = [part.get("type") for part in parts]
    if (
        kinds == ["Digits", "ByteLevel"]
        and parts[0].get("individual_digits")
        and parts[1].get("use_regex", True)
    ):
        return "smollm"  # digits one by one, then GPT-2 (SmolLM/StarCoder)
    if parts and kinds[0] == "Split" and "p{N}{1,3}" in json.dumps(parts[0]):
        return "llama-bpe"  # Llama 3's split regex
    raise ConfigError(
        f"cannot export this tokenizer to GGUF (pre-tokenizer {backend.get('type')!r} "
        f"{kinds or ''}); only byte-level BPE tokenizers (GPT-2, SmolLM2 or Llama 3 style) "
        "are supported"
    )
