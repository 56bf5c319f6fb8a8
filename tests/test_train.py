"""Supervised fine-tuning on the micro model: full / lora / qlora, run directory contract,
tokenisation cache, loss watchdog, and one-line errors for bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import yaml

from radllama.core.config import validate_config
from radllama.training import RUN_FILE, TrainConfig, train

RUN_KEYS = {
    "method", "base_model", "hyperparameters", "prompt_style", "data_manifest_hash",
    "package_versions", "seed", "final_metrics", "config",
}  # fmt: skip
METRIC_KEYS = {
    "train_loss", "eval_loss", "first_logged_loss", "last_logged_loss", "steps",
    "packing_efficiency", "tokens_per_second",
}  # fmt: skip


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("token_cache")


def tiny_config(model, data, out, cache, **overrides) -> TrainConfig:
    values = dict(
        model=str(model), data=str(data), output_dir=str(out), cache_dir=str(cache),
        method="lora", max_length=512, per_device_train_batch_size=2, learning_rate=5e-3,
        warmup_ratio=0.0, max_steps=4, logging_steps=1, eval_steps=None, save_steps=100,
        gradient_checkpointing=False, report_to="none",
    )  # fmt: skip
    values.update(overrides)
    return validate_config(TrainConfig, values)


class KeepFinalWeights:
    """A TrainerCallback keeping a CPU copy of every parameter when training ends."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Keep(TrainerCallback):
            weights: dict[str, torch.Tensor] = {}

            def on_train_end(self, args, state, control, model=None, **kwargs):
                self.weights = {n: p.detach().float().clone() for n, p in model.named_parameters()}

        return _Keep()


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir, tiny_data_dir, tmp_path_factory, cache_dir):
    """24 LoRA steps (2 epochs of the 48 fixture pairs): long enough for the loss to fall."""
    out = tmp_path_factory.mktemp("runs") / "lora"
    keep = KeepFinalWeights()
    config = tiny_config(
        tiny_model_dir, tiny_data_dir, out, cache_dir, max_steps=24, logging_steps=4
    )
    return out, train(config, callbacks=[keep]), keep.weights


def test_lora_loss_falls_and_only_the_adapter_changes(lora_run, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    _, record, final = lora_run
    metrics = record["final_metrics"]
    assert metrics["steps"] == 24
    assert metrics["last_logged_loss"] < 0.93 * metrics["first_logged_loss"]  # seeded: ~0.90
    assert math.isfinite(metrics["eval_loss"])
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    lora_b = [name for name in final if "lora_B" in name]
    assert lora_b and all(final[name].abs().max() > 0 for name in lora_b)  # B starts at zero
    for name, value in final.items():
        if "lora_" not in name:  # frozen base weights are bit-identical after training
            plain = name.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(value, base[plain].float()), name


def test_run_dir_contract_and_adapter_loads(lora_run, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, record, _ = lora_run
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                 RUN_FILE, "README.md"):  # fmt: skip
        assert (out / name).is_file(), name
    saved = json.loads((out / RUN_FILE).read_text())
    assert RUN_KEYS <= set(saved) and METRIC_KEYS <= set(saved["final_metrics"])
    assert saved["base_model"] == str(Path(tiny_model_dir).resolve())
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == saved["base_model"]
    assert saved["prompt_style"]["version"] and saved["data_manifest_hash"] == "fixture"
    assert saved["config"]["method"] == "lora" and saved["quantization"] is None
    assert saved["final_metrics"]["packing_efficiency"] > 0.85
    assert saved["data"]["stats"]["train"]["modality_counts"] == {
        "CT": 16,
        "MR": 8,
        "US": 8,
        "XR": 16,
    }
    card = (out / "README.md").read_text()
    assert "radiologist must review" in card and "CT: 16" in card and "lora" in card
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(saved["base_model"]), out
    )
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "FINDINGS: clear lungs."}], add_generation_prompt=True,
        return_tensors="pt", return_dict=True,
    )["input_ids"]  # fmt: skip
    assert model(input_ids=ids).logits.isfinite().all()


@pytest.mark.parametrize("method", ["full", "qlora"])
def test_method_trains_through_cli(
    method, lora_run, run_cli, tiny_model_dir, tiny_data_dir, cache_dir, tmp_path
):
    from transformers import AutoModelForCausalLM

    config = tiny_config(tiny_model_dir, tiny_data_dir, tmp_path / "unused", cache_dir)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    out = tmp_path / method
    code, stdout, err = run_cli("train", path, "--method", method, "--out", out, "--max-steps", 3)
    assert code == 0, err
    assert f"{method}: 3 steps" in stdout
    saved = json.loads((out / RUN_FILE).read_text())
    assert saved["method"] == method and saved["final_metrics"]["steps"] == 3
    assert saved["data"]["cache"]["hit"] is True  # tokenised once (by the lora run), reused
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    if method == "full":
        tuned = AutoModelForCausalLM.from_pretrained(out).state_dict()
        changed = [n for n in base if not torch.equal(base[n], tuned[n])]
        assert len(changed) > 0.8 * len(base)
    else:
        from safetensors.torch import load_file

        assert saved["quantization"]["bnb_4bit_quant_type"] == "nf4"
        assert saved["quantization"]["bnb_4bit_compute_dtype"] == "float32"  # CPU
        adapter = load_file(out / "adapter_model.safetensors")
        assert adapter and all("lora_" in n for n in adapter)
        assert any("lora_B" in n and t.abs().max() > 0 for n, t in adapter.items())


def test_tokenisation_cache_hits_and_keys_on_max_length(tiny_model_dir, tiny_data_dir, tmp_path):
    from transformers import AutoTokenizer

    from radllama.core.artifacts import DataDir
    from radllama.training.data import load_tokenized

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    dataset = DataDir.open_prepared(tiny_data_dir)
    first = load_tokenized(dataset, tokenizer, 512, tmp_path)
    second = load_tokenized(dataset, tokenizer, 512, tmp_path)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.train["input_ids"] == first.train["input_ids"]
    other = load_tokenized(dataset, tokenizer, 256, tmp_path)  # max_length is part of the key
    assert other.cache_hit is False and other.cache_path != first.cache_path
    assert other.stats["train"]["dropped"] == {
        "longer_than_max_length": 48 - other.stats["train"]["kept"]
    }
    row = first.train[0]
    completion = [t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m]
    assert tokenizer.decode(completion).endswith("<|eot_id|>")  # the model learns to stop
    assert tokenizer.decode(row["input_ids"]).startswith(
        "<|begin_of_text|><|start_header_id|>system"
    )


def test_watchdog_stops_a_nan_run(run_cli, tiny_model_dir, tiny_data_dir, cache_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tiny_data_dir, tmp_path / "run", cache_dir,
                         method="full", learning_rate=1e10, max_steps=6, save_steps=1)  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    code, _, err = run_cli("train", path)
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert (
        line.startswith("error: ")
        and ("nan" in line or "diverged" in line)
        and "learning_rate" in line
    )
    assert not (tmp_path / "run" / RUN_FILE).exists()
    step = int(line.split(" at step ")[1].split(":")[0].split(";")[0])
    assert not (tmp_path / "run" / "checkpoints" / f"checkpoint-{step}").exists()


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_input_is_one_line_with_the_fix(run_cli, tiny_model_dir, tiny_data_dir, tmp_path):
    import shutil

    base = dict(model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(tmp_path / "o"))
    no_config = shutil.copytree(tiny_model_dir, tmp_path / "no_config")
    (no_config / "config.json").unlink()
    no_tok = shutil.copytree(tiny_model_dir, tmp_path / "no_tok")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (no_tok / name).unlink()
    no_manifest = shutil.copytree(tiny_data_dir, tmp_path / "no_manifest")
    (no_manifest / "manifest.json").unlink()
    cases = [
        (dict(base, model=str(no_config)), "config.json"),
        (dict(base, model=str(no_tok)), "tokenizer"),
        (dict(base, data=str(no_manifest)), "radllama prepare"),
        (dict(base, attn_implementation="flash_attention_2"), "sdpa"),
        (dict(base, learning_rat=1e-4), "unknown config key 'learning_rat'"),
    ]
    for i, (data, fix) in enumerate(cases):
        code, _, err = run_cli("train", _write(tmp_path / f"c{i}.yaml", data))
        assert code == 2, (data, err)
        assert len(err.strip().splitlines()) == 1 and fix in err and "Traceback" not in err, err


def test_model_card_reports_deid_audit_totals(lora_run, tmp_path):
    from radllama.training.card import deid_totals, model_card

    (tmp_path / "deid_audit.json").write_text(json.dumps({
        "total_redactions": 12, "counts_by_type": {"NAME": 9, "DATE": 3, "SSN": 0},
    }))  # fmt: skip
    totals = deid_totals(tmp_path)
    assert totals == {"NAME": 9, "DATE": 3, "total": 12}
    record = dict(lora_run[1], data=dict(lora_run[1]["data"], deid_audit_totals=totals))
    card = model_card(record)
    assert "NAME: 9, DATE: 3, total: 12" in card and "A radiologist must review" in card
    assert deid_totals(tmp_path / "absent") is None
