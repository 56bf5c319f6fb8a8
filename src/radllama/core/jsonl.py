"""JSON Lines helpers shared by every stage (streaming, constant memory)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radllama.core.errors import DataError


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield one dict per non-blank line; a bad line is a DataError naming its line number."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}; pass an existing .jsonl file")
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{line_number}: each line must be a JSON object")
            yield row


@dataclass
class MalformedLines:
    """Lines a lenient reader skipped: counted per reason, the first `max_listed` listed by
    line number (the reasons `radllama prepare` uses: bad_encoding, parse_error,
    not_an_object; callers add their own, e.g. wrong_type)."""

    max_listed: int = 100
    by_reason: Counter[str] = field(default_factory=Counter)
    listed: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.by_reason[reason] += 1
        if len(self.listed) < self.max_listed:
            self.listed.append((line, reason))

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "by_reason": dict(self.by_reason),
            "listed": [{"line": line, "reason": reason} for line, reason in self.listed],
        }


def read_jsonl_counted(
    path: str | Path, malformed: MalformedLines
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per good line; a line that is not UTF-8, not JSON or not an
    object is counted in `malformed` and skipped, as `radllama prepare` does, not raised."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a device or FIFO is never opened (issue 20)
        raise DataError(
            f"{path} is not a regular file (a device, FIFO or folder); pass a .jsonl file"
        )
    if not path.is_file():
        raise DataError(f"file not found: {path}; pass an existing .jsonl file")
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                malformed.add(line_number, "bad_encoding")
                continue
            except ValueError:
                malformed.add(line_number, "parse_error")
                continue
            if not isinstance(row, dict):
                malformed.add(line_number, "not_an_object")
                continue
            yield line_number, row


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temp file + rename); returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count


def append_jsonl(path: str | Path, row: dict[str, Any]) -> None:
    """Append one row and flush (resumable outputs: a crash loses at most this row)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
