"""LLM judge: the paper's GPT-4o evaluation, against any OpenAI-compatible endpoint.

The judge reads the exam code, the FINDINGS, the radiologist's reference IMPRESSION and the
generated IMPRESSION, and answers a JSON object ``{"score": 0-10, "explanation": "..."}``
following the paper's clinician-curated criteria (Figure 2): missing key findings, conclusions
not supported by the reference, stylistic concordance, precision of medical terminology.

What makes it safe to run over thousands of rows:

- **PHI guard** (`radllama.core.guard`). Reports are clinical text: a non-loopback endpoint is
  refused unless the dataset manifest records de-identification or ``allow_remote`` is set.
- **Bounded concurrency** (a thread pool of ``concurrency`` workers sharing one client).
- **Retries** with exponential back-off and jitter on timeouts, connection errors, 429 (honouring
  ``Retry-After``) and 5xx; never on other 4xx. The client's own retries are off.
- **Circuit breaker.** After ``max_consecutive_failures`` rows fail in a row, the remaining rows
  are marked failed without being sent (an endpoint that is down costs seconds, not hours).
- **On-disk cache** of raw answers keyed by sha256(messages + model + prompt version): a rerun
  only asks for what is missing, so an interrupted run resumes.
- **Nothing crashes on a bad answer**: unparseable answers and failed requests are recorded per
  row with their reason and counted in the summary; partial results are kept.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import openai
from tqdm.auto import tqdm

from radllama.core.artifacts import DataManifest
from radllama.core.errors import ConfigError, DataError, check_failure_rate
from radllama.core.guard import check_phi_guard, is_loopback_url
from radllama.core.provenance import json_sha256, utc_now, write_json
from radllama.evaluate.config import JudgeConfig  # noqa: F401  (re-exported; defined with the other Configs)
from radllama.evaluate.metrics import Column, Metric, ScoringContext, register_metric

PROMPT_VERSION = "radllama-judge-v1"

SYSTEM_PROMPT = """\
You are an experienced attending radiologist. You compare an automatically generated \
IMPRESSION of a radiology report with the IMPRESSION written by the reporting radiologist \
(the reference), given the exam and its FINDINGS.

Judge the generated impression on these clinician-curated criteria:
1. Missing key findings: clinically important findings or diagnoses in the reference \
impression that the generated impression leaves out.
2. Unsupported conclusions: conclusions, diagnoses or recommendations in the generated \
impression that are absent from the reference impression or not supported by it or by the \
findings.
3. Stylistic concordance: whether it reads like the reference impression (concise, ordered by \
clinical importance, the register of a radiology impression).
4. Precision of medical terminology: correct and specific terms (anatomy, laterality, size, \
severity, acuity), no vague or wrong wording.

Missing key findings and unsupported conclusions weigh more than style.
Score from 0 to 10 (higher = closer to the reference):
10 = clinically equivalent to the reference; 7-9 = same key findings with minor omissions or \
style differences; 4-6 = misses a key finding or adds an unsupported conclusion; 1-3 = misses \
most key findings or adds several unsupported conclusions; 0 = unrelated, contradictory or empty.

Answer with a single JSON object and nothing else:
{"score": <number from 0 to 10>, "explanation": "<one to three sentences naming the criteria \
that decided the score>"}"""

USER_TEMPLATE = """\
Exam code: {exam_code}

FINDINGS:
{findings}

Reference IMPRESSION (radiologist):
{reference}

Generated IMPRESSION (to evaluate):
{prediction}

Return the JSON object now."""

# Injected so tests can record the delays asked for without sleeping or timing anything.
_sleep: Callable[[float], None] = time.sleep


class JudgeRequestError(Exception):
    """A request that failed after all retries (recorded on the row, never raised to callers)."""


# ---- prompt and answer parsing -----------------------------------------------------------


def build_judge_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages for one row (system = criteria, user = the case)."""
    user = USER_TEMPLATE.format(
        exam_code=str(row.get("exam_code") or "(none)").strip(),
        findings=str(row["findings"]).strip(),
        reference=str(row["reference"]).strip(),
        prediction=str(row["prediction"]).strip() or "(empty)",
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def cache_key(messages: list[dict[str, str]], model: str, prompt_version: str) -> str:
    """sha256 of the prompt, the judge model and the prompt version."""
    return json_sha256({"messages": messages, "model": model, "prompt_version": prompt_version})


FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _json_objects(text: str) -> list[Any]:
    """Candidate JSON values in `text`: the whole text, fenced blocks, then each `{...}` prefix."""
    candidates: list[Any] = []
    for chunk in [text, *FENCE.findall(text)]:
        try:
            candidates.append(json.loads(chunk))
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            # raw_decode stops at the end of the object, so trailing prose is ignored.
            candidates.append(decoder.raw_decode(text, match.start())[0])
        except json.JSONDecodeError:
            continue
    return candidates


def _as_score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def parse_judge_answer(text: str) -> tuple[float | None, str, str | None]:
    """Judge answer text -> (score, explanation, error). `error` is None when parsed.

    >>> parse_judge_answer('Sure!\\n```json\\n{"score": 7, "explanation": "ok"}\\n```')
    (7.0, 'ok', None)
    >>> parse_judge_answer('{"score": 11, "explanation": "x"}')[2]
    'unparseable judge answer: score 11.0 is outside 0-10'
    """
    reason = "no JSON object with a 'score' key"
    for obj in _json_objects(text or ""):
        if not isinstance(obj, dict):
            continue
        fields = {str(k).lower(): v for k, v in obj.items()}
        if "score" not in fields:
            continue
        score = _as_score(fields["score"])
        if score is None:
            reason = f"score {fields['score']!r} is not a number"
            continue
        if not 0 <= score <= 10:
            reason = f"score {score} is outside 0-10"
            continue
        return score, str(fields.get("explanation") or ""), None
    return None, (text or "")[:500], f"unparseable judge answer: {reason}"


# ---- cache -------------------------------------------------------------------------------


class JudgeCache:
    """Raw judge answers on disk, one JSON file per key (atomic writes; safe to interrupt)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> str | None:
        if self.directory is None:
            return None
        path = self.directory / f"{key}.json"
        try:
            return json.loads(path.read_text())["content"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged entry: ask again

    def put(self, key: str, content: str, config: JudgeConfig) -> None:
        if self.directory is not None:
            record = {
                "content": content,
                "model": config.model,
                "prompt_version": PROMPT_VERSION,
                "created": utc_now(),
            }
            write_json(self.directory / f"{key}.json", record)


# ---- requests with retries ---------------------------------------------------------------


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, openai.APITimeoutError | openai.APIConnectionError):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return False


def retry_after_seconds(error: Exception) -> float | None:
    """Server-requested wait from a 429/503 response (``retry-after-ms`` or ``retry-after``)."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name)) * scale)
        except (TypeError, ValueError):
            continue  # absent, or an HTTP date (rare; fall back to our back-off)
    return None


def backoff_delay(attempt: int, config: JudgeConfig, retry_after: float | None = None) -> float:
    """Delay before retry `attempt` (0-based): initial * 2**attempt, equal jitter, capped.

    The server's Retry-After wins when it asks for longer (still capped by max_backoff_s).
    """
    base = min(config.max_backoff_s, config.initial_backoff_s * 2**attempt)
    delay = base / 2 + random.uniform(0, base / 2)  # equal jitter spreads synchronized retries
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, config.max_backoff_s)


def _describe(error: Exception) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        return f"connection error ({error.__cause__ or error})".splitlines()[0]
    if isinstance(error, openai.APIStatusError):
        # openai prefixes "Error code: 500 - "; the status is already in our text.
        message = re.sub(r"^Error code: \d+ - ", "", error.message)
        return f"HTTP {error.status_code}: {message}".splitlines()[0][:300]
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]


class _Asker:
    """One shared client; asks with retries; remembers whether JSON mode works."""

    def __init__(self, config: JudgeConfig, api_key: str) -> None:
        self.config = config
        # max_retries=0: the client's own retries would hide attempts from our back-off policy.
        self.client = openai.OpenAI(
            base_url=config.base_url, api_key=api_key, timeout=config.timeout_s, max_retries=0
        )
        self.json_mode = config.json_mode

    def _create(self, messages: list[dict[str, str]]) -> str:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            response = self.client.chat.completions.create(**kwargs)
        except (openai.BadRequestError, openai.UnprocessableEntityError):
            if "response_format" not in kwargs:
                raise
            # Maybe a server without JSON mode (older llama.cpp/TGI): ask again in plain text.
            # Only if that works is JSON mode switched off for the rest of the run; otherwise
            # the 400 was about something else and the plain-text attempt's error is raised.
            kwargs.pop("response_format")
            response = self.client.chat.completions.create(**kwargs)
            self.json_mode = False
        return response.choices[0].message.content or ""

    def ask(self, messages: list[dict[str, str]]) -> str:
        """The answer text, or JudgeRequestError after max_retries retries."""
        for attempt in range(self.config.max_retries + 1):
            try:
                return self._create(messages)
            except openai.APIError as error:
                if not _is_retryable(error) or attempt == self.config.max_retries:
                    suffix = f" after {attempt + 1} attempts" if _is_retryable(error) else ""
                    raise JudgeRequestError(_describe(error) + suffix) from error
                _sleep(backoff_delay(attempt, self.config, retry_after_seconds(error)))
        raise AssertionError("unreachable")


class _CircuitBreaker:
    """Counts rows failing in a row; once `limit` is reached, later rows are not sent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.consecutive = 0
        self.reason: str | None = None
        self._lock = threading.Lock()

    def record(self, error: str | None) -> None:
        with self._lock:
            self.consecutive = 0 if error is None else self.consecutive + 1
            if error is not None and self.limit and self.consecutive >= self.limit:
                self.reason = self.reason or (
                    f"not sent: {self.consecutive} rows failed in a row (last: {error}); "
                    "check the judge endpoint and rerun (answers so far are cached)"
                )


def _ask_one(
    asker: _Asker,
    breaker: _CircuitBreaker,
    cache: JudgeCache,
    key: str,
    messages: list[dict[str, str]],
) -> tuple[str | None, str | None]:
    """(answer, None) or (None, error text); a successful answer is cached at once."""
    if breaker.reason:
        return None, breaker.reason
    try:
        content = asker.ask(messages)
    except JudgeRequestError as error:
        breaker.record(str(error))
        return None, str(error)
    breaker.record(None)
    cache.put(key, content, asker.config)
    return content, None


def _ask_all(
    pending: dict[str, list[dict[str, str]]], asker: _Asker, cache: JudgeCache
) -> dict[str, tuple[str | None, str | None, bool]]:
    """Ask every pending prompt with at most `concurrency` requests in flight."""
    config = asker.config
    breaker = _CircuitBreaker(config.max_consecutive_failures)
    answers: dict[str, tuple[str | None, str | None, bool]] = {}
    pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="judge")
    try:
        futures = {
            pool.submit(_ask_one, asker, breaker, cache, key, messages): key
            for key, messages in pending.items()
        }
        for future in tqdm(as_completed(futures), total=len(futures), desc="judge", disable=None):
            answers[futures[future]] = (*future.result(), False)
    finally:
        # On Ctrl-C, drop queued rows instead of waiting for them; answers already received
        # are in the cache, so a rerun resumes from there.
        pool.shutdown(wait=True, cancel_futures=True)
        asker.client.close()
    return answers


def _resolve_api_key(config: JudgeConfig) -> str:
    key = os.environ.get(config.api_key_env, "").strip()
    if key:
        return key
    if is_loopback_url(config.base_url):
        return "not-needed"  # local servers (vLLM, llama.cpp) usually ignore the key
    raise ConfigError(
        f"environment variable {config.api_key_env} is empty; export the judge endpoint's API "
        "key there or set judge api_key_env to the variable that holds it"
    )


def _missing_fields(row: dict[str, Any]) -> list[str]:
    return [name for name in ("findings", "prediction", "reference") if row.get(name) is None]


def _sample(row: dict[str, Any], content: str | None, error: str | None, cached: bool) -> dict:
    """One per-sample record: status is scored | unparseable | failed."""
    base = {"report_id": row.get("report_id"), "cached": cached}
    if content is None:
        return {**base, "score": None, "explanation": "", "error": error, "status": "failed"}
    score, explanation, parse_error = parse_judge_answer(content)
    status = "scored" if parse_error is None else "unparseable"
    return {
        **base,
        "score": score,
        "explanation": explanation,
        "error": parse_error,
        "status": status,
    }


def summarize(per_sample: list[dict[str, Any]], config: JudgeConfig, json_mode: bool) -> dict:
    """Counts, mean score and a one-line message for a judged set of rows."""
    scores = [s["score"] for s in per_sample if s["status"] == "scored"]
    counts = {
        status: sum(s["status"] == status for s in per_sample)
        for status in ("scored", "unparseable", "failed")
    }
    first_error = next((s["error"] for s in per_sample if s["status"] == "failed"), None)
    summary = {
        "n": len(per_sample),
        "n_scored": counts["scored"],
        "n_unparseable": counts["unparseable"],
        "n_failed": counts["failed"],
        "n_cached": sum(bool(s["cached"]) for s in per_sample),
        "mean_score": sum(scores) / len(scores) if scores else None,
        "model": config.model,
        "base_url": config.base_url,
        "prompt_version": PROMPT_VERSION,
        "json_mode": json_mode,
        "first_error": first_error,
    }
    summary["message"] = format_summary(summary)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """One line, e.g. ``judge gpt-4o: 98/100 scored (mean 6.12), 1 unparseable, 1 failed``."""
    mean = "n/a" if summary["mean_score"] is None else f"{summary['mean_score']:.2f}"
    line = (
        f"judge {summary['model']}: {summary['n_scored']}/{summary['n']} scored (mean {mean}), "
        f"{summary['n_unparseable']} unparseable, {summary['n_failed']} failed, "
        f"{summary['n_cached']} from cache"
    )
    if summary["first_error"]:
        line += f"; first failure: {summary['first_error']}"
    return line


def judge_predictions(
    rows: list[dict[str, Any]], config: JudgeConfig, manifest: DataManifest | None = None
) -> dict[str, Any]:
    """Score each prediction against its reference with the judge model.

    `rows` carry ``report_id, findings, exam_code, prediction, reference``. Returns
    ``{"per_sample": [...aligned with rows...], "summary": {...}}``; per-sample records hold
    ``report_id, score (None unless scored), explanation, error, cached, status``.
    Raises PHIGuardError (before any request) for a remote endpoint with non-de-identified text.
    """
    check_phi_guard(config.base_url, manifest, config.allow_remote)
    asker = _Asker(config, _resolve_api_key(config))
    cache = JudgeCache(config.cache_dir)
    keys: list[str | None] = []
    messages_by_key: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if _missing_fields(row):
            keys.append(None)
            continue
        messages = build_judge_messages(row)
        key = cache_key(messages, config.model, PROMPT_VERSION)
        keys.append(key)
        messages_by_key[key] = messages  # identical prompts are asked once
    answers: dict[str, tuple[str | None, str | None, bool]] = {}
    for key in messages_by_key:
        if (content := cache.get(key)) is not None:
            answers[key] = (content, None, True)
    pending = {key: m for key, m in messages_by_key.items() if key not in answers}
    answers.update(_ask_all(pending, asker, cache))
    per_sample = []
    for row, key in zip(rows, keys, strict=True):
        if key is None:
            error = f"row is missing field(s) {', '.join(_missing_fields(row))}; not judged"
            per_sample.append(_sample(row, None, error, False))
        else:
            per_sample.append(_sample(row, *answers[key]))
    return {"per_sample": per_sample, "summary": summarize(per_sample, config, asker.json_mode)}


# ---- the metric this module registers (radllama.evaluate.metrics) ----


def _score_judge(ctx: ScoringContext) -> dict[str, Any]:
    """Call the LLM judge (radllama.evaluate.judge) and merge its answers into per_sample."""
    if ctx.judge_config is None:
        raise DataError("the judge metric needs --judge-base-url and --judge-model")
    result = judge_predictions(ctx.rows, ctx.judge_config, ctx.manifest)
    for sample, answer in zip(ctx.per_sample, result["per_sample"], strict=True):
        sample["judge_score"] = answer.get("score")
        sample["judge_explanation"] = answer.get("explanation")
        sample["judge_error"] = answer.get("error")
    summary = result.get("summary", {})
    config = ctx.judge_config  # an endpoint that is down must not pass as a score
    summary["warning"] = check_failure_rate(
        summary.get("n_failed", 0), summary.get("n", 0), config.max_failure_rate, "judge",
        summary.get("first_error"), f"check the judge endpoint {config.base_url} and rerun",
    )  # fmt: skip
    return summary


register_metric(Metric(
    name="judge", score=_score_judge, columns=(Column("judge_score", "Judge score (0-10)", 2),),
    describe=lambda _, judge_config: judge_config.model_dump(mode="json") if judge_config else None,
    order=90,
))  # fmt: skip
