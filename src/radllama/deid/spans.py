"""Spans: what a recognizer found (`Span`) and what a redaction replaced (`Redaction`).

Both are named tuples: typed fields for readers, and still tuples for the hot loop (sorting,
unpacking and equality with plain ``(start, end, TYPE)`` tuples cost what they did before).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple


class Span(NamedTuple):
    """An identifier found in a text: ``text[start:end]`` is of type `kind` (a PHI type)."""

    start: int
    end: int
    kind: str


class Redaction(NamedTuple):
    """A span that was replaced: its offsets in the *input* text, its type and its text."""

    start: int
    end: int
    kind: str
    original: str


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------


@dataclass
class DeidResult:
    """Redacted text plus what was removed.

    ``spans`` are ``(start, end, TYPE, original)`` in the *input* text, sorted and disjoint;
    ``replacements[i]`` is what replaced ``spans[i]`` in ``text``; ``ner_added`` counts, per
    type, the spans that only the NER model found (`radllama.deid.ner.union_spans`).
    """

    text: str
    spans: list[Redaction]
    counts: Counter[str]
    replacements: list[str] = field(default_factory=list)
    ner_added: Counter[str] = field(default_factory=Counter)


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def merge_spans(found: list[Span]) -> list[Span]:
    """Sort spans and fuse overlapping ones; the longer span names the fused type."""
    found.sort()
    merged = [Span(*found[0])]
    for start, end, kind in found[1:]:
        last_start, last_end, last_kind = merged[-1]
        if start < last_end:
            # the longer span names the fused type; on a tie a specific type beats plain ID
            mine, theirs = (end - start, kind != "ID"), (last_end - last_start, last_kind != "ID")
            longer = kind if mine > theirs else last_kind
            merged[-1] = Span(last_start, max(end, last_end), longer)
        else:
            merged.append(Span(start, end, kind))
    return merged


def touching_merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end, _ in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def is_covered(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_right(intervals, (start, float("inf"))) - 1
    return i >= 0 and intervals[i][0] <= start and intervals[i][1] >= end


def overlaps(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_left(intervals, (end, -1)) - 1
    return i >= 0 and intervals[i][1] > start
