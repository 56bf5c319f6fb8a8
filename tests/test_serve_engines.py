"""`radllama serve --engine-url` / `--engine vllm` without vLLM: radllama in front of a real
OpenAI-compatible engine on loopback (`tests/engine_server.py`, the tiny model generating), and
the one-line errors for an engine that is missing, does not answer or does not start, and the
engine's API key (``--engine-api-key-env``: sent as Bearer, never logged)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from engine_server import CompletionEngineServer

from radllama.generation.inference import ImpressionModel
from radllama.serving.engines import EngineProcess, open_engine
from radllama.serving.server import ServeConfig, build_app, start_in_thread

FINDINGS = [
    ("XR CHEST 2V", "The lungs are clear. No pleural effusion. Heart size is normal."),
    ("CT HEAD W/O", "No intracranial hemorrhage. Ventricles are normal in size."),
]


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    with CompletionEngineServer(tiny_model_dir, delay_s=0.3) as server:
        yield server


@pytest.fixture(scope="module")
def builtin_url(tiny_model_dir):
    app = build_app(ImpressionModel.load(tiny_model_dir, device="cpu"), ServeConfig())
    with start_in_thread(app) as server:
        yield server.root_url


@pytest.fixture(scope="module")
def fronted_url(tiny_model_dir, engine):
    config = ServeConfig(engine_url=engine.base_url, impression_max_tokens=24)
    with open_engine(tiny_model_dir, config) as (model, remote):
        assert model.model is None  # no weights in radllama's process
        with start_in_thread(build_app(model, config, remote)) as server:
            yield server.root_url


def _impression(root: str, exam: str, findings: str, stream: bool = False) -> dict:
    body = {"exam_code": exam, "findings": findings, "max_tokens": 24, "stream": stream}
    response = httpx.post(f"{root}/v1/impressions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    if not stream:
        return response.json()
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    deltas = "".join(e["text"] for e in events if e["type"] == "delta")
    done = events[-1]["response"]
    assert deltas == done["impression"]  # streamed text == the final text
    return done


def test_engine_url_writes_the_builtin_engines_impressions(builtin_url, fronted_url, engine):
    for exam, findings in FINDINGS:
        builtin = _impression(builtin_url, exam, findings)
        fronted = _impression(fronted_url, exam, findings)
        assert fronted["impression"] == builtin["impression"]
        assert fronted["flags"] == builtin["flags"]  # radllama's hallucination check, in front
        assert (
            _impression(fronted_url, exam, findings, stream=True)["impression"]
            == (builtin["impression"])
        )
    sent = engine.requests[-1]
    assert isinstance(sent["prompt"], list) and sent["stream"]  # token ids, streamed
    health = httpx.get(f"{fronted_url}/health").json()
    assert health["engine"] == {"kind": "url", "url": engine.base_url, "model": "tiny-engine",
                                "alive": True}  # fmt: skip


def test_engine_url_answers_the_openai_client_as_the_builtin_engine(builtin_url, fronted_url):
    messages = [{"role": "user", "content": "Lungs are clear."}]
    answers = []
    for root in (builtin_url, fronted_url):
        client = openai.OpenAI(base_url=f"{root}/v1", api_key="x", max_retries=0)
        name = client.models.list().data[0].id
        chat = client.chat.completions.create(model=name, messages=messages, max_tokens=8)
        streamed = client.chat.completions.create(
            model=name, messages=messages, max_tokens=8, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert text == chat.choices[0].message.content
        answers.append((chat.choices[0].message.content, chat.usage.completion_tokens))
    assert answers[0] == answers[1]


def test_engine_url_requests_reach_the_engine_concurrently(fronted_url, engine):
    engine.max_in_flight = 0
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda item: _impression(fronted_url, *item), FINDINGS * 2))
    # The builtin engine runs one batch at a time; an engine batches by itself, so radllama
    # hands requests over as they come (each waits delay_s=0.3 s at the engine first).
    assert engine.max_in_flight >= 2


def test_engine_context_limits_the_prompt(fronted_url, engine):
    response = httpx.post(f"{fronted_url}/v1/impressions",
                          json={"exam_code": "CT", "findings": "lungs " * 600})  # fmt: skip
    assert response.status_code == 400  # the engine's 512 tokens, checked before sending
    assert "context is 512" in response.json()["error"]["message"]


def test_engine_vllm_without_the_venv_is_one_line(run_cli, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RADLLAMA_ENGINES_DIR", str(tmp_path / "none"))
    code, out, err = run_cli("serve", tiny_model_dir, "--engine", "vllm")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "make engines" in err and "RADLLAMA_ENGINES_DIR" in err


def test_engine_url_that_does_not_answer_is_one_line(run_cli, tiny_model_dir):
    code, out, err = run_cli("serve", tiny_model_dir, "--engine-url", "http://127.0.0.1:9/v1")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "does not answer" in err and "127.0.0.1:9" in err


def test_engine_that_fails_to_start_is_one_line_with_its_log(run_cli, tiny_model_dir, tmp_path,
                                                             monkeypatch):  # fmt: skip
    # A real venv without vLLM in it: `python -m vllm.entrypoints...` exits at once.
    venv.create(tmp_path / "engines" / "vllm", with_pip=False)
    (tmp_path / "engines" / "vllm" / ".installed").touch()
    monkeypatch.setenv("RADLLAMA_ENGINES_DIR", str(tmp_path / "engines"))
    code, out, err = run_cli("serve", tiny_model_dir, "--engine", "vllm",
                             "--engine-state-dir", tmp_path / "state")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "exited (code 1) before it was ready" in err and "No module named 'vllm'" in err
    assert str(tmp_path / "state" / "logs") in err


def test_engine_options_that_contradict_are_one_line(run_cli, tiny_model_dir):
    code, _, err = run_cli("serve", tiny_model_dir, "--engine", "vllm",
                           "--engine-url", "http://127.0.0.1:9/v1")  # fmt: skip
    assert code == 2 and "pass one of them" in err
    code, _, err = run_cli("serve", tiny_model_dir, "--engine-url", "http://127.0.0.1:9/v1",
                           "--decode", "candidates")  # fmt: skip
    assert code == 2 and "engine=builtin" in err


def test_stopping_an_engine_stops_its_children(tmp_path):
    # vLLM's API server starts its engine core as a child: the whole process group must go.
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
              "print(child.pid, flush=True)\ntime.sleep(120)\n")  # fmt: skip
    process = EngineProcess([sys.executable, "-c", script], dict(os.environ), tmp_path / "e.log")
    deadline = time.monotonic() + 30
    while not (tmp_path / "e.log").read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int((tmp_path / "e.log").read_text().split()[0])
    process.stop(grace_s=5)
    assert not process.running
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    assert process.popen.returncode == -signal.SIGTERM


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_engine_api_key_goes_as_bearer_and_nowhere_else(tiny_model_dir, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, openai's and httpx's too
    secret = "s3cret-engine-key"
    monkeypatch.setenv("ENGINE_KEY", secret)
    with CompletionEngineServer(tiny_model_dir, api_key=secret) as keyed:
        config = ServeConfig(engine_url=keyed.base_url, engine_api_key_env="ENGINE_KEY")
        with open_engine(tiny_model_dir, config) as (model, remote):
            with start_in_thread(build_app(model, config, remote)) as server:
                done = _impression(server.root_url, *FINDINGS[0])
                health = httpx.get(f"{server.root_url}/health").text
    assert done["impression"] and keyed.requests
    assert keyed.authorizations and set(keyed.authorizations) == {f"Bearer {secret}"}
    assert secret not in health and secret not in caplog.text


def test_engine_that_wants_a_key_is_one_line(run_cli, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setenv("ENGINE_KEY", "wrong-key")
    with CompletionEngineServer(tiny_model_dir, api_key="right-key") as keyed:
        capsys.readouterr()  # the engine's own weight-loading progress
        for extra in ((), ("--engine-api-key-env", "ENGINE_KEY")):
            code, _, err = run_cli("serve", tiny_model_dir, "--engine-url", keyed.base_url, *extra)
            assert code == 2 and len(err.strip().splitlines()) == 1
            assert "401" in err and "wrong-key" not in err
    monkeypatch.delenv("ENGINE_KEY")
    code, _, err = run_cli("serve", tiny_model_dir, "--engine-url", "http://127.0.0.1:9/v1",
                           "--engine-api-key-env", "ENGINE_KEY")  # fmt: skip
    assert code == 2 and "ENGINE_KEY" in err and "unset or empty" in err
    code, _, err = run_cli("serve", tiny_model_dir, "--engine-api-key-env", "ENGINE_KEY")
    assert code == 2 and "with engine_url" in err


def test_engine_sockets_fit_however_deep_the_state_dir(tmp_path):
    # vLLM names ZeroMQ sockets TMPDIR/<uuid4>; a socket path holds at most 107 bytes.
    from radllama.generation.engines import EngineOptions, vllm_env

    shallow = vllm_env(EngineOptions(), tmp_path / "s")
    assert shallow["TMPDIR"] == str(tmp_path / "s" / "tmp") or len(str(tmp_path)) > 60
    deep = tmp_path / ("d" * 90) / "state"
    tmpdir = vllm_env(EngineOptions(), deep)["TMPDIR"]
    assert len(tmpdir) + 37 <= 107 and Path(tmpdir).is_dir()


def test_engine_args_reach_the_vllm_command(run_cli, tiny_model_dir, tmp_path, monkeypatch):
    from radllama.generation.engines import EngineOptions, vllm_command

    extra = ["--max-num-batched-tokens=256", "--block-size=32"]
    command, name = vllm_command(tmp_path / "python", tiny_model_dir,
                                 EngineOptions(engine_args=extra), 8123)  # fmt: skip
    assert command[-2:] == extra and name == tiny_model_dir.name
    assert command[command.index("--port") + 1] == "8123"
    # The CLI takes values that start with `--` (after `=`) and gets as far as the venv check.
    monkeypatch.setenv("RADLLAMA_ENGINES_DIR", str(tmp_path / "none"))
    code, _, err = run_cli("serve", tiny_model_dir, "--engine", "vllm",
                           "--engine-arg=--max-num-batched-tokens=256")  # fmt: skip
    assert code == 2 and "make engines" in err
