"""Safe by construction (issue 20), part 4: the server's queue before the model, its headers,
the Host names it answers for, and its log. Real HTTP on loopback with the tiny model.

The flood tests hold the preparation thread with a gate (an engine subclass whose
`impression_job` waits on an event, then does the real work), so the queue's state is known
exactly while requests arrive; nothing else is replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from radllama.generation.inference import ImpressionModel
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine
from radllama.serving.http_policy import CONTENT_SECURITY_POLICY
from radllama.serving.server import ServeConfig, build_app, start_in_thread

FINDINGS = "There is an acute subdural hematoma along the left convexity measuring 8 mm."
BODY = {"exam_code": "CT HEAD W/O", "findings": FINDINGS, "max_tokens": 2}


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> ImpressionModel:
    return ImpressionModel.load(tiny_model_dir)


class GatedEngine(ServingEngine):
    """Preparation waits for `gate` (then runs for real); `entered` counts preparations begun."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate, self.entered = threading.Event(), 0

    def impression_job(self, *args, **kwargs):
        self.entered += 1
        self.gate.wait(60)
        return super().impression_job(*args, **kwargs)


def _post(url: str) -> httpx.Response:
    return httpx.post(url + "/impressions", json=BODY, timeout=90)


def _wait_done(futures, n: int, limit_s: float = 30.0) -> list:
    deadline = time.monotonic() + limit_s
    while sum(f.done() for f in futures) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return [f for f in futures if f.done()]


def test_a_flood_is_bounded_and_refused_at_once_with_retry_after(model):
    engine = GatedEngine(model, ServeConfig(max_prep_queue=3, batch_wait_ms=0))
    app = create_app(engine)
    with start_in_thread(app) as server, ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(_post, server.base_url) for _ in range(12)]
        refused = _wait_done(futures, 9)  # while the gate is shut: only refusals can finish
        assert len(refused) == 9, "today's queue took every request and kept it waiting"
        for future in refused:
            response = future.result()
            assert response.status_code == 503
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["code"] == "server_busy"
            assert "max_prep_queue=3" in response.json()["error"]["message"]
        health = httpx.get(server.root_url + "/health", timeout=10).json()
        assert health["prep"]["waiting"] == 3 and health["prep"]["rejected_queue_full"] == 9
        engine.gate.set()
        assert [f.result().status_code for f in futures if f not in refused] == [200, 200, 200]
    assert engine.entered == 3  # refused requests were never prepared


def test_waiting_to_be_tokenised_counts_against_the_request_deadline(model):
    engine = GatedEngine(model, ServeConfig(request_timeout_s=1, batch_wait_ms=0))
    app = create_app(engine)
    with start_in_thread(app) as server, ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(_post, server.base_url) for _ in range(3)]
        answered = _wait_done(futures, 3)  # the gate stays shut: they time out waiting
        assert len(answered) == 3, "today's requests waited for the tokeniser past the timeout"
        for future in answered:
            response = future.result()
            assert response.status_code == 503 and "Retry-After" in response.headers
            assert "in time" in response.json()["error"]["message"]
        engine.gate.set()
        engine.gate = threading.Event()
        engine.gate.set()
        assert _post(server.base_url).status_code == 200
    assert engine.entered == 2  # the first (already running) and the last; the others never ran


@pytest.fixture(scope="module")
def server(model):
    app = build_app(model, ServeConfig(batch_wait_ms=0, allowed_hosts=["radllama.hospital.org"]))
    with start_in_thread(app) as running:
        yield running


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/health"])
def test_security_headers_on_the_page_and_its_files(server, path):
    response = httpx.get(server.root_url + path, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_responses_with_report_text_are_never_cached(server):
    answers = [
        httpx.post(server.base_url + "/impressions", json=BODY, timeout=60),
        httpx.post(server.base_url + "/impressions", json={**BODY, "stream": True}, timeout=60),
        httpx.post(server.base_url + "/impressions", json={"findings": 3}, timeout=60),  # 400
        httpx.get(server.root_url + "/", timeout=60),
    ]
    assert [a.status_code for a in answers] == [200, 200, 400, 200]
    for answer in answers:
        assert answer.headers.get_list("Cache-Control") == ["no-store"], answer.request.url


@pytest.mark.parametrize(
    "host, status",
    [
        ("evil.example", 421),  # DNS rebinding: a page elsewhere whose name resolves here
        ("evil.example:{port}", 421),
        ("127.0.0.1.evil.example", 421),
        ("localhost:{port}", 200),
        ("[::1]:{port}", 200),
        ("127.0.0.1:{port}", 200),
        ("RADLLAMA.hospital.org", 200),  # --allowed-host
    ],
)
def test_only_allowed_host_names_are_served(server, host, status):
    port = server.root_url.rsplit(":", 1)[1]
    for path in ("/", "/v1/models"):
        response = httpx.get(
            server.root_url + path, headers={"Host": host.format(port=port)}, timeout=30
        )
        assert response.status_code == status, (host, path, response.text)
    if status == 421:
        assert response.json()["error"]["code"] == "host_not_allowed"
        assert "--allowed-host" in response.json()["error"]["message"]


def test_the_allow_list_defaults_and_options():
    from radllama.serving.http_policy import allowed_hosts

    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert "10.0.0.5" in allowed_hosts("10.0.0.5")  # clients reach it by its address
    assert allowed_hosts("0.0.0.0") == {"localhost", "127.0.0.1", "::1"}  # a wildcard is no name
    assert allowed_hosts("0.0.0.0", ["Reports.Example."]) >= {"reports.example"}
    assert allowed_hosts("0.0.0.0", ["*"]) is None


def test_a_wildcard_bind_without_names_or_key_warns_before_serving():
    from radllama.serving.server import ServeConfig, bind_warnings

    assert bind_warnings(ServeConfig(host="127.0.0.1"), None) == []
    wildcard = bind_warnings(ServeConfig(host="0.0.0.0"), None)
    assert len(wildcard) == 2 and "--api-key-env" in wildcard[0]
    assert "421" in wildcard[1] and "--allowed-host NAME" in wildcard[1]
    named = ServeConfig(host="0.0.0.0", allowed_hosts=["reports.example"])
    assert bind_warnings(named, "key") == []
    # bound to its own address, clients reach it by that address: no Host warning
    assert bind_warnings(ServeConfig(host="10.0.0.5"), "key") == []


def test_serve_has_a_repeatable_allowed_host_option(run_cli):
    code, out, err = run_cli("serve", "--help")
    assert code == 0 and "--allowed-host" in out


def test_a_percent_encoded_line_break_cannot_forge_a_log_line(server, caplog):
    caplog.set_level(logging.INFO, logger="radllama.serving")
    forged = "/v1/models/x%0d%0a2026-12-07 INFO request id=forged status=200%00"
    response = httpx.get(server.root_url + forged, timeout=30)
    assert response.status_code == 404
    lines = [r.getMessage() for r in caplog.records if "method=GET" in r.getMessage()]
    assert lines, "no request line logged"
    for line in lines:
        assert not any(ord(char) < 32 or ord(char) == 127 for char in line), repr(line)
    assert any("x%0D%0A2026-12-07%20INFO%20request%20id=forged" in line for line in lines)
