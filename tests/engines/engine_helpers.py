"""Helpers for the engine tests: the engine venvs (skip naming the fix when one is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radllama.serving.engines import EngineError, engine_python

REPO = Path(__file__).resolve().parents[2]


def engine_or_skip(name: str) -> Path:
    """The engine venv's python; skips (naming `make engines`) when it is not built."""
    try:
        return engine_python(name)
    except EngineError as error:
        pytest.skip(str(error))


def radllama(*args: str | Path) -> None:
    from radllama.cli import main

    code = main([str(a) for a in args])
    assert code == 0, f"radllama {' '.join(map(str, args))} exited {code}"
