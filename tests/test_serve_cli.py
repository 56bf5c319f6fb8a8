"""`radllama serve` as a user runs it: a real process on loopback answering the openai client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import openai

from radllama.serving.server import ServeConfig, resolve_api_key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_command_answers_the_openai_client(tiny_model_dir, tmp_path):
    port = _free_port()
    env = dict(os.environ, RADLLAMA_SERVE_KEY="k-123")
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "radllama.cli", "serve", str(tiny_model_dir), "--port", str(port),
             "--api-key-env", "RADLLAMA_SERVE_KEY", "--max-batch-size", "4",
             "--max-body-bytes", "4096"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="k-123", max_retries=0
        )
        chat = client.chat.completions.create(
            model=tiny_model_dir.name,
            messages=[{"role": "user", "content": "Lungs are clear. Quokkaword."}],
            max_tokens=4,
        )
        assert chat.choices[0].message.content.strip()
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
        streamed = client.chat.completions.create(
            model=tiny_model_dir.name,
            messages=[{"role": "user", "content": "Lungs are clear. Quokkaword."}],
            max_tokens=4,
            stream=True,
        )
        assert "".join(c.choices[0].delta.content or "" for c in streamed) == (
            chat.choices[0].message.content
        )
        too_big = httpx.post(
            f"http://127.0.0.1:{port}/v1/impressions",
            headers={"Authorization": "Bearer k-123"},
            json={"exam_code": "CT", "findings": "x" * 5000},
        )
        assert too_big.status_code == 413  # --max-body-bytes 4096
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "Impression draft" in page.text  # no key for the page
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    log = log_path.read_text()
    assert "path=/v1/chat/completions status=200" in log and "Quokkaword" not in log


def test_serve_command_refuses_an_unset_api_key_variable(run_cli, tiny_model_dir, monkeypatch):
    monkeypatch.delenv("RADLLAMA_UNSET_KEY", raising=False)
    code, _, err = run_cli("serve", tiny_model_dir, "--api-key-env", "RADLLAMA_UNSET_KEY")
    assert code == 2 and "RADLLAMA_UNSET_KEY" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("serve", tiny_model_dir, "--max-batch-size", "0")
    assert code == 2 and "max_batch_size" in err


def test_api_key_comes_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("RADLLAMA_SOME_KEY", " abc ")
    assert resolve_api_key(ServeConfig(api_key_env="RADLLAMA_SOME_KEY")) == "abc"
    assert resolve_api_key(ServeConfig()) is None


def test_server_serves_a_lora_run_directory(tiny_model_dir, tiny_data_dir, tmp_path):
    """A RUN_DIR from `radllama train` (adapter + run file) answers the openai client."""
    from radllama.core.config import validate_config
    from radllama.generation.inference import ImpressionModel
    from radllama.serving.server import build_app, start_in_thread
    from radllama.training import TrainConfig, train

    config = validate_config(TrainConfig, dict(
        model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"), method="lora", max_length=512,
        per_device_train_batch_size=2, learning_rate=2e-2, max_steps=2, logging_steps=1,
        eval_steps=None, save_steps=100, gradient_checkpointing=False, report_to="none",
    ))  # fmt: skip
    train(config)
    model = ImpressionModel.load(tmp_path / "run")
    findings = "No intracranial hemorrhage, mass effect or midline shift."
    with start_in_thread(build_app(model)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["run"]
        chat = client.chat.completions.create(
            model="run", messages=model.messages("CT HEAD W/O", findings), max_tokens=5
        )
        served = httpx.post(
            f"{server.root_url}/v1/impressions",
            json={"exam_code": "CT HEAD W/O", "findings": findings, "max_tokens": 5},
            timeout=60,
        ).json()
    from radllama.generation.inference import GenerationSettings

    direct = model.generate([("CT HEAD W/O", findings)], GenerationSettings(max_new_tokens=5))[0]
    assert chat.choices[0].message.content == direct.raw_text
    assert served["impression"] == direct.prediction
