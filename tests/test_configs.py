"""Every recipe in configs/ is a tested artefact: it parses, builds the SFTConfig and the
PEFT / bitsandbytes configs without loading weights, and says how to run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from radllama.core.config import load_config
from radllama.core.errors import ConfigError
from radllama.training import TrainConfig
from radllama.training.arguments import build_sft_config
from radllama.training.hardware import Hardware, detect_hardware, hardware_problems, resolve
from radllama.training.model import lora_config, quantization_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# Training recipes are the configs with a `method` (the others drive prepare / demo).
RECIPES = sorted(
    p for p in CONFIGS.glob("*.yaml") if "method" in (yaml.safe_load(p.read_text()) or {})
)
ACCELERATE = sorted((CONFIGS / "accelerate").glob("*.yaml"))
H100_NODE = Hardware("cuda", True, True, world_size=8, local_rank=0, sharding="deepspeed")


def test_the_four_recipes_exist():
    names = {p.name for p in RECIPES}
    assert {"tiny-cpu.yaml", "llama3-70b-qlora.yaml", "llama3-70b-full-zero3.yaml",
            "llama3-8b-qlora-1gpu.yaml"} <= names  # fmt: skip


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_builds_arguments_without_weights(path, tmp_path):
    header = path.read_text().split("\n\n")[0]
    assert header.startswith("#") and "radllama train" in header and "Hardware" in header
    assert "tokens/step" in path.read_text()  # the arithmetic behind the batch shape
    config = load_config(TrainConfig, path)
    hw = detect_hardware()
    args = build_sft_config(config, tmp_path, resolve(config, hw), hw)
    assert args.max_length == config.max_length and args.packing == config.packing
    assert args.packing_strategy == "bfd" and args.completion_only_loss is True
    assert args.gradient_accumulation_steps == config.gradient_accumulation_steps
    assert args.logging_nan_inf_filter is False  # the watchdog must see NaN
    lora = lora_config(config)
    quant = quantization_config(config, resolve(config, hw))
    assert (lora is None) == (config.method == "full")
    assert (quant is None) == (config.method != "qlora")
    if quant is not None:
        assert quant.bnb_4bit_quant_type == "nf4" and quant.bnb_4bit_use_double_quant


@pytest.mark.parametrize("name", ["llama3-70b-qlora.yaml", "llama3-70b-full-zero3.yaml"])
def test_paper_recipes_match_the_paper(name):
    config = load_config(TrainConfig, CONFIGS / name)
    assert config.max_length == 2048 and config.bf16 and config.gradient_checkpointing
    assert config.tokens_per_step(world_size=8) == 131_072  # stated in the header
    assert hardware_problems(config, H100_NODE) == []


def test_gpu_recipes_refuse_a_cpu_with_a_fix():
    cpu = Hardware("cpu", False, False, 1, 0, "none")
    problems = hardware_problems(
        load_config(TrainConfig, CONFIGS / "llama3-8b-qlora-1gpu.yaml"), cpu
    )
    assert any("bf16" in p and "bf16: false" in p for p in problems)
    assert any("flash_attention_2" in p and "sdpa" in p for p in problems)
    assert hardware_problems(load_config(TrainConfig, CONFIGS / "tiny-cpu.yaml"), cpu) == []


def test_sharded_qlora_needs_bf16_quant_storage():
    config = load_config(TrainConfig, CONFIGS / "llama3-8b-qlora-1gpu.yaml")  # uint8 storage
    problems = hardware_problems(config, H100_NODE)
    assert problems and "quant_storage: bfloat16" in problems[0]


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_configs_parse(path):
    from accelerate.commands.config.config_args import ClusterConfig

    cluster = ClusterConfig.from_yaml_file(path)
    assert cluster.num_processes >= 2
    assert path.read_text().startswith("#") and "accelerate launch" in path.read_text()
    ds_file = (cluster.deepspeed_config or {}).get("deepspeed_config_file")
    if ds_file:
        ds = json.loads((CONFIGS.parent / ds_file).read_text())
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    if "qlora" in path.name:
        assert "quant_storage: bfloat16" in path.read_text()


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_cli_dry_run_prints_resolved_arguments(run_cli, path):
    code, out, err = run_cli("train", path, "--dry-run", "--max-steps", "7")
    assert code == 0, err
    assert "## SFTConfig" in out and '"max_steps": 7' in out and "## LoraConfig" in out
    assert "tokens per optimizer step" in out


def test_code_can_switch_a_recipes_rougel_evaluation_off():
    """A None override is skipped (a CLI option not given) unless `none_clears`: then it
    unsets the recipe's value. The learning curve needs this to train the retrieval recipe
    with no evaluation during training (it scores validate afterwards)."""
    recipe = CONFIGS / "smollm2-retrieval-cpu.yaml"
    off = dict(eval_steps=None, generative_eval={"rows": 0}, metric_for_best_model=None)
    config = load_config(TrainConfig, recipe, off, none_clears=True)
    assert config.eval_steps is None and config.metric_for_best_model is None
    assert config.generative_eval.rows == 0 and config.num_examples == 2  # the rest kept
    assert load_config(TrainConfig, recipe, {"eval_steps": None}).eval_steps == 100
    with pytest.raises(ConfigError, match="generative_eval.rows > 0"):
        load_config(TrainConfig, recipe, off)  # skipped Nones: rougeL without rows
