"""Two CPU processes through `accelerate launch -m radllama train` (gloo): data-parallel ranks
end with identical weights; DeepSpeed ZeRO-3 on CPU saves gathered full weights."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACCELERATE = Path(sys.executable).parent / "accelerate"


def _launch(accelerate_config: str, tmp_path, model, data, *extra: str) -> tuple[Path, str]:
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(model), "data": str(data), "cache_dir": str(tmp_path / "cache"),
        "method": "lora", "max_length": 512, "per_device_train_batch_size": 2,
        "learning_rate": 5e-3, "max_steps": 3, "logging_steps": 1, "eval_steps": None,
        "gradient_checkpointing": False, "report_to": "none",
    }))  # fmt: skip
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run(
        [str(ACCELERATE), "launch", "--config_file", str(REPO / "configs/accelerate" / accelerate_config),
         "-m", "radllama", "train", str(config), "--out", str(out), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stderr


def test_two_cpu_processes_agree(tiny_model_dir, tiny_data_dir, tmp_path):
    out, log = _launch("cpu-2proc.yaml", tmp_path, tiny_model_dir, tiny_data_dir)
    digests = dict(re.findall(r"rank (\d)/2 trainable weights sha256 ([0-9a-f]{64})", log))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    record = json.loads((out / "radllama_run.json").read_text())
    assert record["distributed"]["ranks_agree"] is True and record["distributed"]["world_size"] == 2
    # Had the ranks not synchronised gradients (e.g. use_cpu unset on CPU), digests would differ.
    assert record["hyperparameters"]["world_size"] == 2 and record["final_metrics"]["steps"] == 3
    assert (out / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_deepspeed_zero3_on_cpu_saves_full_weights(tiny_model_dir, tiny_data_dir, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out, _ = _launch("deepspeed-zero3-cpu-2proc.yaml", tmp_path, tiny_model_dir, tiny_data_dir,
                     "--method", "full")  # fmt: skip
    record = json.loads((out / "radllama_run.json").read_text())
    assert record["distributed"]["sharding"] == "deepspeed"
    saved = load_file(out / "model.safetensors")  # gathered on rank 0, not empty ZeRO shards
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    assert {k: v.shape for k, v in saved.items()} == {k: v.shape for k, v in base.items()}


def test_train_destroys_the_process_group_it_ran_in(
    run_cli, tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch
):
    """A rank that exits with its gloo group alive can abort after a complete run (SIGABRT,
    "terminate called without an active exception"): `radllama train` tears the group down."""
    import socket

    import torch.distributed as dist

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0",
                       "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        config = tmp_path / "train.yaml"
        config.write_text(yaml.safe_dump({
            "model": str(tiny_model_dir), "data": str(tiny_data_dir),
            "cache_dir": str(tmp_path / "cache"), "method": "lora", "max_length": 512,
            "per_device_train_batch_size": 2, "max_steps": 1, "eval_steps": None,
            "gradient_checkpointing": False, "report_to": "none",
        }))  # fmt: skip
        code, _, err = run_cli("train", config, "--out", tmp_path / "run")
        assert code == 0, err
        assert (tmp_path / "run" / "radllama_run.json").is_file()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
