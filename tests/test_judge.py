"""LLM judge against a scripted OpenAI-compatible server over real HTTP on loopback."""

from __future__ import annotations

import json
import socket

import pytest
from judge_server import ScriptedChatServer, marker

from radllama.core.artifacts import ArtifactError, DataManifest
from radllama.core.errors import ConfigError, RadllamaError
from radllama.core.guard import PHIGuardError, check_phi_guard, is_loopback_host, is_loopback_url
from radllama.evaluate import judge
from radllama.evaluate.judge import (
    PROMPT_VERSION,
    JudgeConfig,
    backoff_delay,
    build_judge_messages,
    cache_key,
    judge_predictions,
    parse_judge_answer,
)


def _manifest(deid: dict | None) -> DataManifest:
    """A minimal dataset manifest with the given `deid` section."""
    data = {"data_hash": "h", "counts": {"input_rows": 1, "kept": 1}, "prompt_style": {}}
    return DataManifest.parse({**data, "schema_version": 1, "deid": deid}, "test")


def _row(report_id: str, behaviour: str = "good:7") -> dict:
    return {
        "report_id": report_id,
        "exam_code": "CT CHEST",
        "findings": f"Small right pleural effusion. Case {report_id}.",
        "prediction": f"Small right pleural effusion. {marker(behaviour)}",
        "reference": "Small right pleural effusion.",
    }


def _config(server: ScriptedChatServer, **overrides) -> JudgeConfig:
    # Tiny back-offs: tests exercise the retry path, not the waiting.
    settings = {
        "base_url": server.base_url,
        "model": "judge-test",
        "initial_backoff_s": 0.001,
        "max_backoff_s": 0.01,
        "max_retries": 2,
        "timeout_s": 5,
    }
    return JudgeConfig(**(settings | overrides))


def _attempts(server: ScriptedChatServer, behaviour: str) -> int:
    return sum(marker(behaviour) in json.dumps(body) for body in server.requests)


@pytest.fixture
def server():
    with ScriptedChatServer() as running:
        yield running


def test_good_answers_are_parsed_and_json_mode_requested(server):
    rows = [_row("a", "good:3"), _row("b", "fenced:4.5"), _row("c", "good:10")]
    result = judge_predictions(rows, _config(server))
    assert [s["score"] for s in result["per_sample"]] == [3.0, 4.5, 10.0]
    assert [s["report_id"] for s in result["per_sample"]] == ["a", "b", "c"]
    assert "score 3.0" in result["per_sample"][0]["explanation"]
    summary = result["summary"]
    assert (summary["n"], summary["n_scored"], summary["n_failed"]) == (3, 3, 0)
    assert summary["mean_score"] == pytest.approx((3 + 4.5 + 10) / 3)
    assert summary["prompt_version"] == PROMPT_VERSION and summary["model"] == "judge-test"
    body = server.requests[0]
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0.0 and body["model"] == "judge-test"
    # The judge sees the criteria and the case.
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    for criterion in ("Missing key findings", "Unsupported conclusions", "Stylistic concordance"):
        assert criterion in system
    assert "CT CHEST" in user and "Small right pleural effusion." in user


def test_unparseable_answers_are_counted_not_raised(server):
    rows = [_row("m", "malformed"), _row("o", "outofrange"), _row("n", "nonnumeric"), _row("g")]
    result = judge_predictions(rows, _config(server))
    samples = result["per_sample"]
    assert [s["status"] for s in samples] == ["unparseable"] * 3 + ["scored"]
    assert all(s["score"] is None and "unparseable" in s["error"] for s in samples[:3])
    assert "outside 0-10" in samples[1]["error"] and "not a number" in samples[2]["error"]
    assert samples[0]["explanation"].startswith("The impression looks")  # raw answer kept
    summary = result["summary"]
    assert (summary["n_unparseable"], summary["n_scored"], summary["mean_score"]) == (3, 1, 7.0)
    assert "3 unparseable" in summary["message"]


def test_server_error_then_success_is_retried(server):
    result = judge_predictions([_row("r", "fail500:2")], _config(server, max_retries=2))
    assert result["per_sample"][0]["score"] == 8.0
    assert _attempts(server, "fail500:2") == 3


def test_persistent_500_is_a_counted_failure_and_other_rows_survive(server):
    rows = [_row("bad", "fail500"), _row("ok1", "good:6"), _row("ok2", "good:8")]
    result = judge_predictions(rows, _config(server, max_retries=2))
    bad, ok1, ok2 = result["per_sample"]
    assert bad["status"] == "failed" and bad["score"] is None
    assert "HTTP 500" in bad["error"] and "after 3 attempts" in bad["error"]
    assert (ok1["score"], ok2["score"]) == (6.0, 8.0)
    assert _attempts(server, "fail500") == 3
    summary = result["summary"]
    assert (summary["n_failed"], summary["n_scored"], summary["mean_score"]) == (1, 2, 7.0)
    assert "1 failed" in summary["message"] and "HTTP 500" in summary["message"]


def test_client_error_is_not_retried(server):
    result = judge_predictions([_row("x", "bad400")], _config(server, json_mode=False))
    assert result["per_sample"][0]["status"] == "failed"
    assert "HTTP 400" in result["per_sample"][0]["error"]
    assert _attempts(server, "bad400") == 1


def test_timeout_is_retried(server):
    config = _config(server, timeout_s=0.3, max_retries=2)
    result = judge_predictions([_row("t", "slowfirst:1:1.5")], config)
    assert result["per_sample"][0]["score"] == 5.0
    assert _attempts(server, "slowfirst:1:1.5") == 2


def test_rate_limit_honours_retry_after(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(judge, "_sleep", delays.append)
    with ScriptedChatServer(retry_after="0.25") as server:
        result = judge_predictions([_row("q", "rate429:2")], _config(server, max_backoff_s=5))
        assert _attempts(server, "rate429:2") == 3
    assert result["per_sample"][0]["score"] == 9.0
    # Our own back-off would be ~0.001 s; the server asked for 0.25 s.
    assert len(delays) == 2 and all(d >= 0.25 for d in delays)


def test_cache_answers_reruns_without_asking(server, tmp_path):
    rows = [_row("a", "good:2"), _row("b", "malformed"), _row("c", "good:9")]
    config = _config(server, cache_dir=tmp_path / "cache")
    first = judge_predictions(rows, config)
    asked = server.request_count
    assert asked == 3 and not any(s["cached"] for s in first["per_sample"])
    second = judge_predictions(rows, config)
    assert server.request_count == asked  # nothing re-asked
    assert all(s["cached"] for s in second["per_sample"]) and second["summary"]["n_cached"] == 3
    assert [s["score"] for s in second["per_sample"]] == [2.0, None, 9.0]
    assert second["summary"]["n_unparseable"] == 1
    # A different judge model is a different key: asked again.
    judge_predictions(rows[:1], _config(server, cache_dir=tmp_path / "cache", model="other"))
    assert server.request_count == asked + 1


def test_failed_requests_are_not_cached(server, tmp_path):
    config = _config(server, cache_dir=tmp_path / "cache", max_retries=0)
    judge_predictions([_row("f", "fail500")], config)
    judge_predictions([_row("f", "fail500")], config)
    assert server.request_count == 2


def test_concurrency_is_bounded(server):
    rows = [_row(str(i), "sleep:0.2") for i in range(10)]
    result = judge_predictions(rows, _config(server, concurrency=3))
    assert result["summary"]["n_scored"] == 10
    assert 2 <= server.max_in_flight <= 3


def test_identical_prompts_are_asked_once(server):
    result = judge_predictions([_row("same"), _row("same")], _config(server))
    assert server.request_count == 1
    assert [s["score"] for s in result["per_sample"]] == [7.0, 7.0]


def test_json_mode_falls_back_when_unsupported():
    with ScriptedChatServer(json_mode_supported=False) as server:
        result = judge_predictions([_row("a", "good:4"), _row("b", "fenced:5")], _config(server))
        assert [s["score"] for s in result["per_sample"]] == [4.0, 5.0]
        assert result["summary"]["json_mode"] is False
        assert "response_format" in server.requests[0]
        assert "response_format" not in server.requests[-1]


def test_bad_request_does_not_switch_json_mode_off(server):
    result = judge_predictions([_row("x", "bad400")], _config(server, concurrency=1))
    assert result["per_sample"][0]["status"] == "failed"
    assert result["summary"]["json_mode"] is True


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens here any more


def test_endpoint_down_counts_failures_and_stops_early():
    config = JudgeConfig(
        base_url=_dead_url(),
        model="m",
        initial_backoff_s=0.001,
        max_retries=1,
        concurrency=1,
        max_consecutive_failures=2,
    )
    result = judge_predictions([_row(str(i)) for i in range(5)], config)
    samples = result["per_sample"]
    assert all(s["status"] == "failed" for s in samples)
    assert "connection error" in samples[0]["error"]
    assert all(s["error"].startswith("not sent: 2 rows failed in a row") for s in samples[2:])
    assert result["summary"]["n_failed"] == 5 and "5 failed" in result["summary"]["message"]


def test_circuit_breaker_stops_sending(server):
    rows = [_row(str(i), "fail500") for i in range(5)]
    config = _config(server, concurrency=1, max_retries=1, max_consecutive_failures=2)
    result = judge_predictions(rows, config)
    assert server.request_count == 2 * 2  # two rows x (1 + 1 retry), then nothing sent
    assert result["summary"]["n_failed"] == 5


def test_row_missing_field_is_counted_not_sent(server):
    rows = [_row("ok"), {"report_id": "broken", "findings": "x", "prediction": "y"}]
    result = judge_predictions(rows, _config(server))
    assert server.request_count == 1
    broken = result["per_sample"][1]
    assert broken["status"] == "failed" and "reference" in broken["error"]


def test_api_key_is_sent_from_environment(server, monkeypatch):
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-local-123")
    judge_predictions([_row("k")], _config(server, api_key_env="JUDGE_TEST_KEY"))
    assert server.authorizations == ["Bearer sk-local-123"]


# ---- PHI guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.4.5.6/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://0.0.0.0:8000/v1", False),
        ("http://127.0.0.1.evil.example/v1", False),
        ("http://localhost.example.com/v1", False),
    ],
)
def test_is_loopback_url(url, loopback):
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("10.1.2.3", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback_host_used_for_the_bind_address(host, loopback):
    assert is_loopback_host(host) is loopback


def test_phi_guard_refuses_remote_without_deid(server):
    config = JudgeConfig(base_url="https://api.example.com/v1", model="gpt-4o")
    with pytest.raises(PHIGuardError, match="--allow-remote"):
        judge_predictions([_row("x")], config, manifest=_manifest({"enabled": False}))
    with pytest.raises(PHIGuardError, match="no dataset manifest"):
        judge_predictions([_row("x")], config, manifest=None)
    with pytest.raises(PHIGuardError, match="kept identifier types DATE"):
        check_phi_guard(
            config.base_url, _manifest({"enabled": True, "kept_types": ["DATE"]}), False
        )
    check_phi_guard(config.base_url, _manifest({"enabled": True, "mode": "placeholder"}), False)
    check_phi_guard(config.base_url, None, allow_remote=True)


def test_deid_section_is_strict():
    """A non-boolean `enabled` is not read as "de-identified": the manifest is rejected."""
    with pytest.raises(ArtifactError, match="deid.enabled"):
        _manifest({"enabled": "yes"})
    assert _manifest(None).deid is None


def test_phi_guard_error_is_one_line_at_the_cli_level():
    with pytest.raises(PHIGuardError) as caught:
        check_phi_guard("https://api.example.com/v1", None, allow_remote=False)
    assert "\n" not in str(caught.value) and isinstance(caught.value, RadllamaError)


@pytest.mark.parametrize(("deid", "allow_remote"), [({"enabled": True}, False), (None, True)])
def test_phi_guard_lets_permitted_remote_requests_through(server, monkeypatch, deid, allow_remote):
    manifest = _manifest(deid) if deid else None
    # 0.0.0.0 is not loopback to the guard, yet Linux routes it to this machine's server.
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-remote")
    url = server.base_url.replace("127.0.0.1", "0.0.0.0")
    config = _config(server, base_url=url, allow_remote=allow_remote, api_key_env="JUDGE_TEST_KEY")
    result = judge_predictions([_row("x", "good:6")], config, manifest=manifest)
    assert result["per_sample"][0]["score"] == 6.0 and server.request_count == 1


def test_base_url_without_scheme_is_a_config_error():
    from radllama.core.config import validate_config

    with pytest.raises(ConfigError, match="not an http"):
        validate_config(JudgeConfig, {"base_url": "localhost:8000/v1", "model": "m"})


def test_remote_endpoint_needs_an_api_key(monkeypatch):
    monkeypatch.delenv("JUDGE_MISSING_KEY", raising=False)
    config = JudgeConfig(
        base_url="https://api.example.com/v1",
        model="gpt-4o",
        allow_remote=True,
        api_key_env="JUDGE_MISSING_KEY",
    )
    with pytest.raises(ConfigError, match="JUDGE_MISSING_KEY"):
        judge_predictions([_row("x")], config)


# ---- pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"score": 7, "explanation": "fine"}', 7.0),
        ('```json\n{"score": 6.5, "explanation": "ok"}\n```', 6.5),
        ('Score below.\n{"score": 3, "explanation": "misses effusion"} Thanks!', 3.0),
        ('{"Score": "8", "Explanation": "string score"}', 8.0),
        ('{"score": 0, "explanation": "empty"}', 0.0),
        ('{"note": {"score": 99}} then {"score": 4, "explanation": "second object"}', 4.0),
        ('{"score": true, "explanation": "bool"}', None),
        ('{"score": NaN, "explanation": "nan"}', None),
        ('{"score": -1, "explanation": "negative"}', None),
        ('{"explanation": "no score"}', None),
        ("", None),
        ("[1, 2, 3]", None),
    ],
)
def test_parse_judge_answer(text, score):
    parsed, explanation, error = parse_judge_answer(text)
    assert parsed == score
    assert (error is None) is (score is not None)
    if score is not None:
        assert explanation


def test_cache_key_depends_on_prompt_model_and_version():
    messages = build_judge_messages(_row("a"))
    key = cache_key(messages, "m", PROMPT_VERSION)
    assert key == cache_key(build_judge_messages(_row("a")), "m", PROMPT_VERSION)
    assert key != cache_key(messages, "m2", PROMPT_VERSION)
    assert key != cache_key(messages, "m", PROMPT_VERSION + "-next")
    assert key != cache_key(build_judge_messages(_row("b")), "m", PROMPT_VERSION)


def test_backoff_is_exponential_with_jitter_and_capped():
    config = JudgeConfig(base_url="http://127.0.0.1/v1", model="m", max_backoff_s=10)
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (5, 10), (5, 10)]):
        delays = {backoff_delay(attempt, config) for _ in range(20)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert backoff_delay(0, config, retry_after=3.0) == 3.0
    assert backoff_delay(0, config, retry_after=60.0) == 10  # capped
