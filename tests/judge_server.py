"""A scripted OpenAI-compatible chat server on loopback, for testing clients over real HTTP.

`POST /v1/chat/completions` answers in the OpenAI wire format. What it does for a request is
scripted by a marker anywhere in the request's message text, ``[[judge:BEHAVIOUR]]``:

==================  ====================================================================
``good:S``          200, content ``{"score": S, "explanation": "..."}`` (the default, S=7)
``fenced:S``        200, the JSON inside a ```json fence followed by trailing prose
``malformed``       200, prose with no JSON object in it
``outofrange``      200, ``{"score": 42, ...}``
``nonnumeric``      200, ``{"score": "high", ...}``
``sleep:T``         sleep T seconds, then ``good`` (used to measure in-flight concurrency)
``slowfirst:N:T``   the first N attempts of this prompt sleep T seconds (past the client's
                    timeout), later attempts answer ``good`` at once
``fail500:N``       the first N attempts of this prompt get HTTP 500, then ``good``
``fail500``         always HTTP 500
``rate429:N``       the first N attempts get HTTP 429 with ``Retry-After: <retry_after>``
``bad400``          always HTTP 400 (a client error: must not be retried)
==================  ====================================================================

Attempts are counted per distinct prompt, so "fail then succeed" works under concurrency.
With ``json_mode_supported=False`` any request carrying ``response_format`` gets a 400, as
older llama.cpp/TGI builds do.

Usage::

    with ScriptedChatServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        ...
        assert server.request_count == 3 and server.max_in_flight <= 2
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loopback_server import LoopbackServer

MARKER = re.compile(r"\[\[judge:([^\]]+)\]\]")


def marker(behaviour: str) -> str:
    """The text to put in a prompt to script the server's answer, e.g. ``marker("fail500:1")``."""
    return f"[[judge:{behaviour}]]"


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": "scripted_error", "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def _good(score: float) -> str:
    return json.dumps({"score": score, "explanation": f"scripted answer with score {score}"})


class ScriptedChatServer(LoopbackServer):
    what = "scripted chat server"

    """Run the scripted server in a background thread on 127.0.0.1 with an ephemeral port."""

    def __init__(self, json_mode_supported: bool = True, retry_after: str = "0") -> None:
        self.json_mode_supported = json_mode_supported
        self.retry_after = retry_after
        self.requests: list[dict[str, Any]] = []  # request bodies, in arrival order
        self.authorizations: list[str | None] = []  # Authorization header of each request
        self.attempts: Counter[str] = Counter()  # attempts per distinct prompt text
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.requests.append(body)
                self.authorizations.append(request.headers.get("authorization"))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await self._respond(body)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return app

    async def _respond(self, body: dict[str, Any]) -> JSONResponse:
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        with self._lock:
            self.attempts[text] += 1
            attempt = self.attempts[text]  # 1-based
        model = body.get("model", "scripted")
        if "response_format" in body and not self.json_mode_supported:
            return _error(400, "response_format is not supported by this server")
        found = MARKER.search(text)
        kind, _, arg = (found.group(1) if found else "good:7").partition(":")
        if kind == "good":
            return JSONResponse(_completion(_good(float(arg or 7)), model))
        if kind == "fenced":
            content = f"Here is my evaluation:\n```json\n{_good(float(arg))}\n```\nHope it helps."
            return JSONResponse(_completion(content, model))
        if kind == "malformed":
            return JSONResponse(_completion("The impression looks mostly fine to me.", model))
        if kind == "outofrange":
            return JSONResponse(_completion('{"score": 42, "explanation": "too high"}', model))
        if kind == "nonnumeric":
            return JSONResponse(_completion('{"score": "high", "explanation": "words"}', model))
        if kind == "sleep":
            await asyncio.sleep(float(arg))
            return JSONResponse(_completion(_good(6), model))
        if kind == "slowfirst":
            count, _, seconds = arg.partition(":")
            if attempt <= int(count):
                await asyncio.sleep(float(seconds))
            return JSONResponse(_completion(_good(5), model))
        if kind == "fail500":
            if not arg or attempt <= int(arg):
                return _error(500, f"scripted internal error (attempt {attempt})")
            return JSONResponse(_completion(_good(8), model))
        if kind == "rate429":
            if attempt <= int(arg):
                return _error(429, "scripted rate limit", {"Retry-After": self.retry_after})
            return JSONResponse(_completion(_good(9), model))
        if kind == "bad400":
            return _error(400, "scripted bad request")
        raise ValueError(f"unknown scripted behaviour {kind!r}")
