"""The FastAPI application: OpenAI-compatible routes, `/v1/impressions`, health and metrics.

Every refusal is an OpenAI-style JSON error naming the field (``{"error": {"message", "type",
"param", "code"}}``); overload and generation failures are 503 + ``Retry-After``; nothing a
client sends can take the server down. The request log (logger ``radllama.serve``) records
request ids, sizes, token counts and timings, never prompt or report text.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from radllama.serving.batcher import BatcherError, BatchFailed, Completed, DynamicBatcher
from radllama.serving.engine import GenerationJob, ServingEngine
from radllama.serving.schemas import (
    ApiError,
    ChatCompletionRequest,
    CompletionRequest,
    ImpressionRequest,
    ImpressionResponse,
    error_body,
)

logger = logging.getLogger("radllama.serve")
OPEN_PATHS = frozenset({"/health"})  # load-balancer probes need no key


def make_batcher(engine: ServingEngine) -> DynamicBatcher:
    config = engine.config
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

    # No /docs: the Swagger page loads scripts from a CDN, and hospital hosts are offline.
    app = FastAPI(title="radllama", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.engine, app.state.batcher = engine, batcher
    app.state.status_counts = Counter()
    _add_guard(app, engine, api_key)
    _add_error_handlers(app)
    _add_info_routes(app, engine, batcher)
    _add_generation_routes(app, engine, batcher)
    return app


# ---- middleware: request ids, size limit, API key, request log ------------------------------
def _add_guard(app: FastAPI, engine: ServingEngine, api_key: str | None) -> None:
    limit = engine.config.max_body_bytes

    @app.middleware("http")
    async def guard(request: Request, call_next):
        request_id = uuid.uuid4().hex[:16]
        request.state.request_id = request_id
        started = time.perf_counter()
        size = _content_length(request)
        if size is None or size > limit:
            response = _error(
                413,
                f"request body must be a JSON object of at most {limit} bytes",
                code="request_too_large",
            )
        elif api_key and request.url.path not in OPEN_PATHS and not _authorized(request, api_key):
            response = _error(
                401,
                "missing or wrong API key; send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            try:
                response = await call_next(request)
            except Exception as error:  # a bug, not the client's fault: log it, stay up
                logger.error("request id=%s failed with %s", request_id, type(error).__name__)
                logger.debug("unhandled error detail", exc_info=True)
                response = _error(500, "internal server error; it was logged", type="server_error")
        response.headers["X-Request-ID"] = request_id
        app.state.status_counts[response.status_code] += 1
        logger.info(
            "request id=%s method=%s path=%s status=%d bytes_in=%s bytes_out=%s ms=%.1f",
            request_id,
            request.method,
            request.url.path,
            response.status_code,
            size,
            response.headers.get("content-length", "?"),
            (time.perf_counter() - started) * 1000,
        )
        return response


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return None


def _authorized(request: Request, api_key: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), api_key.encode()
    )


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
        ok = batcher.alive
        body = {
            "status": "ok" if ok else "worker stopped",
            "model": engine.name,
            "batcher": batcher.snapshot(),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> dict:
        counts = {str(k): v for k, v in sorted(app.state.status_counts.items())}
        return {"model": engine.name, "batcher": batcher.snapshot(), "responses_by_status": counts}

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
def _add_generation_routes(app: FastAPI, engine: ServingEngine, batcher: DynamicBatcher) -> None:
    timeout_s = engine.config.request_timeout_s

    async def run(request: Request, job: GenerationJob) -> Completed:
        done = await batcher.run(job, timeout_s)
        logger.info(
            "generate id=%s prompt_tokens=%d completion_tokens=%d max_tokens=%d batch_size=%d "
            "queue_ms=%.1f run_ms=%.1f finish=%s",
            request.state.request_id,
            done.value.prompt_tokens,
            done.value.completion_tokens,
            job.max_tokens,
            done.batch_size,
            done.queue_ms,
            done.run_ms,
            done.value.finish_reason,
        )
        return done

    @app.post(
        "/v1/impressions", response_model=ImpressionResponse, response_model_exclude_none=True
    )
    async def impressions(body: ImpressionRequest, request: Request) -> dict:
        started = time.perf_counter()
        job = engine.impression_job(body.exam_code, body.findings, body.max_tokens)
        done = await run(request, job)
        latency_ms = (time.perf_counter() - started) * 1000
        return engine.impression_response(body.findings, done.value, latency_ms, job)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest, request: Request) -> dict:
        _no_stream(body.stream)
        done = await run(request, engine.chat_job(body))
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": done.value.raw_text},
            "logprobs": None,
            "finish_reason": done.value.finish_reason,
        }
        return _envelope(request, "chatcmpl", "chat.completion", engine.name, choice, done)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> dict:
        _no_stream(body.stream)
        done = await run(request, engine.completion_job(body))
        choice = {
            "index": 0,
            "text": done.value.raw_text,
            "logprobs": None,
            "finish_reason": done.value.finish_reason,
        }
        return _envelope(request, "cmpl", "text_completion", engine.name, choice, done)


def _no_stream(stream: bool) -> None:
    if stream:
        raise ApiError(
            "stream=true is not supported by this server; send stream=false",
            param="stream",
            code="unsupported_parameter",
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
