"""The redaction audit (counts and a mergeable review sample) and recall on labelled PHI."""

from __future__ import annotations

import heapq
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from radllama.deid.config import PHI_TYPES, PLACEHOLDERS, DeidConfig
from radllama.deid.spans import DeidResult, is_covered, overlaps, touching_merged

if TYPE_CHECKING:
    from radllama.deid.engine import Deidentifier


# ------------------------------------------------------------------------------------------
# Audit
# ------------------------------------------------------------------------------------------


@dataclass
class DeidAudit:
    """Redaction counts over many reports plus a fixed-size review sample; mergeable.

    The sample keeps the `sample_size` redactions with the smallest hash of (report id, type,
    original, offset): a deterministic "bottom-k" sample, so merging the audits of worker
    processes gives the same sample as one process seeing every report. Texts of one report
    (findings, impression) are added one after the other with the same `record_id` and count
    as one report. NOTE: ``original_context`` shows the identifiers themselves; keep the audit
    file with the raw data, not with the de-identified dataset you share.
    """

    sample_size: int = 50
    context_chars: int = 40
    ner: bool = False  # a NER model ran beside the rules (deid.ner): report what it added
    counts: Counter[str] = field(default_factory=Counter)
    ner_added: Counter[str] = field(default_factory=Counter)  # spans only the model found
    total_redactions: int = 0
    reports_seen: int = 0
    reports_with_phi: int = 0
    _heap: list[tuple[int, str, str, str, str]] = field(default_factory=list, repr=False)
    _last_id: str | None = field(default=None, repr=False)
    _last_had_phi: bool = field(default=False, repr=False)

    @classmethod
    def for_config(cls, config: DeidConfig) -> DeidAudit:
        return cls(
            sample_size=config.audit_sample_size,
            context_chars=config.audit_context_chars,
            ner=config.ner is not None,
        )

    def add(self, record_id: str, result: DeidResult) -> None:
        record_id = str(record_id)
        if record_id != self._last_id:
            self.reports_seen += 1
            self._last_id, self._last_had_phi = record_id, False
        if not result.spans:
            return
        if result.ner_added:
            self.ner_added.update(result.ner_added)
        if not self._last_had_phi:
            self.reports_with_phi += 1
            self._last_had_phi = True
        self.total_redactions += len(result.spans)
        self.counts.update(result.counts)
        if self.sample_size:
            self._sample(record_id, result)

    def merge(self, other: DeidAudit) -> None:
        self.counts.update(other.counts)
        self.ner_added.update(other.ner_added)
        self.total_redactions += other.total_redactions
        self.reports_seen += other.reports_seen
        self.reports_with_phi += other.reports_with_phi
        for item in other._heap:
            self._offer(item)

    def to_json(self) -> dict[str, Any]:
        by_type = {kind: self.counts.get(kind, 0) for kind in PHI_TYPES}
        sample = sorted(self._heap, key=lambda item: -item[0])
        ner = {}
        if self.ner:  # spans the rules missed and the model masked, per model type
            ner = {
                "ner_added_total": sum(self.ner_added.values()),
                "ner_added_by_type": dict(sorted(self.ner_added.items())),
            }
        return {
            **ner,
            "total_redactions": self.total_redactions,
            "counts_by_type": by_type,
            "reports_with_phi": self.reports_with_phi,
            "reports_seen": self.reports_seen,
            "sample": [
                {"id": rid, "type": kind, "original_context": orig, "redacted_context": red}
                for _, rid, kind, orig, red in sample
            ],
            "note": "original_context shows identifiers: keep this file with the raw data.",
        }

    def _offer(self, item: tuple[int, str, str, str, str]) -> None:
        # Max-heap on the hash (stored negated): the root is the largest kept hash.
        if len(self._heap) < self.sample_size:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def _sample(self, record_id: str, result: DeidResult) -> None:
        original: str | None = None
        shift = 0  # offset of the redacted text relative to the input text
        width = self.context_chars
        replacements = result.replacements or [PLACEHOLDERS[s[2]] for s in result.spans]
        for (start, end, kind, value), new in zip(result.spans, replacements, strict=True):
            key = zlib.crc32(f"{record_id}\x00{kind}\x00{value}\x00{start}".encode())
            full = len(self._heap) >= self.sample_size
            if not full or -key > self._heap[0][0]:
                if original is None:
                    original = restore_original(result)
                out_start = start + shift
                redacted = result.text[max(0, out_start - width) : out_start + len(new) + width]
                source = original[max(0, start - width) : end + width]
                self._offer((-key, record_id, kind, source, redacted))
            shift += len(new) - (end - start)


def restore_original(result: DeidResult) -> str:
    """The input text of a `DeidResult`, rebuilt from its spans and replacements."""
    replacements = result.replacements or [PLACEHOLDERS[s[2]] for s in result.spans]
    pieces, position, shift = [], 0, 0
    for (start, end, _, value), new in zip(result.spans, replacements, strict=True):
        out_start = start + shift
        pieces.append(result.text[position:out_start])
        pieces.append(value)
        position = out_start + len(new)
        shift += len(new) - (end - start)
    pieces.append(result.text[position:])
    return "".join(pieces)


# ------------------------------------------------------------------------------------------
# Ground-truth evaluation (synthetic corpus: FILE.phi.jsonl)
# ------------------------------------------------------------------------------------------


def recall_against_ground_truth(
    texts: Iterable[str],
    phi_records: Iterable[dict[str, Any]],
    deidentifier: Deidentifier | None = None,
    max_examples: int = 20,
) -> dict[str, Any]:
    """Share of planted PHI spans fully covered by redactions, and of clinical terms kept.

    `phi_records` are rows of ``FILE.phi.jsonl`` (``spans``: start/end/type/text and ``keep``:
    start/end/text, offsets in the matching text). A planted span counts as found only if
    redactions cover every one of its characters; a keep term counts as kept only if no
    redaction touches it.
    """
    from radllama.deid.engine import Deidentifier

    deid = deidentifier or Deidentifier()
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    keep_total = keep_kept = 0
    missed: list[dict[str, Any]] = []
    damaged: list[dict[str, Any]] = []
    for text, record in zip(texts, phi_records, strict=True):
        covered = touching_merged(deid.find(text))
        for span in record.get("spans", []):
            planted[span["type"]] += 1
            if is_covered(covered, span["start"], span["end"]):
                found[span["type"]] += 1
            elif len(missed) < max_examples:
                missed.append(_example(text, span, record))
        for term in record.get("keep", []):
            keep_total += 1
            if not overlaps(covered, term["start"], term["end"]):
                keep_kept += 1
            elif len(damaged) < max_examples:
                damaged.append(_example(text, term, record))
    total = sum(planted.values())
    return {
        "phi_spans": total,
        "phi_covered": sum(found.values()),
        "recall": sum(found.values()) / total if total else 1.0,
        "recall_by_type": {k: found[k] / n for k, n in sorted(planted.items())},
        "spans_by_type": dict(sorted(planted.items())),
        "keep_terms": keep_total,
        "keep_kept": keep_kept,
        "keep_rate": keep_kept / keep_total if keep_total else 1.0,
        "missed_examples": missed,
        "keep_violations": damaged,
    }


def _example(text: str, span: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    start, end = span["start"], span["end"]
    return {
        "report_id": record.get("report_id"),
        "type": span.get("type", "KEEP"),
        "text": text[start:end],
        "context": text[max(0, start - 40) : end + 40],
    }
