"""The embedded base model: tokenizer, chat template, Llama shape, pretraining, HF format."""

from __future__ import annotations

import json

import pytest

from radllama.model.base import (
    LLAMA3_CHAT_TEMPLATE,
    MODEL_SIZES,
    BaseConfig,
    build_base,
    build_model,
    train_tokenizer,
)


def test_tokenizer_roundtrip_special_tokens_and_chat_template():
    tok = train_tokenizer(["Small right pleural effusion. No pneumothorax."] * 30, vocab_size=300)
    text = "Small left pleural effusion."
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert tok.chat_template == LLAMA3_CHAT_TEMPLATE
    assert tok.eos_token == "<|eot_id|>" and tok.pad_token == "<|finetune_right_pad_id|>"


@pytest.mark.parametrize("size,low,high", [("tiny", 4e6, 6.5e6), ("small", 18e6, 30e6)])
def test_model_sizes_are_llama_with_gqa(size, low, high):
    tok = train_tokenizer(["a b c"] * 5, vocab_size=MODEL_SIZES[size]["vocab_size"])
    # BPE on tiny text stops early; pad the vocabulary to the size's target for counting.
    tok.add_tokens([f"<extra_{i}>" for i in range(MODEL_SIZES[size]["vocab_size"] - len(tok))])
    model = build_model(BaseConfig(size=size), tok)
    n_params = sum(p.numel() for p in model.parameters())
    assert low < n_params < high, n_params
    assert model.config.model_type == "llama"
    assert model.config.num_key_value_heads < model.config.num_attention_heads


def test_build_base_pretrains_and_loads_with_auto_classes(tiny_data_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "base"
    record = build_base(
        tiny_data_dir,
        out,
        BaseConfig(size="micro", vocab_size=400, seq_length=64, batch_size=4, max_steps=30),
    )
    stats = record["pretraining"]
    assert stats["steps"] == 30
    assert stats["last_logged_loss"] < stats["first_logged_loss"] * 0.8  # it learned something
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.chat_template and len(tok) == model.config.vocab_size
    saved = json.loads((out / "radllama_base.json").read_text())
    assert saved["data_hash"] and saved["package_versions"]["transformers"]
    assert not (out / "_trainer").exists()


def test_missing_data_dir_is_one_line_error(run_cli, tmp_path):
    code, _, err = run_cli(
        "base", "--size", "micro", "--data", tmp_path / "nope", "--out", tmp_path / "m"
    )
    assert code == 2 and "radllama prepare" in err and "Traceback" not in err
