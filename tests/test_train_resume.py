"""Interruption: SIGTERM mid-run writes a checkpoint and stops; --resume finishes the run with
exactly the weights of an uninterrupted one (same data order, same dropout RNG)."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from radllama.core.config import validate_config
from radllama.core.errors import ConfigError
from radllama.training import TrainConfig, train


class SigtermAtStep(TrainerCallback):
    """Sends this process a real SIGTERM at the end of step `step` (as a scheduler would)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _config(tiny_model_dir, tiny_data_dir, out, cache, **overrides) -> TrainConfig:
    values = dict(
        model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(out),
        cache_dir=str(cache), method="lora", max_length=512, per_device_train_batch_size=2,
        learning_rate=5e-3, max_steps=8, logging_steps=1, eval_steps=None, save_steps=100,
        gradient_checkpointing=False, report_to="none",
        lora={"dropout": 0.1},  # dropout makes the RNG state part of what must be restored
    )  # fmt: skip
    values.update(overrides)
    return validate_config(TrainConfig, values)


def test_sigterm_checkpoint_then_resume_equals_uninterrupted(
    tiny_model_dir, tiny_data_dir, tmp_path
):
    cache = tmp_path / "cache"
    straight = train(_config(tiny_model_dir, tiny_data_dir, tmp_path / "straight", cache))
    assert straight["final_metrics"]["steps"] == 8

    out = tmp_path / "interrupted"
    stopped = train(
        _config(tiny_model_dir, tiny_data_dir, out, cache), callbacks=[SigtermAtStep(3)]
    )
    assert stopped["status"] == "interrupted" and stopped["signal"] == "SIGTERM"
    assert (out / "checkpoints" / f"checkpoint-{stopped['step']}").is_dir()
    assert 3 <= stopped["step"] < 8 and not (out / "radllama_run.json").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored

    with pytest.raises(ConfigError, match="pass --resume"):
        train(_config(tiny_model_dir, tiny_data_dir, out, cache))
    with pytest.raises(ConfigError, match="seed differ"):
        train(_config(tiny_model_dir, tiny_data_dir, out, cache, resume=True, seed=7))

    resumed = train(_config(tiny_model_dir, tiny_data_dir, out, cache, resume=True))
    assert resumed["final_metrics"]["steps"] == 8
    expected = load_file(tmp_path / "straight" / "adapter_model.safetensors")
    actual = load_file(out / "adapter_model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.allclose(expected[name], actual[name], atol=1e-6, rtol=0), name


def test_resume_without_checkpoint_names_the_fix(run_cli, tiny_model_dir, tiny_data_dir, tmp_path):
    code, _, err = run_cli(
        "train", _write_config(tmp_path, tiny_model_dir, tiny_data_dir), "--resume",
        "--out", tmp_path / "fresh",
    )  # fmt: skip
    assert code == 2 and "no checkpoint" in err and "without --resume" in err


def _write_config(tmp_path, model, data):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"model": str(model), "data": str(data), "cache_dir": str(tmp_path / "cache"),
                                    "max_length": 512}))  # fmt: skip
    return path
