"""`radllama generate --backend vllm` on a LoRA run of SmolLM2: radllama starts vLLM (base +
adapter `rad`) from the engines venv, sends the prompts it renders as token ids, writes the
same rows as the hf backend, and stops vLLM when done. Minutes: vLLM takes 35-110 s to start.
(`generate --backend openai` at `radllama serve --engine vllm`: tests/engines/test_vllm.py.)"""

from __future__ import annotations

import json
import socket

import pytest
from engine_helpers import engine_or_skip

pytestmark = pytest.mark.engines

ROWS, MAX_NEW = 4, 32


def _rows(path) -> dict[str, dict]:
    return {r["report_id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_generate_backend_vllm_writes_the_hf_rows(smollm2_lora_run, tiny_data_dir, tmp_path):
    from radllama.generation.generate import GenerateConfig, generate_predictions

    engine_or_skip("vllm")
    common = dict(data=tiny_data_dir, model=smollm2_lora_run, max_new_tokens=MAX_NEW, limit=ROWS)
    hf_out, vllm_out = tmp_path / "hf.jsonl", tmp_path / "vllm.jsonl"
    generate_predictions(GenerateConfig(out=hf_out, **common))
    config = GenerateConfig(backend="vllm", out=vllm_out, engine_state_dir=tmp_path / "state",
                            concurrency=4, **common)  # fmt: skip
    summary = generate_predictions(config)
    assert summary.generated == ROWS and summary.errors == 0
    hf, got = _rows(hf_out), _rows(vllm_out)
    assert got.keys() == hf.keys()
    for report_id, row in got.items():
        assert row["prompt"] == hf[report_id]["prompt"]
        assert row["raw_output"] == hf[report_id]["raw_output"], report_id
        assert row["prompt_tokens"] == hf[report_id]["prompt_tokens"]
    # The engine it started is gone: its log says it shut down, and nothing listens any more.
    logs = list((tmp_path / "state" / "logs").glob("vllm-*.log"))
    assert len(logs) == 1
    port = int(logs[0].stem.split("-")[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "vLLM still listens"
