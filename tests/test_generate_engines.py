"""`radllama generate --backend vllm` without vLLM: against a real OpenAI-compatible completion
engine on loopback (`tests/engine_server.py`, the tiny model generating) it writes the hf
backend's rows (token-id prompts rendered by radllama); the engine's API key goes as Bearer and
nowhere else; a missing engine venv is one line. (vLLM itself: tests/engines/test_vllm.py.)"""

from __future__ import annotations

import json
import logging

import pytest
from engine_server import CompletionEngineServer

from radllama.generation.generate import GenerateConfig, generate_predictions

SECRET = "s3cret-engine-key"


def read_rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    with CompletionEngineServer(tiny_model_dir, delay_s=0.2, api_key=SECRET) as server:
        yield server


def test_vllm_backend_at_a_running_engine_writes_the_hf_rows(
    tiny_model_dir, tiny_data_dir, engine, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, openai's and httpx's too
    monkeypatch.setenv("ENGINE_KEY", SECRET)
    hf_out, engine_out = tmp_path / "hf.jsonl", tmp_path / "engine.jsonl"
    common = dict(data=tiny_data_dir, max_new_tokens=6, limit=6, model=tiny_model_dir)
    generate_predictions(GenerateConfig(out=hf_out, **common))
    engine.max_in_flight, engine.requests[:] = 0, []
    config = GenerateConfig(backend="vllm", base_url=engine.base_url, api_key_env="ENGINE_KEY",
                            out=engine_out, concurrency=3, **common)  # fmt: skip
    summary = generate_predictions(config)
    assert summary.generated == 6 and summary.errors == 0
    hf = {r["report_id"]: r for r in read_rows(hf_out)}
    got = {r["report_id"]: r for r in read_rows(engine_out)}
    assert got.keys() == hf.keys()
    for report_id, row in got.items():  # same prompt, same greedy answer and counts
        for key in ("system", "prompt", "raw_output", "prediction", "prompt_tokens",
                    "completion_tokens", "finish_reason"):  # fmt: skip
            assert row[key] == hf[report_id][key], key
    assert all(isinstance(r["prompt"], list) for r in engine.requests)  # token ids
    assert engine.max_in_flight >= 2  # the engine batches: rows go to it concurrently
    assert set(engine.authorizations[-6:]) == {f"Bearer {SECRET}"}
    assert SECRET not in caplog.text


def test_vllm_backend_without_the_key_is_one_line(tiny_model_dir, tiny_data_dir, engine,
                                                  tmp_path, run_cli, monkeypatch):  # fmt: skip
    monkeypatch.delenv("ENGINE_KEY", raising=False)
    code, _, err = run_cli("generate", "--backend", "vllm", "--base-url", engine.base_url,
                           "--model", tiny_model_dir, "--data", tiny_data_dir,
                           "--out", tmp_path / "p.jsonl", "--api-key-env", "ENGINE_KEY")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "401" in err and "API key" in err


def test_vllm_backend_without_the_engine_venv_is_one_line(tiny_model_dir, tiny_data_dir,
                                                          tmp_path, run_cli, monkeypatch):  # fmt: skip
    monkeypatch.setenv("RADLLAMA_ENGINES_DIR", str(tmp_path / "none"))
    code, _, err = run_cli("generate", "--backend", "vllm", "--model", tiny_model_dir,
                           "--data", tiny_data_dir, "--out", tmp_path / "p.jsonl")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "make engines" in err and "RADLLAMA_ENGINES_DIR" in err
    assert not (tmp_path / "p.jsonl").exists()


def test_vllm_backend_needs_a_model(tiny_data_dir, tmp_path, run_cli):
    code, _, err = run_cli("generate", "--backend", "vllm", "--base-url", "http://127.0.0.1:9/v1",
                           "--data", tiny_data_dir, "--out", tmp_path / "p.jsonl")  # fmt: skip
    assert code == 2 and "--model" in err
