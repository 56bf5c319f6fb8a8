"""Fault injection against a live loopback server (issue 13, item 1): chunked uploads without
Content-Length, slow headers and bodies, tokenisation off the event loop, lone surrogates.

Raw sockets stand in for hostile clients (httpx would refuse to send most of this). Assertions
are on behaviour (status codes, bytes the server accepted, connections closed, /health answering
while a request is being tokenised); time bounds are generous sanity limits only.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from radllama.generation.inference import ImpressionModel
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine
from radllama.serving.server import ServeConfig, build_app, start_in_thread

LIMIT = 64 * 1024  # bytes; small so that the tests move little data
CONFIG = ServeConfig(max_body_bytes=LIMIT, header_timeout_s=1.0, body_timeout_s=1.0)


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> ImpressionModel:
    return ImpressionModel.load(tiny_model_dir)


@pytest.fixture(scope="module")
def server(model):
    app = build_app(model, CONFIG)
    with start_in_thread(app) as running:
        yield running


def _connect(server) -> socket.socket:
    url = urlsplit(server.root_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    return sock


def _read_all(sock: socket.socket, timeout_s: float = 30) -> bytes:
    """Everything the server sends until it closes the connection (or the sanity timeout)."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def test_chunked_upload_without_content_length_is_cut_off_at_the_limit(server):
    total = 50 * 1024 * 1024  # what the client would like to send: 50 MB
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    rss_before = psutil.Process().memory_info().rss
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/impressions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    sent, answer = 0, b""
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(piece)
            readable, _, _ = select.select([sock], [], [], 0.005)
            if readable:  # the server answered before the upload finished
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_all(sock)
    sock.close()
    rss_growth = psutil.Process().memory_info().rss - rss_before
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"request_too_large" in answer
    # The server stopped reading: only the limit plus what socket buffers hold got through.
    assert sent < total // 4, sent
    assert rss_growth < 200 * 1024 * 1024, rss_growth  # bounded memory (generous)
    assert httpx.get(f"{server.root_url}/health").status_code == 200


def test_declared_content_length_over_the_limit_is_413_without_reading(server):
    response = httpx.post(
        f"{server.root_url}/v1/impressions", content=b"x" * (LIMIT + 1), timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_slow_body_gets_408_and_the_connection_is_closed(server):
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/impressions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n" + b'{"exam_code": '
    )  # ... and the other 86 bytes never come
    answer = _read_all(sock)  # returns when the server closes the connection
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer


def test_slow_headers_are_cut_off(server):
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/impressions HTTP/1.1\r\nHost: localhost\r\n"
    )  # never finishes its headers
    started = time.monotonic()
    sock.settimeout(30)
    try:
        closed = sock.recv(1024) == b""  # EOF: the server closed the connection
    except ConnectionResetError:
        closed = True
    except TimeoutError:
        closed = False
    sock.close()
    assert closed, "a client that never finished its headers kept its connection for 30 s"
    assert time.monotonic() - started < 30


def test_many_slow_clients_are_all_disconnected(server):
    socks = [_connect(server) for _ in range(50)]
    for i, sock in enumerate(socks):
        sock.sendall(b"GET /health HTTP/1.1\r\n" if i % 2 else b"POST /v1/impressions HTTP/1.1\r\n")
    # Meanwhile the server answers others.
    assert httpx.get(f"{server.root_url}/health", timeout=30).status_code == 200
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(_read_all, socks))
    for sock in socks:
        sock.close()
    assert all(answer == b"" for answer in answers)  # closed without a request being served


def test_oversized_headers_are_refused(server):
    response = httpx.get(f"{server.root_url}/health", headers={"X-Big": "a" * 100_000})
    assert response.status_code in (400, 431)  # h11 (trickled in) or the guard (complete)


class _SlowTokenizer(ServingEngine):
    """Fault injection: tokenising a prompt blocks until the test lets it go."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered, self.release = threading.Event(), threading.Event()

    def count_tokens(self, prompt: str) -> int:
        self.entered.set()
        assert self.release.wait(60)
        return super().count_tokens(prompt)


def test_health_answers_while_a_request_is_being_tokenised(model):
    engine = _SlowTokenizer(model, ServeConfig())
    app = create_app(engine)
    body = {"exam_code": "CT", "findings": "Lungs are clear. " * 20, "max_tokens": 3}
    with (
        start_in_thread(app) as running,
        httpx.Client(base_url=running.root_url, timeout=60) as client,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending = pool.submit(client.post, "/v1/impressions", json=body)
        assert engine.entered.wait(30)  # the request is inside the tokenizer now
        try:
            health = httpx.get(f"{running.root_url}/health", timeout=20)
        finally:
            engine.release.set()
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert pending.result(60).status_code == 200


@pytest.mark.parametrize(
    "path, raw, param",
    [
        ("/v1/impressions", '{"exam_code": "CT", "findings": "Lungs \\ud800 clear."}', "findings"),
        ("/v1/impressions", '{"exam_code": "\\udfff", "findings": "Lungs clear."}', "exam_code"),
        (
            "/v1/chat/completions",
            '{"messages": [{"role": "user", "content": "a\\ud800"}]}',
            "messages.0.content",
        ),
        ("/v1/completions", '{"prompt": "\\ud83d"}', "prompt"),
        ("/v1/completions", '{"prompt": "x", "model": "\\ud800"}', "model"),
    ],
)
def test_lone_surrogate_is_a_400_naming_the_field(server, path, raw, param):
    response = httpx.post(
        f"{server.root_url}{path}",
        content=raw.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "surrogate" in error["message"]
    # A proper pair (an emoji as JSON escapes) is valid text and is accepted.
    ok = httpx.post(
        f"{server.root_url}/v1/impressions",
        content=json.dumps({"exam_code": "CT", "findings": "Lungs clear \U0001f600", "max_tokens": 2})
        .encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )  # fmt: skip
    assert ok.status_code == 200
