"""Fixtures for the engine tests (`make test-engines`): the SmolLM2 base that `radllama base`
writes, and a few-step LoRA run on it (minutes on 2 cores). To rerun against ones already
written, set RADLLAMA_TEST_SMOLLM2_BASE / RADLLAMA_TEST_LORA_RUN to their directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_helpers import REPO, radllama

# Runs inside the llama.cpp venv (imports llama_cpp): not a module for --doctest-modules here.
collect_ignore = ["llamacpp_probe.py"]


@pytest.fixture(scope="session")
def smollm2_base(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct as the HF directory `radllama base` writes from the bundled GGUF."""
    if os.environ.get("RADLLAMA_TEST_SMOLLM2_BASE"):
        return Path(os.environ["RADLLAMA_TEST_SMOLLM2_BASE"]).resolve()
    out = tmp_path_factory.mktemp("smollm2") / "base"
    radllama("base", "--out", out)
    return out


@pytest.fixture(scope="session")
def smollm2_lora_run(smollm2_base, tiny_data_dir, tmp_path_factory) -> Path:
    """A 4-step LoRA run on SmolLM2 (r=16, top 8 layers: configs/smollm2-cpu.yaml)."""
    if os.environ.get("RADLLAMA_TEST_LORA_RUN"):
        return Path(os.environ["RADLLAMA_TEST_LORA_RUN"]).resolve()
    out = tmp_path_factory.mktemp("smollm2_lora") / "run"
    radllama("train", REPO / "configs" / "smollm2-cpu.yaml", "--method", "lora",
             "--data", tiny_data_dir, "--model", smollm2_base, "--out", out,
             "--max-steps", "4", "--learning-rate", "0.002", "--save-steps", "4")  # fmt: skip
    return out
