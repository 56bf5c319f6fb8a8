"""`radllama serve` over real HTTP on loopback with the tiny model: the openai client, load with
malformed requests, overload (503 + Retry-After), timeouts, API keys, and the request log."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from radllama.evaluate.hallucination import hallucination_flags
from radllama.generation.inference import ImpressionModel
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine
from radllama.serving.server import ServeConfig, build_app, impress, start_in_thread

EXAM = "CT HEAD W/O"
FINDINGS = (
    "There is an acute subdural hematoma along the left convexity measuring 8 mm with 3 mm of "
    "midline shift."
)
MAX_TOKENS = 6  # keep generation short: the tests are about the server, not the text


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> ImpressionModel:
    return ImpressionModel.load(tiny_model_dir)


@pytest.fixture(scope="module")
def server(model):
    config = ServeConfig(max_batch_size=16, batch_wait_ms=20, max_queue=512)
    app = build_app(model, config)
    with start_in_thread(app) as running:
        running.app = app
        yield running


def _impression(findings: str = FINDINGS, **extra) -> dict:
    return {"exam_code": EXAM, "findings": findings, "max_tokens": MAX_TOKENS, **extra}


def test_openai_client_lists_models_and_completes(server, model):
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data] == [model.name]
    assert client.models.retrieve(model.name).id == model.name

    chat = client.chat.completions.create(
        model=model.name,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": FINDINGS},
        ],
        max_tokens=MAX_TOKENS,
        temperature=0,
    )
    assert chat.id.startswith("chatcmpl-") and chat.object == "chat.completion"
    assert chat.model == model.name and chat.created > 0
    choice = chat.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 1 <= chat.usage.completion_tokens <= MAX_TOKENS
    assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens

    # The server's answer is the model's own greedy answer to the same chat-templated prompt.
    prompt = model.tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": FINDINGS}],
        tokenize=False, add_generation_prompt=True,
    )  # fmt: skip
    from radllama.generation.inference import GenerationSettings

    direct = model.generate_prompts([prompt], GenerationSettings(max_new_tokens=MAX_TOKENS))[0]
    assert choice.message.content == direct.raw_text
    assert chat.usage.prompt_tokens == direct.prompt_tokens

    completion = client.completions.create(
        model=model.name, prompt="EXAM: CT HEAD\nFINDINGS:", max_tokens=4, temperature=0
    )
    assert completion.id.startswith("cmpl-") and completion.object == "text_completion"
    assert completion.choices[0].text.strip() and 1 <= completion.usage.completion_tokens <= 4

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_impressions_endpoint_matches_the_shared_impress_function(server, model):
    response = httpx.post(f"{server.root_url}/v1/impressions", json=_impression(), timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"impression", "model", "latency_ms", "flags"}
    assert body["impression"].strip() and body["model"] == model.name and body["latency_ms"] > 0
    assert body["flags"] == hallucination_flags(FINDINGS, body["impression"])
    local = impress(model, EXAM, FINDINGS, MAX_TOKENS)  # what `radllama impress --json` prints
    assert local["impression"] == body["impression"] and local["flags"] == body["flags"]
    assert response.headers["X-Request-ID"]


def _malformed(max_context: int) -> list[tuple[str, bytes, int, str | None]]:
    """(path, raw body, expected status, expected `param`) for bad requests of every kind."""
    too_long = " ".join(["pneumothorax"] * (max_context + 50))
    j = json.dumps
    return [
        ("/v1/impressions", b'{"exam_code": "CT", "findings": ', 400, None),  # malformed JSON
        ("/v1/impressions", j({"exam_code": "CT"}).encode(), 400, "findings"),
        ("/v1/impressions", j({"findings": FINDINGS}).encode(), 400, "exam_code"),
        ("/v1/impressions", j({"exam_code": 7, "findings": FINDINGS}).encode(), 400, "exam_code"),
        ("/v1/chat/completions", j({"messages": [{"role": "user", "content": "x"}],
                                    "stream": "yes"}).encode(), 400, "stream"),
        ("/v1/impressions", j(_impression("   ")).encode(), 400, "findings"),
        ("/v1/impressions", j(_impression(too_long)).encode(), 400, "findings"),
        ("/v1/impressions", j(_impression(max_tokens=0)).encode(), 400, "max_tokens"),
        ("/v1/impressions", j(_impression(max_tokens=10**6)).encode(), 400, "max_tokens"),
        ("/v1/impressions", j(_impression(max_tokens="6")).encode(), 400, "max_tokens"),
        ("/v1/impressions", j(_impression(colour="red")).encode(), 400, "colour"),
        ("/v1/impressions", j([_impression()]).encode(), 400, None),
        ("/v1/chat/completions", j({"messages": []}).encode(), 400, "messages"),
        ("/v1/chat/completions", j({"messages": [{"role": "robot", "content": "x"}]}).encode(),
         400, "messages.0.role"),
        ("/v1/chat/completions", j({"messages": [{"role": "user", "content": "x"}],
                                    "temperature": 5}).encode(), 400, "temperature"),
        ("/v1/chat/completions", j({"messages": [{"role": "user", "content": too_long}]}).encode(),
         400, "messages"),
        ("/v1/chat/completions", j({"messages": [{"role": "user", "content": "x"}],
                                    "model": "nope"}).encode(), 404, "model"),
        ("/v1/completions", j({"prompt": 42}).encode(), 400, "prompt"),
        ("/v1/completions", j({"prompt": "x", "n": 3}).encode(), 400, "n"),
        ("/v1/completions", b"", 400, None),
    ]  # fmt: skip


def test_100_concurrent_requests_with_20_malformed(server, model):
    malformed = _malformed(model.max_context)
    assert len(malformed) == 20
    good = [("/v1/impressions", json.dumps(_impression()).encode(), 200, None)] * 80
    requests = good + malformed
    # Interleave so bad requests arrive while good ones are queued and batching.
    order = [requests[i] for i in sorted(range(100), key=lambda i: (i * 37) % 100)]
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=100)
    with httpx.Client(base_url=server.root_url, timeout=120, limits=limits) as client:

        def send(item):
            path, raw, _, _ = item
            return item, client.post(path, content=raw, headers=headers)

        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(send, order))
        health = client.get("/health")

    statuses = [response.status_code for _, response in results]
    assert not [s for s in statuses if s >= 500], statuses
    for (_path, raw, expected, param), response in results:
        if expected == 200:
            assert response.status_code == 200, response.text
            assert response.json()["impression"].strip()
        else:
            assert response.status_code == expected, (raw[:80], response.text)
            error = response.json()["error"]
            assert error["message"] and error["param"] == param, (raw[:80], error)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = health.json()["batcher"]
    assert metrics["max_batch_size"] > 1  # concurrent callers shared generate calls
    assert metrics["requests"] >= 80 and metrics["batches"] < metrics["requests"]


def test_full_queue_answers_503_with_retry_after_and_recovers(model):
    config = ServeConfig(max_batch_size=4, batch_wait_ms=0, max_queue=2, request_timeout_s=60)
    app = build_app(model, config)
    batcher = app.state.batcher
    with (
        start_in_thread(app) as running,
        httpx.Client(base_url=running.root_url, timeout=60) as client,
    ):
        batcher.pause()  # the model is "busy": requests queue up
        with ThreadPoolExecutor(max_workers=2) as pool:
            waiting = [
                pool.submit(client.post, "/v1/impressions", json=_impression()) for _ in range(2)
            ]
            deadline = time.monotonic() + 30
            while client.get("/health").json()["batcher"]["queued"] < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            refused = client.post("/v1/impressions", json=_impression())
            assert refused.status_code == 503
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"]["code"] == "server_busy"
            batcher.resume()
            assert [f.result(60).status_code for f in waiting] == [200, 200]
        metrics = client.get("/metrics").json()
    assert metrics["batcher"]["rejected_queue_full"] == 1
    assert metrics["responses_by_status"]["503"] == 1


def test_request_timeout_answers_503_instead_of_hanging(model):
    app = build_app(model, ServeConfig(request_timeout_s=0.3, batch_wait_ms=0))
    with (
        start_in_thread(app) as running,
        httpx.Client(base_url=running.root_url, timeout=60) as client,
    ):
        app.state.batcher.pause()
        response = client.post("/v1/impressions", json=_impression())
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert "not answered within" in response.json()["error"]["message"]
        app.state.batcher.resume()
        assert client.post("/v1/impressions", json=_impression()).status_code == 200


class _FaultyEngine(ServingEngine):
    """Fault injection: the model raises on prompts containing a marker."""

    def run_batch(self, jobs):
        if any("[[explode]]" in job.prompt for job in jobs):
            raise RuntimeError("CUDA error: device-side assert triggered")
        return super().run_batch(jobs)


def test_generation_exception_is_503_and_spares_the_rest_of_the_batch(model):
    app = create_app(_FaultyEngine(model, ServeConfig(batch_wait_ms=0)))
    with (
        start_in_thread(app) as running,
        httpx.Client(base_url=running.root_url, timeout=60) as client,
    ):
        app.state.batcher.pause()  # both requests land in one batch
        with ThreadPoolExecutor(max_workers=2) as pool:
            bad = pool.submit(client.post, "/v1/impressions", json=_impression("[[explode]] lungs"))
            good = pool.submit(client.post, "/v1/impressions", json=_impression())
            while client.get("/health").json()["batcher"]["queued"] < 2:
                time.sleep(0.01)
            app.state.batcher.resume()
            bad, good = bad.result(60), good.result(60)
        assert bad.status_code == 503 and bad.json()["error"]["code"] == "generation_failed"
        assert good.status_code == 200 and good.json()["impression"].strip()
        assert client.get("/health").json()["status"] == "ok"


def test_api_key_is_enforced_when_set(model, monkeypatch):
    monkeypatch.setenv("RADLLAMA_TEST_KEY", "s3cret")
    app = build_app(model, ServeConfig(api_key_env="RADLLAMA_TEST_KEY"))
    with start_in_thread(app) as running:
        url = running.root_url
        assert httpx.get(f"{url}/v1/models").status_code == 401
        wrong = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        anonymous = httpx.post(f"{url}/v1/impressions", json=_impression())
        assert anonymous.status_code == 401
        assert httpx.get(f"{url}/health").status_code == 200  # probes need no key
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=running.base_url, api_key="nope", max_retries=0).models.list()
        client = openai.OpenAI(base_url=running.base_url, api_key="s3cret", max_retries=0)
        assert [m.id for m in client.models.list().data] == [model.name]


def test_request_log_has_ids_and_sizes_but_no_report_text(server, model, caplog):
    secret = "Zebrafindingword noted in the left apex with a 14 mm nodule."
    caplog.set_level(logging.INFO, logger="radllama.serving")
    response = httpx.post(f"{server.root_url}/v1/impressions", json=_impression(secret), timeout=60)
    chat = httpx.post(
        f"{server.base_url}/chat/completions",
        json={"messages": [{"role": "user", "content": secret}], "max_tokens": MAX_TOKENS},
        timeout=60,
    )
    bad = httpx.post(f"{server.root_url}/v1/impressions", json={"exam_code": secret}, timeout=60)
    assert (response.status_code, chat.status_code, bad.status_code) == (200, 200, 400)
    log = "\n".join(record.getMessage() for record in caplog.records)
    for answer in (response, chat, bad):
        assert f"id={answer.headers['X-Request-ID']}" in log
    assert "bytes_in=" in log and "completion_tokens=" in log and "ms=" in log
    assert "Zebrafinding" not in log and "nodule" not in log
    assert response.json()["impression"] not in log
    assert chat.json()["choices"][0]["message"]["content"] not in log


def test_generate_openai_backend_against_the_server_matches_in_process(
    server, model, tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch
):
    """`radllama generate --backend openai` pointed at the server reproduces the hf backend."""
    from radllama.core.jsonl import read_jsonl
    from radllama.generation.generate import GenerateConfig, generate_predictions

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    common = dict(data=tiny_data_dir, model=tiny_model_dir, max_new_tokens=MAX_TOKENS, limit=4)
    generate_predictions(GenerateConfig(out=tmp_path / "hf.jsonl", backend="hf", **common))
    generate_predictions(
        GenerateConfig(
            out=tmp_path / "served.jsonl",
            backend="openai",
            base_url=server.base_url,
            api_model=model.name,
            concurrency=4,
            **common,
        )  # fmt: skip
    )
    local = {r["report_id"]: r["prediction"] for r in read_jsonl(tmp_path / "hf.jsonl")}
    served = {r["report_id"]: r["prediction"] for r in read_jsonl(tmp_path / "served.jsonl")}
    assert len(served) == 4 and all(served.values())
    assert served == local
