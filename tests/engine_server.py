"""A small OpenAI-compatible *completions* engine on loopback that really generates, for testing
`radllama serve --engine-url` over real HTTP without vLLM.

It speaks the part of vLLM's wire format radllama uses: ``GET /v1/models`` (with
``max_model_len``), ``POST /v1/completions`` with a token-id ``prompt``, greedy or sampled
decoding with transformers, ``stop``, vLLM's ``stop_token_ids``, and ``stream`` with
``stream_options.include_usage``; with `api_key`, vLLM's ``--api-key``: every /v1 call without
``Authorization: Bearer <key>`` gets 401. Streams send one token's text per chunk. It records
the requests it got, their Authorization headers and the most it had in flight at once.

    with CompletionEngineServer(MODEL_DIR, delay_s=0.2) as engine:
        ServeConfig(engine_url=engine.base_url)
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from loopback_server import LoopbackServer


class CompletionEngineServer(LoopbackServer):
    what = "the completion engine server"

    def __init__(
        self, model_dir: Path, name: str = "tiny-engine", max_model_len: int = 512,
        delay_s: float = 0.0, api_key: str | None = None,
    ) -> None:  # fmt: skip
        from radllama.generation.inference import ImpressionModel

        self.model = ImpressionModel.load(model_dir, device="cpu")
        self.name, self.max_model_len, self.delay_s = name, max_model_len, delay_s
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # the header of every /v1 call
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()  # one generate at a time (the model is not thread-safe)

    def _generate(self, body: dict[str, Any]) -> tuple[list[int], list[str], str]:
        """(new token ids, their texts one by one, finish reason) for a completions body."""
        import torch

        prompt = body["prompt"]
        assert isinstance(prompt, list) and all(isinstance(t, int) for t in prompt), prompt
        tokenizer, model = self.model.tokenizer, self.model.model
        stops = set(body.get("stop_token_ids") or []) | {tokenizer.eos_token_id}
        temperature = body.get("temperature", 1.0) or 0.0
        with self._lock, torch.inference_mode():
            out = model.generate(
                torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                max_new_tokens=body.get("max_tokens", 16), do_sample=temperature > 0,
                temperature=temperature or None, top_p=body.get("top_p") if temperature else None,
                top_k=None, eos_token_id=sorted(stops), pad_token_id=tokenizer.pad_token_id,
            )  # fmt: skip
        new = out[0, len(prompt) :].tolist()
        end = next((i for i, t in enumerate(new) if t in stops), None)
        kept = new if end is None else new[:end]
        finish = "length" if end is None else "stop"
        pieces, before = [], ""
        for i in range(1, len(kept) + 1):  # each token's text, as an incremental detokenizer
            text = tokenizer.decode(kept[:i], skip_special_tokens=True)
            pieces.append(text[len(before) :])
            before = text
        whole = "".join(pieces)
        for stop in body.get("stop") or []:
            if stop in whole:  # as vLLM: the text up to the stop string, which is left out
                whole, finish = whole[: whole.find(stop)], "stop"
                pieces = [whole]
        return new if end is None else new[: end + 1], pieces, finish

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def auth(request: Request, call_next):
            header = request.headers.get("authorization")
            self.authorizations.append(header)
            if self.api_key is not None and header != f"Bearer {self.api_key}":
                error = {"message": "Unauthorized", "type": "auth"}
                return JSONResponse({"error": error}, status_code=401)
            return await call_next(request)

        @app.get("/v1/models")
        async def models() -> dict:
            card = {"id": self.name, "object": "model", "max_model_len": self.max_model_len}
            return {"object": "list", "data": [card]}

        @app.post("/v1/completions")
        async def completions(request: Request) -> Any:
            body = await request.json()
            with self._lock:
                self.requests.append(body)
            self.in_flight += 1  # the event loop is one thread: no lock needed here
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay_s)
                ids, pieces, finish = await asyncio.to_thread(self._generate, body)
            finally:
                self.in_flight -= 1
            usage = {"prompt_tokens": len(body["prompt"]), "completion_tokens": len(ids),
                     "total_tokens": len(body["prompt"]) + len(ids)}  # fmt: skip
            if not body.get("stream"):
                choice = {"index": 0, "text": "".join(pieces), "finish_reason": finish}
                return JSONResponse({"id": "cmpl-t", "object": "text_completion",
                                     "model": self.name, "choices": [choice], "usage": usage})  # fmt: skip

            def event(choices: list, with_usage: dict | None = None) -> str:
                chunk = {"id": "cmpl-t", "object": "text_completion", "created": 0,
                         "model": self.name, "choices": choices, "usage": with_usage}  # fmt: skip
                return f"data: {json.dumps(chunk)}\n\n"

            def stream():
                for piece in pieces:
                    yield event([{"index": 0, "text": piece, "finish_reason": None}])
                yield event([{"index": 0, "text": "", "finish_reason": finish}])
                if (body.get("stream_options") or {}).get("include_usage"):
                    yield event([], usage)
                yield "data: [DONE]\n\n"

            return StreamingResponse(stream(), media_type="text/event-stream")

        return app
