"""The radiologist's page at ``/``: static HTML/CSS/JS shipped inside the package (no build
step, no CDN: it works offline in a hospital network), plus the two small JSON routes it reads.

- ``GET /ui/info`` (open): the model name and whether an API key is required.
- ``GET /v1/exam-codes`` (keyed like every /v1 route): exam codes seen in training, most
  frequent first, for the exam field's suggestions. Read from the run's dataset manifest
  (``exam_codes``) when it lists them, else counted from the run's train split (capped).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

logger = logging.getLogger("radllama.serve")
STATIC = files("radllama.serving") / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css"}
MAX_EXAM_CODES = 500
MAX_ROWS_SCANNED = 500_000  # ~1-2 s of JSON parsing, once, off the event loop


def exam_codes_seen_in_training(run: dict) -> list[str]:
    """Exam codes of the run's training data, most frequent first ([] for a bare model)."""
    data_dir = Path((run.get("data") or {}).get("dir") or "")
    if not str(data_dir) or not data_dir.is_dir():
        return []
    manifest = data_dir / "manifest.json"
    try:
        listed = json.loads(manifest.read_text()).get("exam_codes") if manifest.is_file() else None
    except (OSError, json.JSONDecodeError):
        listed = None
    if isinstance(listed, dict):
        return [code for code, _ in Counter(listed).most_common(MAX_EXAM_CODES)]
    if isinstance(listed, list):
        return [str(code) for code in listed[:MAX_EXAM_CODES]]
    counts: Counter = Counter()
    train = data_dir / "train.jsonl"
    if not train.is_file():
        return []
    with train.open(encoding="utf-8", errors="replace") as rows:
        for i, line in enumerate(rows):
            if i >= MAX_ROWS_SCANNED:
                break
            try:
                code = json.loads(line).get("exam_code")
            except (json.JSONDecodeError, AttributeError):
                continue
            if isinstance(code, str) and code.strip():
                counts[code.strip()] += 1
    return [code for code, _ in counts.most_common(MAX_EXAM_CODES)]


def add_page_routes(app: FastAPI, model_name: str, run: dict, auth_required: bool) -> None:
    cache: dict[str, list[str]] = {}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        # no-store: the page holds report text; nothing of it should sit in a browser cache.
        return HTMLResponse(
            (STATIC / "index.html").read_text(encoding="utf-8"),
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        resource = STATIC / name
        suffix = Path(name).suffix
        if "/" in name or suffix not in _TYPES or not resource.is_file():
            return JSONResponse({"error": {"message": "not found"}}, status_code=404)
        return FileResponse(str(resource), media_type=_TYPES[suffix])

    @app.get("/ui/info", include_in_schema=False)
    async def info() -> dict:
        return {"model": model_name, "auth_required": auth_required}

    @app.get("/v1/exam-codes")
    async def exam_codes() -> dict:
        if "codes" not in cache:
            cache["codes"] = await asyncio.to_thread(exam_codes_seen_in_training, run)
        return {"exam_codes": cache["codes"]}
