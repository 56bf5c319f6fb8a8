"""Score a de-identifier against a labelled PHI set (`radllama deid-eval FILE.jsonl`).

The set is JSONL, one report per line::

    {"id": "r1", "text": "...",
     "phi":  [{"start": 0, "end": 10, "type": "NAME", "subtype": "PATIENT", "text": "..."}],
     "keep": [{"start": 20, "end": 31, "kind": "EPONYM", "text": "..."}]}

Offsets are Python string indices into ``text``; ``end`` is exclusive. Metrics:

- **span recall** (per type and overall): a gold span is *caught* when the redactions cover every
  one of its characters except whitespace and punctuation ("Smith," is caught by redacting
  "Smith"); **partial recall** counts a span touched by any redaction.
- **precision** (characters): of the letters and digits a system redacts, the share that lie
  inside gold PHI (punctuation between two gold spans is not counted either way). Gold ``STATE`` spans are informational (Safe Harbor allows states): they
  are left out of recall, and redacting them counts neither for nor against precision.
- **keep rate**: clinical terms (eponyms, measurements, anatomy) that no redaction touches.
- **surname tokens**: of every person name, the surname word (the one before ``,`` or ``^`` in
  "Last, First" / ``LAST^FIRST``, else the last word that is not an initial or a suffix) must be
  redacted whole; a name caught only in part usually leaks exactly this word.
- **by group**: recall and keep rate per ``layout`` and per ``origin`` when records carry them
  (tests/data/phi_broad/ does).

The scorer takes redacted *character intervals*, so any system (ours, Philter, Presidio,
scrubadub in ``benchmarks/bench_deid.py``) is scored by the same code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radllama.core.errors import DataError

INFORMATIONAL_TYPES = frozenset({"STATE"})  # allowed by Safe Harbor; reported, not required
Intervals = list[tuple[int, int]]


@dataclass
class PhiRecord:
    """One labelled report: text, gold PHI spans ``(start, end, type, subtype)``, keep spans."""

    id: str
    text: str
    phi: list[tuple[int, int, str, str]]
    keep: list[tuple[int, int, str]]
    groups: dict[str, str] = field(default_factory=dict)  # e.g. {"layout": .., "origin": ..}


def load_phi_set(path: str | Path) -> list[PhiRecord]:
    """Read and validate a PHI set; any problem is a one-line DataError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}; pass a labelled PHI set (.jsonl)")
    records: list[PhiRecord] = []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not UTF-8 text (byte {error.start}); re-save the file as UTF-8"
        ) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{where}: not valid JSON ({error.msg})") from None
        records.append(_parse_record(row, where))
    if not records:
        raise DataError(f"{path}: no records; expected one JSON object per line")
    return records


def _parse_record(row: Any, where: str) -> PhiRecord:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise DataError(f'{where}: expected an object with a "text" string, "phi" and "keep" lists')
    text = row["text"]
    phi, keep = [], []
    for key, out in (("phi", phi), ("keep", keep)):
        spans = row.get(key, [])
        if not isinstance(spans, list):
            raise DataError(f'{where}: "{key}" must be a list of spans')
        for i, span in enumerate(spans):
            try:
                start, end = int(span["start"]), int(span["end"])
                label = str(span["type"] if key == "phi" else span.get("kind", "KEEP"))
            except (KeyError, TypeError, ValueError):
                raise DataError(
                    f'{where}: {key}[{i}] needs integer "start", "end"'
                    + (' and a "type"' if key == "phi" else "")
                ) from None
            if not 0 <= start < end <= len(text):
                raise DataError(
                    f"{where}: {key}[{i}] offsets {start}-{end} are outside the text "
                    f"(length {len(text)}); offsets are Python string indices"
                )
            if "text" in span and text[start:end] != span["text"]:
                raise DataError(
                    f"{where}: {key}[{i}] text {span['text']!r} != text[{start}:{end}] "
                    f"{text[start:end]!r}; fix the offsets"
                )
            if key == "phi":
                out.append((start, end, label.upper(), str(span.get("subtype", ""))))
            else:
                out.append((start, end, label))
    groups = {key: str(row[key]) for key in GROUP_KEYS if isinstance(row.get(key), str)}
    return PhiRecord(str(row.get("id", where)), text, phi, keep, groups)


GROUP_KEYS = ("layout", "origin")
_NAME_SUFFIXES = frozenset("jr jr. sr sr. ii iii iv md rn".split())


def surname_token(value: str) -> tuple[int, int] | None:
    """Offsets (in `value`) of a person name's surname word.

    >>> [surname_token(v) for v in ("Kowalski, Lukasz J", "NGUYEN^VAN^AN", "Anna M. Jones")]
    [(0, 8), (0, 6), (8, 13)]
    """
    import re

    words = [m for m in re.finditer(r"[^\s,^&]+", value)]
    if not words:
        return None
    for sep in (",", "^"):
        cut = value.find(sep)
        if cut > 0:
            before = [m for m in words if m.end() <= cut]
            if before:
                return before[-1].span() if sep == "," else before[0].span()
    for m in reversed(words):
        bare = m.group().rstrip(".").lower()
        if len(bare) > 1 and bare not in _NAME_SUFFIXES:
            return m.span()
    return None


@dataclass
class DeidScore:
    """Counts behind every metric; `summary()` turns them into rates."""

    spans: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    touched: Counter[str] = field(default_factory=Counter)
    redacted_chars: int = 0  # letters and digits redacted, gold STATE excluded
    redacted_phi_chars: int = 0  # ... of which inside gold PHI
    keep_total: int = 0
    keep_kept: int = 0
    surnames: int = 0  # person names with a surname word ...
    surnames_caught: int = 0  # ... whose surname word is fully redacted
    # group ("layout:hl7_oru") -> [gold spans, caught, keep terms, kept]
    groups: dict[str, list[int]] = field(default_factory=dict)
    subtypes: Counter[str] = field(default_factory=Counter)  # "NAME/PATIENT" -> spans
    subtypes_caught: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    seconds: float = 0.0
    missed: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[dict[str, Any]] = field(default_factory=list)
    over_redacted: list[dict[str, Any]] = field(default_factory=list)

    def recall(self, kind: str | None = None) -> float:
        if kind is not None:
            return self.caught[kind] / self.spans[kind] if self.spans[kind] else 1.0
        total = sum(n for k, n in self.spans.items() if k not in INFORMATIONAL_TYPES)
        hit = sum(n for k, n in self.caught.items() if k not in INFORMATIONAL_TYPES)
        return hit / total if total else 1.0

    def partial_recall(self, kind: str | None = None) -> float:
        if kind is not None:
            return self.touched[kind] / self.spans[kind] if self.spans[kind] else 1.0
        total = sum(n for k, n in self.spans.items() if k not in INFORMATIONAL_TYPES)
        hit = sum(n for k, n in self.touched.items() if k not in INFORMATIONAL_TYPES)
        return hit / total if total else 1.0

    @property
    def precision(self) -> float:
        return self.redacted_phi_chars / self.redacted_chars if self.redacted_chars else 1.0

    @property
    def keep_rate(self) -> float:
        return self.keep_kept / self.keep_total if self.keep_total else 1.0

    @property
    def surname_recall(self) -> float:
        return self.surnames_caught / self.surnames if self.surnames else 1.0

    def group_recall(self, group: str) -> float:
        spans, caught, _, _ = self.groups.get(group, [0, 0, 0, 0])
        return caught / spans if spans else 1.0

    def group_keep_rate(self, group: str) -> float:
        _, _, total, kept = self.groups.get(group, [0, 0, 0, 0])
        return kept / total if total else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "phi_spans": sum(n for k, n in self.spans.items() if k not in INFORMATIONAL_TYPES),
            "recall": self.recall(),
            "partial_recall": self.partial_recall(),
            "precision": self.precision,
            "keep_terms": self.keep_total,
            "keep_rate": self.keep_rate,
            "reports_per_s": self.reports / self.seconds if self.seconds else None,
            "surname_tokens": self.surnames,
            "surname_recall": self.surname_recall,
            "by_group": {
                group: {
                    "spans": counts[0],
                    "recall": self.group_recall(group),
                    "keep_rate": self.group_keep_rate(group),
                }
                for group, counts in sorted(self.groups.items())
            },
            "by_subtype": {
                sub: {"spans": n, "recall": self.subtypes_caught[sub] / n}
                for sub, n in sorted(self.subtypes.items())
            },
            "by_type": {
                kind: {
                    "spans": n,
                    "recall": self.recall(kind),
                    "partial_recall": self.partial_recall(kind),
                    "informational": kind in INFORMATIONAL_TYPES,
                }
                for kind, n in sorted(self.spans.items())
            },
        }


def score(
    records: Iterable[PhiRecord],
    predict: Callable[[str], Iterable[tuple[int, int]]],
    max_examples: int = 30,
) -> DeidScore:
    """Score `predict(text) -> redacted (start, end) intervals` on every record.

    A `predict` with a ``many(texts)`` method (`ours` with a NER model) gets all texts in one
    call, so a model can batch them."""
    import time

    result = DeidScore()
    many = getattr(predict, "many", None)
    if many is not None:
        records = list(records)
        started = time.perf_counter()
        predictions = many([record.text for record in records])
        result.seconds += time.perf_counter() - started
        for record, predicted in zip(records, predictions, strict=True):
            score_one(record, predicted, result, max_examples)
        return result
    for record in records:
        started = time.perf_counter()
        predicted = list(predict(record.text))
        result.seconds += time.perf_counter() - started
        score_one(record, predicted, result, max_examples)
    return result


def score_one(
    record: PhiRecord, predicted: Iterable[tuple[int, int]], result: DeidScore, max_examples: int
) -> None:
    text = record.text
    mask = bytearray(len(text))  # 1 = redacted
    for start, end in predicted:
        mask[max(0, start) : min(len(text), end)] = b"\x01" * (min(len(text), end) - max(0, start))
    gold = bytearray(len(text))  # 1 = gold PHI, 2 = gold STATE (ignored for precision)
    for start, end, kind, _ in sorted(record.phi, key=lambda s: s[2] not in INFORMATIONAL_TYPES):
        value = b"\x02" if kind in INFORMATIONAL_TYPES else b"\x01"  # PHI overrides STATE
        gold[start:end] = value * (end - start)
    result.reports += 1
    groups = [
        result.groups.setdefault(f"{key}:{value}", [0, 0, 0, 0])
        for key, value in record.groups.items()
    ]
    for start, end, kind, subtype in record.phi:
        result.spans[kind] += 1
        significant = [i for i in range(start, end) if text[i].isalnum()]
        if any(mask[start:end]):
            result.touched[kind] += 1
        caught = bool(significant) and all(mask[i] for i in significant)
        if kind not in INFORMATIONAL_TYPES:
            result.subtypes[f"{kind}/{subtype}"] += 1
            result.subtypes_caught[f"{kind}/{subtype}"] += caught
            for counts in groups:
                counts[0] += 1
                counts[1] += caught
        if caught:
            result.caught[kind] += 1
        elif kind not in INFORMATIONAL_TYPES and len(result.missed) < max_examples:
            result.missed.append(_example(record, start, end, f"{kind}/{subtype}"))
        if kind == "NAME" and subtype != "USERNAME":
            surname = surname_token(text[start:end])
            if surname is not None:
                result.surnames += 1
                s_start, s_end = start + surname[0], start + surname[1]
                result.surnames_caught += all(
                    mask[i] for i in range(s_start, s_end) if text[i].isalnum()
                )
    for start, end, kind in record.keep:
        result.keep_total += 1
        kept = not any(mask[start:end])
        for counts in groups:
            counts[2] += 1
            counts[3] += kept
        if kept:
            result.keep_kept += 1
        elif len(result.damaged) < max_examples:
            result.damaged.append(_example(record, start, end, kind))
    run_start = None
    for i, char in enumerate(text):
        if mask[i] and char.isalnum() and gold[i] != 2:
            result.redacted_chars += 1
            if gold[i] == 1:
                result.redacted_phi_chars += 1
            elif run_start is None:
                run_start = i
        if run_start is not None and (not mask[i] or gold[i] or i == len(text) - 1):
            stop = i if (not mask[i] or gold[i]) else i + 1
            if len(result.over_redacted) < max_examples and any(
                c.isalnum() for c in text[run_start:stop]
            ):
                result.over_redacted.append(_example(record, run_start, stop, "NOT-PHI"))
            run_start = None


def _example(record: PhiRecord, start: int, end: int, label: str) -> dict[str, Any]:
    text = record.text
    return {
        "id": record.id,
        "type": label,
        "text": text[start:end],
        "context": text[max(0, start - 40) : end + 40],
    }


def ours(config: Any = None) -> Callable[[str], list[tuple[int, int]]]:
    """`predict` for radllama's `Deidentifier` (with ``config.ner``: the rules + the model)."""
    from radllama.deid.engine import Deidentifier

    deid = Deidentifier(config)
    if deid.config.ner is not None:
        return _Batched(deid)
    return lambda text: [(start, end) for start, end, _ in deid.find(text)]


class _Batched:
    """A `predict` that also takes all texts at once (the NER model batches them)."""

    def __init__(self, deid: Any) -> None:
        self.deid = deid

    def __call__(self, text: str) -> list[tuple[int, int]]:
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[(s, e) for s, e, _ in found] for found in self.deid.find_many(texts)]


def format_table(result: DeidScore, title: str = "radllama deid") -> str:
    """Plain-text table: recall, partial recall per type; precision and keep rate overall."""
    summary = result.summary()
    lines = [
        f"{title}: {summary['reports']} reports, {summary['phi_spans']} PHI spans",
        f"{'type':<12}{'spans':>7}{'recall':>9}{'partial':>9}",
    ]
    for kind, row in summary["by_type"].items():
        note = "  (informational: Safe Harbor allows states)" if row["informational"] else ""
        lines.append(
            f"{kind:<12}{row['spans']:>7}{row['recall']:>9.4f}{row['partial_recall']:>9.4f}{note}"
        )
    lines.append(
        f"{'ALL':<12}{summary['phi_spans']:>7}{summary['recall']:>9.4f}"
        f"{summary['partial_recall']:>9.4f}"
    )
    lines.append(
        f"precision (characters, STATE excluded): {summary['precision']:.4f}; "
        f"clinical terms kept: {summary['keep_rate']:.4f} "
        f"({result.keep_kept}/{result.keep_total})"
    )
    if result.surnames:
        lines.append(
            f"surname tokens redacted: {result.surname_recall:.4f} "
            f"({result.surnames_caught}/{result.surnames})"
        )
    if result.groups:
        lines.append(f"{'group':<28}{'spans':>7}{'recall':>9}{'kept':>9}")
        for group, row in summary["by_group"].items():
            lines.append(
                f"{group:<28}{row['spans']:>7}{row['recall']:>9.4f}{row['keep_rate']:>9.4f}"
            )
    return "\n".join(lines)


def format_examples(result: DeidScore, limit: int) -> str:
    lines = []
    for label, examples in (
        ("missed", result.missed),
        ("clinical term damaged", result.damaged),
        ("over-redacted", result.over_redacted),
    ):
        for example in examples[:limit]:
            lines.append(
                f"{label} {example['type']} {example['text']!r} in {example['context']!r} "
                f"[{example['id']}]"
            )
    return "\n".join(lines)


def evaluate_file(path: str | Path, config: Any = None) -> DeidScore:
    """Load a PHI set and score radllama's de-identifier on it."""
    return score(load_phi_set(path), ours(config))
