"""The radiologist's page at ``/``: static HTML/CSS/JS shipped inside the package (no build
step, no CDN: it works offline in a hospital network), plus the two small JSON routes it reads.

- ``GET /ui/info`` (open): the model name and whether an API key is required.
- ``GET /v1/exam-codes`` (keyed like every /v1 route): exam codes seen in training, most
  frequent first, for the exam field's suggestions. Read from the run's dataset manifest
  (``exam_codes``) when it lists them, else counted from the run's train split (capped).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

logger = logging.getLogger("radllama.serving")
STATIC = files("radllama.serving") / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css"}
MAX_EXAM_CODES = 500
MAX_ROWS_SCANNED = 500_000  # ~1-2 s of JSON parsing, once, off the event loop


def exam_codes_seen_in_training(run) -> list[str]:
    """Exam codes of the run's training data, most frequent first ([] for a bare model).

    `run` is the model's run record (`artifacts.RunRecord`, a dict, or None)."""
    from radllama.core.artifacts import DataDir
    from radllama.core.errors import RadllamaError

    data = getattr(run, "data", None) if not isinstance(run, dict) else run.get("data")
    data_dir = Path((data or {}).get("dir") or "")
    if not str(data_dir) or not data_dir.is_dir():
        return []
    try:
        prepared = DataDir.open(data_dir)
    except RadllamaError as error:  # an unreadable manifest only costs the suggestions
        logger.warning("exam code suggestions unavailable (%s)", type(error).__name__)
        return []
    manifest = prepared.manifest
    listed = (manifest.model_extra or {}).get("exam_codes") if manifest else None
    if isinstance(listed, dict):
        return [code for code, _ in Counter(listed).most_common(MAX_EXAM_CODES)]
    if isinstance(listed, list):
        return [str(code) for code in listed[:MAX_EXAM_CODES]]
    counts: Counter = Counter()
    try:
        rows = prepared.rows("train")
        for _, row in zip(range(MAX_ROWS_SCANNED), rows, strict=False):
            code = row.get("exam_code") if isinstance(row, dict) else None
            if isinstance(code, str) and code.strip():
                counts[code.strip()] += 1
    except (RadllamaError, OSError, ValueError) as error:
        logger.warning("exam code suggestions unavailable (%s)", type(error).__name__)
    return [code for code, _ in counts.most_common(MAX_EXAM_CODES)]


def add_page_routes(app: FastAPI, model_name: str, run, auth_required: bool) -> None:
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
