"""The server's HTTP-layer defences: body limit, read timeouts, API key, request log.

`RequestGuard` is a plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which would
buffer streamed answers and hide client disconnects). For every HTTP request it

1. refuses a declared ``Content-Length`` above ``max_body_bytes`` with 413 before reading;
2. checks the API key (401) before reading the body;
3. reads the body itself, counting bytes *as they arrive*: a chunked upload (no
   Content-Length) is answered 413 as soon as it passes the limit and the rest is never read
   (uvicorn stops reading the socket, the connection is closed), so memory stays bounded by
   the limit; a body that has not arrived within ``body_timeout_s`` gets 408;
4. replays the (bounded) body to the app and logs one line per request: id, method, path
   (percent-encoded again: no control character reaches the log), status, bytes in/out,
   milliseconds; never the text.

Before all of that it refuses a ``Host`` outside the allow-list (421), and every response gets
the security headers (see `radllama.serving.http_policy`).

`guarded_h11_protocol` adds what uvicorn lacks: a deadline for the request *headers*
(slow-loris clients that send a header line every few seconds are closed after
``header_timeout_s``). Headers are limited twice: uvicorn's ``h11_max_incomplete_event_size``
bounds what h11 buffers while headers trickle in, and the guard answers 431 to a complete
request whose headers exceed ``max_header_bytes``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections import Counter
from typing import Any

from radllama.serving.http_policy import host_is_allowed, loggable_path, with_security_headers

logger = logging.getLogger("radllama.serving")
OPEN_PATHS = frozenset({"/", "/health", "/ui/info"})  # probes and the page need no key
_STATIC_PREFIX = "/static/"


class RequestGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app,
        *,
        max_body_bytes: int,
        body_timeout_s: float,
        max_header_bytes: int,
        api_key: str | None,
        status_counts: Counter,
        allowed_hosts: frozenset | None = None,
    ) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.max_header_bytes = max_header_bytes
        self.api_key = api_key
        self.status_counts = status_counts
        self.allowed_hosts = allowed_hosts  # None: any Host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        sent: dict[str, Any] = {"status": 0, "bytes": 0, "bytes_in": None, "logged": False}

        def log_once() -> None:
            # Logged just before the last byte goes out, so the line exists by the time the
            # client has its answer (tests and operators read it right after).
            if sent["logged"]:
                return
            sent["logged"] = True
            if sent["status"]:  # 0: the client left before any answer
                self.status_counts[sent["status"]] += 1
            logger.info(
                "request id=%s method=%s path=%s status=%d bytes_in=%s bytes_out=%d ms=%.1f",
                request_id,
                scope["method"],
                loggable_path(scope["path"]),
                sent["status"],
                sent["bytes_in"],
                sent["bytes"],
                (time.perf_counter() - started) * 1000,
            )

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                headers = with_security_headers(scope["path"], message.get("headers", []))
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
                if not message.get("more_body", False):
                    log_once()
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            await self._handle(scope, receive, send_with_id, headers, sent)
        except Exception as error:  # a bug, not the client's fault: log it, stay up
            logger.error("request id=%s failed with %s", request_id, type(error).__name__)
            logger.debug("unhandled error detail", exc_info=True)
            if not sent["status"]:
                await _respond(
                    send_with_id,
                    500,
                    "internal server error; it was logged",
                    type="server_error",
                )
        log_once()

    async def _handle(self, scope, receive, send, headers: dict[str, str], sent: dict) -> None:
        if not host_is_allowed(headers.get("host"), self.allowed_hosts):
            # DNS rebinding: a page elsewhere whose name resolves here. Its Host is not ours.
            await _respond(
                send,
                421,
                "this server does not answer for that Host name; open it by an allowed name "
                "(loopback, its bind address) or start it with --allowed-host NAME",
                code="host_not_allowed",
                headers=[(b"connection", b"close")],
            )
            return
        header_bytes = sum(len(k) + len(v) for k, v in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await _respond(
                send,
                431,
                f"request headers are {header_bytes} bytes; the limit is {self.max_header_bytes}",
                code="headers_too_large",
                headers=[(b"connection", b"close")],
            )
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(send)
            return
        path = scope["path"]
        if self.api_key and not _is_open(path) and not _authorized(headers, self.api_key):
            await _respond(
                send,
                401,
                "missing or wrong API key; send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
                headers=[(b"www-authenticate", b"Bearer")],
            )
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive), self.body_timeout_s)
        except TimeoutError:
            await _respond(
                send,
                408,
                f"the request body did not arrive within {self.body_timeout_s:g} s; "
                "send it at once (check the network or proxy)",
                code="request_timeout",
                headers=[(b"connection", b"close")],
            )
            return
        if body is None:
            await self._too_large(send)
            return
        if body is _DISCONNECTED:
            return
        sent["bytes_in"] = len(body)
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive) -> bytes | None | object:
        """The whole body, or None as soon as it passes the limit (the rest stays unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _DISCONNECTED
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send) -> None:
        await _respond(
            send,
            413,
            f"request body must be a JSON object of at most {self.limit} bytes",
            code="request_too_large",
            # The unread rest of the body makes the connection unusable: close it.
            headers=[(b"connection", b"close")],
        )


_DISCONNECTED = object()


def _replay(body: bytes, receive):
    """An ASGI `receive` that gives the buffered body once, then waits for the disconnect."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(_STATIC_PREFIX)


def _authorized(headers: dict[str, str], api_key: str) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), api_key.encode()
    )


async def _respond(
    send,
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    from radllama.serving.schemas import error_body

    body = json.dumps(error_body(message, type, None, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def guarded_h11_protocol(header_timeout_s: float):
    """uvicorn's h11 protocol plus a deadline for complete request headers (slow loris)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # request line + headers complete
                self._disarm_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header_timer()  # the next request on a kept-alive connection

        def connection_lost(self, exc) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                logger.info("closed a connection that sent no complete headers in time")
                self.transport.close()

    return GuardedH11Protocol
