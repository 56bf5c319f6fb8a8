"""Streaming (`stream: true`) over real HTTP on loopback: the openai client's stream=True, the
SSE format, streams out of the dynamic batcher, disconnects, 503/timeouts, errors mid-stream."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from scripted_model import ScriptedLlama, scripted_model

from radllama.generation.inference import ImpressionModel
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine
from radllama.serving.server import ServeConfig, build_app, start_in_thread
from radllama.serving.streaming import RowDecoder

FINDINGS = (
    "There is an acute subdural hematoma along the left convexity measuring 8 mm with 3 mm of "
    "midline shift."
)
MAX_TOKENS = 12


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> ImpressionModel:
    return ImpressionModel.load(tiny_model_dir)


@pytest.fixture(scope="module")
def server(model):
    app = build_app(model, ServeConfig(max_batch_size=8, batch_wait_ms=20))
    with start_in_thread(app) as running:
        running.app = app
        yield running


def _client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def _sse_events(response: httpx.Response) -> list:
    """Parsed `data:` payloads of an event stream ("[DONE]" kept as a string)."""
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_openai_client_chat_stream_equals_the_non_streamed_answer(server, model):
    client = _client(server)
    messages = [{"role": "user", "content": FINDINGS}]
    whole = client.chat.completions.create(
        model=model.name, messages=messages, max_tokens=MAX_TOKENS, temperature=0
    )
    chunks = list(
        client.chat.completions.create(
            model=model.name,
            messages=messages,
            max_tokens=MAX_TOKENS,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content and text.strip()
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 2  # token by token, not one blob at the end
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == [whole.choices[0].finish_reason]
    # include_usage: the last chunk has no choices and the usage; the others carry usage=None.
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_completions_stream_and_raw_sse_format(server, model):
    body = {"model": model.name, "prompt": "EXAM: CT HEAD\nFINDINGS:", "max_tokens": MAX_TOKENS}
    whole = httpx.post(f"{server.base_url}/completions", json=body, timeout=60).json()
    with httpx.stream(
        "POST", f"{server.base_url}/completions", json=dict(body, stream=True), timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" and "usage" not in c for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]

    streamed = _client(server).completions.create(
        model=model.name, prompt=body["prompt"], max_tokens=MAX_TOKENS, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed) == whole["choices"][0]["text"]


def test_impressions_stream_ends_with_the_full_response(server):
    body = {"exam_code": "CT HEAD W/O", "findings": FINDINGS, "max_tokens": MAX_TOKENS}
    whole = httpx.post(f"{server.root_url}/v1/impressions", json=body, timeout=60).json()
    with httpx.stream(
        "POST", f"{server.root_url}/v1/impressions", json=dict(body, stream=True), timeout=60
    ) as response:
        events = _sse_events(response)
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    assert [e["type"] for e in events[len(deltas) :]] == ["done"]
    done = events[-1]["response"]
    assert "".join(deltas) == done["impression"] == whole["impression"]
    assert done["flags"] == whole["flags"] and done["model"] == whole["model"]


def test_concurrent_streams_share_one_batch_and_each_gets_its_own_text(server, model):
    prompts = ["EXAM: CT HEAD\nFINDINGS:", "The lungs are", "IMPRESSION:", "Heart size"]
    batcher = server.app.state.batcher
    whole = {}
    for prompt in prompts:  # one at a time: the reference answers
        body = {"prompt": prompt, "max_tokens": MAX_TOKENS}
        whole[prompt] = httpx.post(f"{server.base_url}/completions", json=body, timeout=60).json()
    before = batcher.snapshot()["batch_size_histogram"].get("4", 0)

    def stream(prompt: str) -> str:
        client = _client(server)
        chunks = client.completions.create(
            model=model.name, prompt=prompt, max_tokens=MAX_TOKENS, stream=True
        )
        return "".join(c.choices[0].text for c in chunks)

    batcher.pause()  # the four requests queue up and run as one batch
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {p: pool.submit(stream, p) for p in prompts}
        deadline = time.monotonic() + 30
        while batcher.snapshot()["queued"] < 4:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        batcher.resume()
        streamed = {p: f.result(60) for p, f in futures.items()}
    assert batcher.snapshot()["batch_size_histogram"].get("4", 0) == before + 1
    for prompt in prompts:
        assert streamed[prompt] == whole[prompt]["choices"][0]["text"]


def test_bad_fields_get_the_same_json_error_before_any_event(server):
    for body, param in [
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 5}, "temperature"),
        ({"messages": [], "stream": True}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "stream_options": {}}, "stream_options"),
    ]:
        plain = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60)
        streamed = httpx.post(
            f"{server.base_url}/chat/completions", json=dict(body, stream=True), timeout=60
        )
        if param == "stream_options":  # allowed with stream=true only
            assert plain.status_code == 400 and plain.json()["error"]["param"] == param
            assert streamed.status_code == 200
            continue
        assert streamed.status_code == plain.status_code == 400
        assert streamed.headers["content-type"] == "application/json"
        assert streamed.json() == plain.json() and streamed.json()["error"]["param"] == param
    bad = httpx.post(
        f"{server.root_url}/v1/impressions",
        json={"exam_code": "CT", "findings": "   ", "stream": True},
        timeout=60,
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "findings"


def test_stream_gets_503_json_when_the_queue_is_full_or_times_out(model):
    config = ServeConfig(max_batch_size=2, batch_wait_ms=0, max_queue=1, request_timeout_s=0.5)
    app = build_app(model, config)
    batcher = app.state.batcher
    body = {"prompt": "The lungs", "max_tokens": 4, "stream": True}
    with (
        start_in_thread(app) as running,
        httpx.Client(base_url=running.base_url, timeout=60) as client,
    ):
        batcher.pause()
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(client.post, "/completions", json=body)
            while batcher.snapshot()["queued"] < 1:
                time.sleep(0.01)
            full = client.post("/completions", json=body)
            timed_out = waiting.result(60)  # paused past request_timeout_s
        for response, code in ((full, "server_busy"), (timed_out, "server_busy")):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/json"
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["code"] == code
        assert "not answered within" in timed_out.json()["error"]["message"]
        batcher.resume()
        assert client.post("/completions", json=body).status_code == 200


class _FailingRow(RowDecoder):
    def push(self, token_id: int) -> None:
        super().push(token_id)
        if len(self.ids) == 3:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")


class _FailsMidStream(ServingEngine):
    """Fault injection: generation raises after a streaming row has produced 3 tokens."""

    def _row_decoder(self, job):
        row = super()._row_decoder(job)
        return _FailingRow(row.tokenizer, row.eos_ids, row.sink, row.stops, row.strip_prepend)


def test_error_mid_stream_ends_with_an_error_event(tiny_model_dir):
    model = scripted_model(tiny_model_dir, "Acute left subdural hematoma with midline shift.")
    app = create_app(_FailsMidStream(model, ServeConfig(batch_wait_ms=0)))
    with start_in_thread(app) as running:
        body = {"prompt": "x", "max_tokens": 30, "stream": True}
        with httpx.stream("POST", f"{running.base_url}/completions", json=body, timeout=60) as r:
            assert r.status_code == 200
            events = _sse_events(r)
        assert events[0]["choices"][0]["text"]  # text was streamed before the failure
        assert events[-1]["error"]["code"] == "generation_failed" and "[DONE]" not in events
        with pytest.raises(openai.APIError, match="generation failed"):
            list(
                openai.OpenAI(base_url=running.base_url, api_key="x", max_retries=0)
                .completions.create(model="scripted", prompt="x", max_tokens=30, stream=True)
            )  # fmt: skip
        # The server is still up and answers the next request.
        assert httpx.get(f"{running.root_url}/health").json()["status"] == "ok"


def test_a_client_that_disconnects_stops_its_row_and_frees_the_worker(tiny_model_dir):
    model = scripted_model(tiny_model_dir, " pneumothorax", repeat=True)  # never stops by itself
    app = build_app(model, ServeConfig(batch_wait_ms=0, max_tokens_limit=2000))
    max_tokens = 2000
    with start_in_thread(app) as running:
        ScriptedLlama.decode_steps = 0
        body = {"prompt": "x", "max_tokens": max_tokens, "stream": True}
        with httpx.stream("POST", f"{running.base_url}/completions", json=body, timeout=60) as r:
            lines = r.iter_lines()
            assert any(line.startswith("data: ") for line in lines)  # the first chunk arrived
        # The connection is closed: the server cancels the row and the batch ends early.
        deadline = time.monotonic() + 60
        batcher = app.state.batcher
        while batcher.snapshot()["requests"] < 1:  # the batch has finished
            assert time.monotonic() < deadline, "the cancelled stream kept the worker busy"
            time.sleep(0.05)
        steps_at_end = ScriptedLlama.decode_steps
        assert steps_at_end < max_tokens // 2, steps_at_end
        # The worker is free: a new request is answered.
        short = httpx.post(
            f"{running.base_url}/completions", json={"prompt": "x", "max_tokens": 3}, timeout=60
        )
        assert short.status_code == 200
        assert short.json()["usage"]["completion_tokens"] == 3


def test_a_stream_past_its_timeout_ends_with_an_error_event(tiny_model_dir):
    model = scripted_model(tiny_model_dir, " effusion", repeat=True)  # never stops by itself
    config = ServeConfig(batch_wait_ms=0, max_tokens_limit=2000, request_timeout_s=1.0)
    app = build_app(model, config)
    with start_in_thread(app) as running:
        body = {"prompt": "x", "max_tokens": 2000, "stream": True}
        with httpx.stream("POST", f"{running.base_url}/completions", json=body, timeout=60) as r:
            assert r.status_code == 200  # the first token came in time
            events = _sse_events(r)
        assert events[0]["choices"][0]["text"]
        error = events[-1]["error"]
        assert "not answered within 1 s" in error["message"] and error["retry_after"] >= 1
        assert "[DONE]" not in events
        deadline = time.monotonic() + 60
        while app.state.batcher.snapshot()["requests"] < 1:  # the cancelled row ended its batch
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert app.state.batcher.snapshot()["timed_out"] == 1


@pytest.mark.parametrize("stream", [True, False])
def test_a_queued_request_whose_client_left_never_runs(model, stream):
    app = build_app(model, ServeConfig(batch_wait_ms=0))
    batcher = app.state.batcher
    body = {"prompt": "The lungs", "max_tokens": 4, "stream": stream}
    with start_in_thread(app) as running:
        batcher.pause()  # the model is busy: the request waits in the queue
        with pytest.raises(httpx.ReadTimeout):  # the client gives up after 1 s and hangs up
            httpx.post(f"{running.base_url}/completions", json=body, timeout=1.0)
        deadline = time.monotonic() + 30
        while app.state.status_counts.get(499, 0) < 1:  # the server noticed the hang-up
            assert time.monotonic() < deadline
            time.sleep(0.02)
        batcher.resume()
        answered = httpx.post(f"{running.base_url}/completions", json=body | {"stream": False})
        assert answered.status_code == 200
        snapshot = batcher.snapshot()
        assert snapshot["requests"] == 1 and snapshot["queued"] == 0  # only the second one ran
