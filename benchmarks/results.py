"""Shared tail of the benchmark scripts: print a RESULTS.md section and append it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")


def publish(section: str, raw: dict[str, Any], append: bool) -> None:
    """Print the markdown section and the raw figures (JSON); append the section if asked."""
    print(section)
    print(json.dumps(raw))
    if append:
        with open(RESULTS, "a", encoding="utf-8") as handle:
            handle.write(section)
        print(f"appended to {RESULTS}")
