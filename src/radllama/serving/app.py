"""The FastAPI application: OpenAI-compatible routes, `/v1/impressions`, health and metrics.

Every refusal is an OpenAI-style JSON error naming the field (``{"error": {"message", "type",
"param", "code"}}``); overload and generation failures are 503 + ``Retry-After``; nothing a
client sends can take the server down. The request log (logger ``radllama.serving.server``) records
request ids, sizes, token counts and timings, never prompt or report text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from radllama.serving.batcher import (
    BatcherError,
    BatchFailed,
    Completed,
    DynamicBatcher,
    RequestTimeout,
)
from radllama.serving.engine import GenerationJob, ServingEngine
from radllama.serving.http_policy import allowed_hosts
from radllama.serving.limits import RequestGuard
from radllama.serving.page import add_page_routes
from radllama.serving.prep import PrepQueue
from radllama.serving.schemas import (
    ApiError,
    ChatCompletionRequest,
    CompletionRequest,
    ImpressionRequest,
    ImpressionResponse,
    error_body,
)
from radllama.serving.streaming import StreamSink

logger = logging.getLogger("radllama.serving")


def make_batcher(engine: ServingEngine) -> DynamicBatcher:
    config = engine.config
    if engine.remote is not None:
        # The engine batches continuously: hand each request over at once, as many at a time
        # as engine_concurrency; requests beyond that wait in the bounded queue here.
        return DynamicBatcher(
            engine.run_batch,
            max_batch_size=1,
            batch_wait_ms=0,
            max_queue=config.max_queue,
            workers=config.engine_concurrency,
        )
    return DynamicBatcher(
        engine.run_batch,
        max_batch_size=config.max_batch_size,
        batch_wait_ms=config.batch_wait_ms,
        max_queue=config.max_queue,
        key=lambda job: job.key,
    )


def create_app(
    engine: ServingEngine, api_key: str | None = None, batcher: DynamicBatcher | None = None
) -> FastAPI:
    """The server app. The batcher's worker starts and stops with the app's lifespan."""
    batcher = batcher or make_batcher(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        logger.info("serving %s (context %d tokens)", engine.name, engine.max_context)
        yield
        batcher.stop()
        app.state.prep.shutdown()

    # No /docs: the Swagger page loads scripts from a CDN, and hospital hosts are offline.
    app = FastAPI(title="radllama", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.engine, app.state.batcher = engine, batcher
    app.state.prep = PrepQueue(engine.config.max_prep_queue)
    app.state.status_counts = Counter()
    app.add_middleware(
        RequestGuard,
        max_body_bytes=engine.config.max_body_bytes,
        body_timeout_s=engine.config.body_timeout_s,
        max_header_bytes=engine.config.max_header_bytes,
        api_key=api_key,
        status_counts=app.state.status_counts,
        allowed_hosts=allowed_hosts(engine.config.host, engine.config.allowed_hosts),
    )
    _add_error_handlers(app)
    _add_info_routes(app, engine, batcher)
    add_page_routes(app, engine.name, engine.model.run, auth_required=api_key is not None)
    _add_generation_routes(app, engine, batcher, app.state.prep)
    return app


def _error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(message, type, param, code), status_code=status, headers=headers)


# ---- errors -> OpenAI-style bodies ------------------------------------------------------------
def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _validation_error(error.errors())

    @app.exception_handler(ApiError)
    async def refused(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(BatcherError)
    async def busy(request: Request, error: BatcherError) -> JSONResponse:
        kind = "generation_failed" if isinstance(error, BatchFailed) else "server_busy"
        logger.warning("request id=%s refused: %s", request.state.request_id, type(error).__name__)
        return _error(
            503,
            str(error),
            type="server_error",
            code=kind,
            headers={"Retry-After": str(error.retry_after_s)},
        )

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, error: ClientGone) -> Response:
        logger.info("request id=%s: the client left before the answer", request.state.request_id)
        return Response(status_code=499)  # nginx's "client closed request"; nobody reads it

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), headers=error.headers)


def _validation_error(errors: list[dict[str, Any]]) -> JSONResponse:
    """First pydantic/FastAPI error -> 400 naming the field, e.g. ``messages.0.content``."""
    first = errors[0] if errors else {"type": "missing", "loc": ("body",), "msg": "invalid"}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first["type"] == "json_invalid":
        return _error(
            400, "request body is not valid JSON; send a JSON object", code="invalid_json"
        )
    if not loc:
        return _error(
            400,
            "request body must be a JSON object sent with Content-Type: "
            f"application/json ({first['msg']})",
            code="invalid_body",
        )
    param = ".".join(p for p in loc if not _is_union_tag(p))
    return _error(400, f"{param}: {first['msg']}", param=param, code=first["type"])


def _is_union_tag(part: str) -> bool:
    # pydantic puts the union member tried into the location (messages.0.content.str); drop it.
    return part in {"str", "int", "float", "bool", "none"} or part.startswith(
        ("list[", "dict[", "function-", "literal[", "tagged-union[")
    )


# ---- health, metrics, models ------------------------------------------------------------------
def _add_info_routes(app: FastAPI, engine: ServingEngine, batcher: DynamicBatcher) -> None:
    created = int(time.time())

    @app.get("/health")
    async def health() -> JSONResponse:
        engine_ok = engine.remote is None or engine.remote.alive
        ok = batcher.alive and engine_ok
        body = {
            "status": "ok" if ok else ("worker stopped" if engine_ok else "engine stopped"),
            "model": engine.name,
            "batcher": batcher.snapshot(),
            "prep": app.state.prep.snapshot(),
        }
        if engine.remote is not None:
            body["engine"] = engine.remote.describe()
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> dict:
        counts = {str(k): v for k, v in sorted(app.state.status_counts.items())}
        return {"model": engine.name, "batcher": batcher.snapshot(),
                "prep": app.state.prep.snapshot(), "responses_by_status": counts}  # fmt: skip

    def card() -> dict:
        return {
            "id": engine.name,
            "object": "model",
            "created": created,
            "owned_by": "radllama",
            "max_model_len": engine.max_context,
        }

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> dict:
        engine.check_model(model_id)
        return card()


# ---- generation -------------------------------------------------------------------------------
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _add_generation_routes(
    app: FastAPI, engine: ServingEngine, batcher: DynamicBatcher, prep: PrepQueue
) -> None:
    timeout_s = engine.config.request_timeout_s

    def deadline() -> float:
        """When this request must be answered (event loop clock): `timeout_s` from arrival
        covers tokenising (bounded queue, see `radllama.serving.prep`), queueing, generation."""
        return asyncio.get_running_loop().time() + timeout_s

    def left(until: float) -> float:
        return max(0.001, until - asyncio.get_running_loop().time())

    def log_done(request: Request, job: GenerationJob, done: Completed, **extra) -> None:
        logger.info(
            "generate id=%s prompt_tokens=%d completion_tokens=%d max_tokens=%d batch_size=%d "
            "queue_ms=%.1f run_ms=%.1f finish=%s%s",
            request.state.request_id,
            done.value.prompt_tokens,
            done.value.completion_tokens,
            job.max_tokens,
            done.batch_size,
            done.queue_ms,
            done.run_ms,
            done.value.finish_reason,
            "".join(f" {k}={v}" for k, v in extra.items()),
        )

    async def run(request: Request, job: GenerationJob, until: float) -> Completed:
        try:
            done = await _unless_client_leaves(request, batcher.run(job, timeout_s, left(until)))
        except (RequestTimeout, ClientGone):
            job.cancel.set()  # a running job stops generating for this row
            raise
        log_done(request, job, done)
        return done

    async def stream(
        request: Request, job: GenerationJob, events: _EventFormat, until: float
    ) -> StreamingResponse:
        """Submit a streaming job; refusals before its first token are plain JSON errors."""
        opened = await _unless_client_leaves(
            request, _OpenStream.open(batcher, job, timeout_s, left(until))
        )
        return StreamingResponse(
            opened.sse(request, events, log_done),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    @app.post(
        "/v1/impressions", response_model=ImpressionResponse, response_model_exclude_none=True
    )
    async def impressions(body: ImpressionRequest, request: Request) -> Any:
        started, until = time.perf_counter(), deadline()
        job = await prep.run(
            engine.impression_job, body.exam_code, body.findings, body.max_tokens, deadline=until
        )
        if body.stream:

            async def finish(done: Completed) -> list[dict]:
                latency_ms = (time.perf_counter() - started) * 1000
                response = await prep.run(
                    engine.impression_response, body.findings, done.value, latency_ms, job,
                    deadline=until, admit=False,
                )  # fmt: skip
                return [{"type": "done", "response": response}]

            events = _EventFormat(
                delta=lambda text: {"type": "delta", "text": text},
                end=finish,
                error=lambda error: {"type": "error", **error},
                done_marker=False,
            )
            return await stream(request, job, events, until)
        done = await run(request, job, until)
        latency_ms = (time.perf_counter() - started) * 1000
        return await prep.run(
            engine.impression_response, body.findings, done.value, latency_ms, job,
            deadline=until, admit=False,
        )  # fmt: skip

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest, request: Request) -> Any:
        _check_stream_options(body)
        until = deadline()
        job = await prep.run(engine.chat_job, body, deadline=until)
        if body.stream:
            chunk = _chunker(request, "chatcmpl", "chat.completion.chunk", engine.name, body)
            return await stream(request, job, _openai_events(chunk, chat=True), until)
        done = await run(request, job, until)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": done.value.raw_text},
            "logprobs": None,
            "finish_reason": done.value.finish_reason,
        }
        return _envelope(request, "chatcmpl", "chat.completion", engine.name, choice, done)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> Any:
        _check_stream_options(body)
        until = deadline()
        job = await prep.run(engine.completion_job, body, deadline=until)
        if body.stream:
            chunk = _chunker(request, "cmpl", "text_completion", engine.name, body)
            return await stream(request, job, _openai_events(chunk, chat=False), until)
        done = await run(request, job, until)
        choice = {
            "index": 0,
            "text": done.value.raw_text,
            "logprobs": None,
            "finish_reason": done.value.finish_reason,
        }
        return _envelope(request, "cmpl", "text_completion", engine.name, choice, done)


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


async def _unless_client_leaves(request: Request, work):
    """Await `work`; if the client disconnects first, cancel it (a queued job never runs, a
    running row stops) and raise `ClientGone`. Frees the slot of clients that gave up."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()  # the streaming response listens for the disconnect itself from here
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ClientGone
    return task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _check_stream_options(body: ChatCompletionRequest | CompletionRequest) -> None:
    if body.stream_options is not None and not body.stream:
        raise ApiError("stream_options is only allowed with stream=true", param="stream_options")


class _EventFormat:
    """How one endpoint words its events: a text delta, the end (from the finished job), an
    error; `done_marker` adds OpenAI's closing ``data: [DONE]``."""

    def __init__(self, delta, end, error, done_marker: bool = True, start=None) -> None:
        self.delta, self.end, self.error = delta, end, error
        self.done_marker, self.start = done_marker, start


def _sse(data: dict | str) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"


class _OpenStream:
    """A submitted streaming job: events from the worker thread arrive on an asyncio queue
    (text deltas from the job's `StreamSink`, then the finished future)."""

    def __init__(
        self, batcher: DynamicBatcher, job: GenerationJob, timeout_s: float, left_s: float
    ) -> None:
        self.batcher, self.job, self.timeout_s = batcher, job, timeout_s
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.deadline = self.loop.time() + left_s  # what is left of the request's timeout
        self.started = time.perf_counter()
        self.first_token_ms: float | None = None

    def _post(self, item: tuple) -> None:  # called from the worker thread
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down)
            pass

    @classmethod
    async def open(
        cls, batcher: DynamicBatcher, job: GenerationJob, timeout_s: float, left_s: float
    ) -> _OpenStream:
        self = cls(batcher, job, timeout_s, left_s)
        self.sink = StreamSink(lambda text: self._post(("delta", text)))
        self.job = replace(job, sink=self.sink)
        self.future: Future = batcher.submit(self.job)  # QueueFull -> 503 JSON
        self.future.add_done_callback(lambda f: self._post(("end", f)))
        # Wait for the first token (or the end) before answering 200: a full queue, a timeout
        # or a failed batch up to here is still a plain 503 JSON error with Retry-After.
        try:
            self.first = await self.next()
        except BaseException:
            self.cancel()
            raise
        if self.first[0] == "end":
            self._result()  # raises the batcher's error (503) if the job failed
        return self

    async def next(self) -> tuple:
        remaining = max(0.0, self.deadline - self.loop.time())
        try:
            item = await asyncio.wait_for(self.queue.get(), remaining)
        except TimeoutError:
            self.job.cancel.set()
            raise self.batcher.expire(self.future, self.timeout_s) from None
        if item[0] == "delta" and self.first_token_ms is None:
            self.first_token_ms = (time.perf_counter() - self.started) * 1000
        return item

    def _result(self) -> Completed:
        future: Future = self.future
        if future.cancelled():
            raise RequestTimeout("request was cancelled")
        return future.result()

    def cancel(self) -> None:
        self.job.cancel.set()  # stops this row inside a running batch
        self.future.cancel()  # drops it from the queue if it has not started

    async def sse(self, request: Request, events: _EventFormat, log_done) -> AsyncIterator[str]:
        """The event stream; a disconnect cancels this generator and with it the job's row."""
        try:
            if events.start is not None:
                yield _sse(events.start())
            item = self.first
            while item[0] == "delta":
                yield _sse(events.delta(item[1]))
                try:
                    item = await self.next()
                except BatcherError as error:
                    yield _sse(events.error(_error_fields(error)))
                    return
            try:
                done = self._result()
            except BatcherError as error:
                yield _sse(events.error(_error_fields(error)))
                return
            if self.sink.diverged:
                yield _sse(events.error(_error_fields(BatchFailed("stream diverged; retry"))))
                return
            log_done(request, self.job, done, stream=1, ttft_ms=f"{self.first_token_ms or 0:.1f}")
            try:
                ending = await events.end(done)
            except BatcherError as error:  # the flags did not finish within the deadline
                yield _sse(events.error(_error_fields(error)))
                return
            for event in ending:
                yield _sse(event)
            if events.done_marker:
                yield _sse("[DONE]")
        finally:
            if not self.future.done() or self.job.cancel.is_set():
                logger.info("stream id=%s ended early; its row was cancelled",
                            request.state.request_id)  # fmt: skip
            self.cancel()


def _error_fields(error: BatcherError) -> dict:
    kind = "generation_failed" if isinstance(error, BatchFailed) else "server_busy"
    body = error_body(str(error), "server_error", None, kind)
    body["error"]["retry_after"] = error.retry_after_s
    return body


def _chunker(request: Request, prefix: str, obj: str, model: str, body) -> Callable[..., dict]:
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    base = {"id": f"{prefix}-{request.state.request_id}", "object": obj,
            "created": int(time.time()), "model": model}  # fmt: skip

    def chunk(choices: list[dict], usage: dict | None = None) -> dict:
        out = dict(base, choices=choices)
        if include_usage:
            out["usage"] = usage
        return out

    chunk.include_usage = include_usage  # type: ignore[attr-defined]
    return chunk


def _openai_events(chunk, chat: bool) -> _EventFormat:
    def choice(content: str | None, finish: str | None) -> dict:
        if chat:
            delta = {} if content is None else {"content": content}
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {"index": 0, "text": content or "", "logprobs": None, "finish_reason": finish}

    async def end(done: Completed) -> list[dict]:
        out = done.value
        events = [chunk([choice(None, out.finish_reason)])]
        if chunk.include_usage:
            usage = {"prompt_tokens": out.prompt_tokens,
                     "completion_tokens": out.completion_tokens,
                     "total_tokens": out.prompt_tokens + out.completion_tokens}  # fmt: skip
            events.append(chunk([], usage))
        return events

    start = None
    if chat:  # OpenAI's first chat chunk carries the role
        start = lambda: chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},  # noqa: E731
                                "logprobs": None, "finish_reason": None}])  # fmt: skip
    return _EventFormat(
        delta=lambda text: chunk([choice(text, None)]),
        end=end,
        error=lambda error: error,
        start=start,
    )


def _envelope(
    request: Request, prefix: str, obj: str, model: str, choice: dict, done: Completed
) -> dict:
    out = done.value
    return {
        "id": f"{prefix}-{request.state.request_id}",
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": out.prompt_tokens,
            "completion_tokens": out.completion_tokens,
            "total_tokens": out.prompt_tokens + out.completion_tokens,
        },
    }
