"""`radllama serve RUN_DIR --engine vllm` on a LoRA run of SmolLM2 (vLLM CPU, base + adapter
`rad`): the same greedy text as the builtin engine through /v1/impressions and the openai
client, streamed and not; `generate` through it (openai backend at radllama, vllm backend at
the engine's URL) writes the hf backend's rows; stopping radllama stops vLLM. Minutes: vLLM
takes 35-110 s to start.

(The tiny test model cannot run here: vLLM's CPU attention needs a head size of 32 or more.)
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from engine_helpers import engine_or_skip

pytestmark = pytest.mark.engines

FINDINGS = [
    (
        "XR CHEST 2V",
        "The lungs are clear without focal consolidation. No pleural effusion or "
        "pneumothorax. Heart size is normal.",
    ),  # fmt: skip
    (
        "CT HEAD W/O",
        "No acute intracranial hemorrhage, mass effect or midline shift. The "
        "ventricles are normal in size.",
    ),  # fmt: skip
    ("XR CHEST 2V", "There is a right lower lobe consolidation. Small right pleural effusion."),
]
MAX_TOKENS = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every live (non-zombie) process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                found[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return found


@pytest.fixture(scope="module")
def vllm_server(smollm2_lora_run, tmp_path_factory):
    engine_or_skip("vllm")
    port = _free_port()
    state = tmp_path_factory.mktemp("vllm_state")
    log_path = state / "radllama.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "radllama.cli", "serve", str(smollm2_lora_run), "--port",
             str(port), "--engine", "vllm", "--engine-state-dir", str(state)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{root}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "radllama serve --engine vllm did not come up"
            time.sleep(1)
        yield process, root, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def builtin_root(smollm2_lora_run):
    from radllama.generation.inference import ImpressionModel
    from radllama.serving.server import ServeConfig, build_app, start_in_thread

    app = build_app(ImpressionModel.load(smollm2_lora_run, device="cpu"), ServeConfig())
    with start_in_thread(app) as server:
        yield server.root_url


def _impression(root: str, exam: str, findings: str, stream: bool) -> str:
    body = {"exam_code": exam, "findings": findings, "max_tokens": MAX_TOKENS, "stream": stream}
    response = httpx.post(f"{root}/v1/impressions", json=body, timeout=300)
    assert response.status_code == 200, response.text
    if not stream:
        return response.json()["impression"]
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert events[-1]["type"] == "done" and events[-1]["response"]["impression"] == text
    return text


def test_vllm_writes_the_builtin_engines_impressions(vllm_server, builtin_root):
    _, root, _ = vllm_server
    health = httpx.get(f"{root}/health").json()
    assert health["engine"]["kind"] == "vllm" and health["engine"]["model"] == "rad"
    for exam, findings in FINDINGS:
        expected = _impression(builtin_root, exam, findings, stream=False)
        assert expected  # the run writes something
        assert _impression(root, exam, findings, stream=False) == expected
        assert _impression(root, exam, findings, stream=True) == expected


def test_vllm_answers_the_openai_client_as_the_builtin_engine(vllm_server, builtin_root):
    _, root, _ = vllm_server
    messages = [{"role": "user", "content": "List two causes of a pleural effusion."}]
    answers = []
    for base in (builtin_root, root):
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0, timeout=300)
        name = client.models.list().data[0].id
        chat = client.chat.completions.create(model=name, messages=messages, max_tokens=24)
        streamed = client.chat.completions.create(
            model=name, messages=messages, max_tokens=24, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert text == chat.choices[0].message.content
        answers.append(text)
    assert answers[0] == answers[1]


@pytest.fixture(scope="module")
def hf_rows(smollm2_lora_run, tiny_data_dir, tmp_path_factory):
    from radllama.generation.generate import GenerateConfig, generate_predictions

    out = tmp_path_factory.mktemp("hf") / "hf.jsonl"
    generate_predictions(GenerateConfig(data=tiny_data_dir, model=smollm2_lora_run, out=out,
                                        max_new_tokens=MAX_TOKENS, limit=4))  # fmt: skip
    return {r["report_id"]: r for r in map(json.loads, out.read_text().splitlines())}


@pytest.mark.parametrize("how", ["openai-at-radllama", "vllm-at-engine-url"])
def test_generate_through_the_engine_writes_the_hf_rows(
    vllm_server, smollm2_lora_run, tiny_data_dir, hf_rows, how, tmp_path
):
    """The README's two ways for `generate` to use a running vLLM: the openai backend at
    `radllama serve --engine vllm`, or the vllm backend at the engine's own URL."""
    from radllama.generation.generate import GenerateConfig, generate_predictions

    _, root, _ = vllm_server
    if how == "openai-at-radllama":
        name = httpx.get(f"{root}/v1/models").json()["data"][0]["id"]
        backend = dict(backend="openai", base_url=f"{root}/v1", api_model=name)
    else:
        engine_url = httpx.get(f"{root}/health").json()["engine"]["url"]
        backend = dict(backend="vllm", base_url=engine_url)
    out = tmp_path / "preds.jsonl"
    summary = generate_predictions(GenerateConfig(
        data=tiny_data_dir, model=smollm2_lora_run, out=out, max_new_tokens=MAX_TOKENS, limit=4,
        system=smollm2_lora_run.name, **backend))  # fmt: skip
    assert summary.generated == 4 and summary.errors == 0
    got = {r["report_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert got.keys() == hf_rows.keys()
    for report_id, row in got.items():
        assert row["prompt"] == hf_rows[report_id]["prompt"]
        assert row["raw_output"] == hf_rows[report_id]["raw_output"], (how, report_id)


def test_stopping_radllama_stops_vllm(vllm_server):
    process, _, log_path = vllm_server
    engine = [pid for pid, (ppid, _) in _processes().items() if ppid == process.pid]
    assert engine, "radllama has no engine child"
    group = [pid for pid, (_, sid) in _processes().items() if sid in engine]
    assert len(group) >= 1
    process.send_signal(signal.SIGINT)
    process.wait(timeout=90)
    deadline = time.monotonic() + 30
    while any(pid in _processes() for pid in group) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [pid for pid in group if pid in _processes()], log_path.read_text()[-2000:]
