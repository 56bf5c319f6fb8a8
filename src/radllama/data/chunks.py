"""`radllama prepare`, worker side: one raw chunk -> formatted instruction rows + hashes.

Runs in worker processes (`passes.ordered_map`): parse, split sections, de-identify,
filter and format each row (`ChunkProcessor`); kept rows come back as JSON lines with the
64-bit hashes that pass 2 uses for duplicates and the patient split.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from radllama.core import prompts
from radllama.core.exams import modality_and_region
from radllama.core.hashing import splitmix64, text_hash
from radllama.data.filters import (
    collapse_whitespace,
    drop_reason,
)
from radllama.data.ingest import (
    RawChunk,
    Records,
    parse_chunk,
)
from radllama.data.prepare_config import (
    _DEFAULT_STYLE,
    PrepareConfig,
    prompt_style,
)
from radllama.data.redaction import RedactionCache, redact_many_collapsed
from radllama.data.sections import split_sections
from radllama.deid.engine import DeidAudit, Deidentifier

# ---- worker side: one chunk -> formatted rows + hashes ---------------------------------------


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk (kept rows are in input order)."""

    lines: list[str] = field(default_factory=list)  # JSON rows without the closing brace
    findings_hashes: list[int] = field(default_factory=list)
    impression_hashes: list[int] = field(default_factory=list)
    group_keys: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # "modality\tbody_region" per kept row
    input_rows: int = 0
    dropped: Counter = field(default_factory=Counter)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    sections: Counter = field(default_factory=Counter)
    blank_lines: int = 0
    audit: Any = None


def row_draws(seed: int, rows: list[int], probability: float) -> tuple[list[int], list[int | None]]:
    """Instruction index and prepend index (None = no phrase) per input row number.

    Drawn from a hash of (seed, row number), so the choice does not depend on chunking,
    worker count or which rows were dropped before.
    """
    base = splitmix64(
        np.asarray(rows, dtype=np.uint64) ^ splitmix64(np.array([seed], np.uint64))[0]
    )
    instruction = (base % np.uint64(len(prompts.INSTRUCTIONS))).tolist()
    second = splitmix64(base)
    uniform = (second >> np.uint64(11)).astype(np.float64) * 2.0**-53
    phrase = (splitmix64(second) % np.uint64(len(prompts.PREPEND_PHRASES))).tolist()
    prepend = [
        p if u < probability else None for u, p in zip(uniform.tolist(), phrase, strict=True)
    ]
    return instruction, prepend


def instruction_row(
    ids: dict[str, Any],
    findings: str,
    impression: str,
    instruction_index: int,
    prepend_index: int | None,
    style: prompts.PromptStyle = _DEFAULT_STYLE,
) -> dict[str, Any]:
    """One DATA_DIR row (without `split`) from the ids/exam fields and a cleaned pair.

    `ids` holds report_id, patient_id, exam_code, exam_description, modality, body_region.
    The messages come from `style.messages`, the one builder every stage uses.
    """
    messages = style.row_messages(
        {**ids, "findings": findings},
        instruction=prompts.INSTRUCTIONS[instruction_index],
        completion=prompts.build_completion(impression, prepend_index),
    )
    return {
        **ids,
        "findings": findings,
        "impression": impression,
        "instruction_index": instruction_index,
        "prepend_index": prepend_index,
        "prompt": messages[-2]["content"],
        "completion": messages[-1]["content"],
        "messages": messages,
    }


def encode_row(row: dict[str, Any]) -> str:
    """`json.dumps(row)` without its closing brace, for rows made by `instruction_row`.

    The prompt and completion appear twice in a row (fields and messages); escaping each
    text once and reusing it makes this ~3x faster than json.dumps, which matters at
    millions of rows. tests/test_prepare.py checks it against json.loads.
    """
    q = _QUOTE
    prompt, completion = q(row["prompt"]), q(row["completion"])
    escaped = {row["prompt"]: prompt, row["completion"]: completion}
    messages = ", ".join(
        f'{{"role": {_quote_constant(m["role"])}, "content": '
        f"{escaped.get(m['content']) or _quote_constant(m['content'])}}}"
        for m in row["messages"]
    )
    prepend = row["prepend_index"]
    return (
        f'{{"report_id": {q(row["report_id"])}, '
        f'"patient_id": {"null" if row["patient_id"] is None else q(row["patient_id"])}, '
        f'"exam_code": {q(row["exam_code"])}, "exam_description": {q(row["exam_description"])}, '
        f'"modality": {q(row["modality"])}, "body_region": {q(row["body_region"])}, '
        f'"findings": {q(row["findings"])}, "impression": {q(row["impression"])}, '
        f'"instruction_index": {row["instruction_index"]}, '
        f'"prepend_index": {"null" if prepend is None else prepend}, '
        f'"prompt": {prompt}, "completion": {completion}, '
        f'"messages": [{messages}]'
    )


_QUOTE = json.encoder.encode_basestring_ascii  # C; '"..."' with the same escapes as json.dumps


@functools.lru_cache(maxsize=64)
def _quote_constant(text: str) -> str:
    """Escaped roles and system prompt: a handful of distinct strings, escaped once."""
    return _QUOTE(text)


class ChunkProcessor:
    """Sections -> de-identification -> filters -> instruction rows, for one chunk.

    Picklable: it is sent once to each worker process. Per-row work is kept to string
    methods and C-implemented calls (see benchmarks/bench_prepare.py).
    """

    def __init__(self, config: PrepareConfig, emit_rows: bool = True) -> None:
        self.config = config
        self.emit_rows = emit_rows
        self.deidentifier = Deidentifier(config.deid)
        # --ner: each worker's torch gets its share of the cores (2 workers on 2 cores: 1 each)
        self.deidentifier.ner_threads = max(1, (os.cpu_count() or 1) // max(1, config.workers))
        self.style = prompt_style(config)
        self._labels: dict[tuple[str, str], tuple[str, str]] = {}
        self._descriptions: dict[str, Any] = {}
        self._redactions = RedactionCache()  # repeated impressions are redacted once

    def __call__(self, chunk: RawChunk) -> ChunkResult:
        records = parse_chunk(chunk, self.config.ingest)
        result = ChunkResult(malformed=records.malformed, blank_lines=records.blank_lines)
        result.input_rows = len(records) + len(records.malformed)
        result.dropped.update(reason for _, reason in records.malformed)
        result.audit = DeidAudit.for_config(self.config.deid)
        self._clean_filter_format(records, *self._extract(records, result.sections), result)
        return result

    def _extract(
        self, records: Records, counts: Counter
    ) -> tuple[list[str], list[str], list[str], list[bool]]:
        """Findings, impression, the exam named in the text, and whether the report is
        blank (no text at all: an empty row, not a report without findings)."""
        if "text" not in records.columns:
            findings, impressions = records.columns["findings"], records.columns["impression"]
            blank = [
                not (f.strip() or i.strip()) for f, i in zip(findings, impressions, strict=True)
            ]
            return findings, impressions, [""] * len(records), blank
        findings, impressions, exams, blank = [], [], [], []
        too_long = 4 * self.config.filters.max_field_chars  # a whole report: several sections
        for text in records.columns["text"]:
            if len(text) > too_long:  # not split (regexes over megabytes); dropped as too_long
                findings.append(text)
                impressions.append("")
                exams.append("")
                blank.append(False)
                continue
            sections = split_sections(text)
            findings.append(sections.findings)
            impressions.append(sections.impression)
            exams.append(sections.exam)
            blank.append(sections.reason == "empty_text")
            counts[sections.reason or "split"] += 1
            counts["combined_split_at_last_paragraph"] += sections.from_combined
            counts["addendum_kept_apart"] += bool(sections.addendum)
        return findings, impressions, exams, blank

    def _clean_filter_format(
        self,
        records: Records,
        findings: list[str],
        impressions: list[str],
        exams: list[str],
        blank: list[bool],
        result: ChunkResult,
    ) -> None:
        config, cols = self.config, records.columns
        empty = [""] * len(records)
        codes, descriptions = cols.get("exam_code", empty), cols.get("exam_description", exams)
        patients, report_ids = cols.get("patient_id", empty), cols.get("report_id", empty)
        instructions, prepends = row_draws(
            config.seed, records.rows, config.prompt.prepend_probability
        )
        min_words, audit, dropped = config.filters.min_findings_words, result.audit, result.dropped
        max_chars = config.filters.max_field_chars
        todo: list[tuple[int, int, str]] = []  # (index, row number, report id) to redact
        texts: list[str] = []  # findings, impression of each, in that order
        for i, row in enumerate(records.rows):
            if len(findings[i]) > max_chars or len(impressions[i]) > max_chars:
                dropped["too_long"] += 1  # before any per-character work on it
                continue
            finding = collapse_whitespace(findings[i])
            impression = collapse_whitespace(impressions[i])
            if not (finding and impression):  # nothing to redact: decide before the work
                dropped["empty_row" if blank[i] else drop_reason(finding, impression, 0)] += 1
                continue
            todo.append((i, row, report_ids[i] or f"row{row}"))
            texts += (finding, impression)
        # One call for the chunk: with deid.ner the model sees all its texts in batches.
        ids = [rid for _, _, rid in todo for _ in (0, 1)]
        redacted = redact_many_collapsed(self.deidentifier, audit, texts, ids, self._redactions)
        for n, (i, row, report_id) in enumerate(todo):
            finding, impression = redacted[2 * n], redacted[2 * n + 1]
            reason = drop_reason(finding, impression, min_words)
            if reason is not None:
                dropped[reason] += 1
                continue
            code = codes[i].strip()
            description = self._description(descriptions[i], report_id, audit)
            modality, region = self._label(code, description)
            patient = patients[i].strip()
            result.findings_hashes.append(text_hash(finding))
            result.impression_hashes.append(text_hash(impression))
            result.group_keys.append(
                text_hash("patient\x00" + patient) if patient else row | 1 << 63
            )
            result.labels.append(f"{modality}\t{region}")
            if self.emit_rows:
                ids = {
                    "report_id": report_id,
                    "patient_id": patient or None,
                    "exam_code": code,
                    "exam_description": description,
                    "modality": modality,
                    "body_region": region,
                }
                row_dict = instruction_row(
                    ids, finding, impression, instructions[i], prepends[i], self.style
                )
                result.lines.append(encode_row(row_dict))

    def _description(self, text: str, report_id: str, audit: Any) -> str:
        """Collapsed, de-identified exam description; cached (a few hundred distinct values)."""
        cleaned = self._descriptions.get(text)
        if cleaned is None:
            if len(self._descriptions) > 100_000:
                self._descriptions.clear()
            collapsed = collapse_whitespace(text)
            cleaned = self.deidentifier.redact(collapsed) if collapsed else None
            self._descriptions[text] = cleaned = cleaned or _NO_TEXT
        if cleaned.spans:
            audit.add(report_id, cleaned)
        return cleaned.text

    def _label(self, code: str, description: str) -> tuple[str, str]:
        key = (code, description)
        label = self._labels.get(key)
        if label is None:
            if len(self._labels) > 100_000:
                self._labels.clear()
            ingest = self.config.ingest
            derived = modality_and_region(code or description)
            label = (ingest.modality or derived[0], ingest.body_region or derived[1])
            self._labels[key] = label
        return label


class _NoText(NamedTuple):
    text: str = ""
    spans: tuple = ()


_NO_TEXT = _NoText()
