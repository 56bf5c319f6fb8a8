"""`radllama export RUN_DIR --merge`: adapter merged into an unquantised copy of the base gives
the adapter model's logits; the adapter itself stays in standard PEFT form for vLLM."""

from __future__ import annotations

import json

import pytest
import torch

from radllama.core.config import validate_config
from radllama.training import RUN_FILE, TrainConfig, train


@pytest.fixture(scope="module")
def qlora_run(tiny_model_dir, tiny_data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    config = validate_config(TrainConfig, dict(
        model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(root / "run"),
        cache_dir=str(root / "cache"), method="qlora", max_length=512,
        per_device_train_batch_size=2, learning_rate=2e-2, max_steps=3, logging_steps=1,
        eval_steps=None, save_steps=100, gradient_checkpointing=False, report_to="none",
    ))  # fmt: skip
    train(config)
    return root / "run"


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_merge_equals_adapter_logits(qlora_run, tiny_model_dir, tmp_path, run_cli):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from radllama.model.export import export_merged

    merged_dir = export_merged(qlora_run, tmp_path / "merged32", dtype="float32")
    ids = torch.tensor([[1, 40, 41, 42, 43, 44, 45, 46]])
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base_logits = _logits(base, ids)
    adapter = PeftModel.from_pretrained(base, str(qlora_run))
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    expected, actual = _logits(adapter, ids), _logits(merged, ids)
    assert (expected - base_logits).abs().max() > 1e-3  # the adapter does change the model
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)
    assert not (merged_dir / "adapter_config.json").exists()
    record = json.loads((merged_dir / RUN_FILE).read_text())
    assert record["method"] == "full" and record["quantization"] is None
    assert record["export"]["merged_from_method"] == "qlora" and record["prompt_style"]

    # The CLI's default is a 16-bit copy.
    code, out, err = run_cli("export", qlora_run, "--merge", "--out", tmp_path / "merged16")
    assert code == 0, err
    config = json.loads((tmp_path / "merged16" / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    assert (tmp_path / "merged16" / "tokenizer.json").is_file()


def test_adapter_is_standard_peft_for_vllm(qlora_run):
    adapter = json.loads((qlora_run / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA" and adapter["r"] == 16 and adapter["lora_alpha"] == 32
    assert set(adapter["target_modules"]) >= {"q_proj", "k_proj", "v_proj", "o_proj", "down_proj"}
    assert (qlora_run / "adapter_model.safetensors").is_file()


def test_export_errors(run_cli, qlora_run, tmp_path):
    code, _, err = run_cli("export", qlora_run, "--out", tmp_path / "x")
    assert code == 2 and "--merge" in err
    code, _, err = run_cli("export", tmp_path, "--merge", "--out", tmp_path / "x")
    assert code == 2 and "radllama train" in err
