"""`radllama prepare`: raw report export -> de-identified instruction dataset (DATA_DIR).

Two passes, memory bounded by the chunk size plus ~30 bytes of hashes per row:

1. The main process cuts the input into raw chunks (`ingest.iter_raw_chunks`); worker
   processes parse each chunk, split sections, de-identify, filter and format the rows
   (`ChunkProcessor`) and return them as JSON lines, with three 64-bit hashes per kept row
   (pair, patient group, findings). Results come back in input order and go to a spool file.
2. With every hash in hand, duplicates (first occurrence kept) and the patient splits are
   decided on numpy arrays, and the spool is routed into train/eval/test files.

The manifest stores a fingerprint of (resolved config, input hash, version): a rerun with
the same config and input does no work and leaves every file as it is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import Field

from radllama import __version__
from radllama.core import prompts
from radllama.core.artifacts import (
    DEID_AUDIT_FILE,
    MANIFEST_FILE,
    ArtifactError,
    DataManifest,
    DeidCounts,
    DeidSection,
)
from radllama.core.config import StrictModel, read_yaml, validate_config
from radllama.core.errors import ConfigError, DataError
from radllama.core.exams import modality_and_region
from radllama.core.hashing import splitmix64, text_hash
from radllama.core.provenance import (
    file_sha256,
    fsync_path,
    json_sha256,
    package_versions,
    path_sha256,
    utc_now,
    write_json,
)
from radllama.data.filters import (
    DROP_REASONS,
    FilterConfig,
    collapse_whitespace,
    drop_reason,
    first_occurrence,
    pair_hashes,
)
from radllama.data.ingest import (
    IngestConfig,
    RawChunk,
    Records,
    iter_raw_chunks,
    parse_chunk,
    preset_ingest,
    resolve_format,
)
from radllama.data.sections import split_sections
from radllama.data.split import SPLIT_NAMES, SplitConfig, assign_splits, leakage_report
from radllama.deid.engine import DeidAudit, DeidConfig, Deidentifier

MANIFEST = MANIFEST_FILE
DEID_AUDIT = DEID_AUDIT_FILE  # where radllama before issue 13 put the audit (with PHI)
SPOOL = ".prepare-spool.tmp"
STAGING = ".prepare-staging"  # inside DATA_DIR: same file system, so renames are atomic
LOCK = ".prepare.lock"


class FormatConfig(StrictModel):
    """How a kept pair becomes an instruction row (paper: 20 instructions, 10 prepend phrases)."""

    prepend_probability: float = Field(
        0.3, ge=0.0, le=1.0, description="Chance that the completion starts with a prepend phrase."
    )
    exam_field: Literal["code", "description"] = Field(
        "code",
        description="What the prompt shows as EXAM (the other one is the fallback when empty).",
    )


_DEFAULT_STYLE = prompts.PromptStyle()


class PrepareConfig(StrictModel):
    """Everything that decides the contents of a DATA_DIR (all of it goes into the manifest)."""

    input: Path = Field(
        description="Report export: .csv/.tsv/.json/.jsonl/.parquet file or a folder."
    )
    out: Path = Field(description="Output DATA_DIR.")
    preset: str | None = Field(
        "mgh",
        description="Input layout preset (mgh, iu-xray, openi, mimic-cxr); ingest.* overrides it.",
    )
    output_format: Literal["jsonl", "parquet"] = Field("jsonl", description="Split file format.")
    ingest: IngestConfig = Field(description="Input format and column mapping (from the preset).")
    deid: DeidConfig = Field(default_factory=DeidConfig, description="De-identification settings.")
    filters: FilterConfig = Field(default_factory=FilterConfig, description="Row filters.")
    prompt: FormatConfig = Field(
        default_factory=FormatConfig, description="Instruction formatting."
    )
    split: SplitConfig = Field(default_factory=SplitConfig, description="Test/eval/train split.")
    seed: int = Field(0, description="Seed for instruction/prepend draws and the split.")
    workers: int = Field(
        2, ge=0, description="Worker processes (0 or 1: in-process). Does not change the output."
    )
    max_listed_malformed: int = Field(
        100,
        ge=0,
        description="Malformed rows listed by row number in the manifest (all are counted).",
    )
    audit: Path | None = Field(
        None,
        description="De-identification audit JSON (redactions per type + a review sample). It "
        "shows original identifiers, so it never goes into DATA_DIR: default INPUT_NAME."
        "deid_audit.json beside the input, i.e. with the raw data.",
    )
    audit_original_context: bool = Field(
        True,
        description="Show the original text around each sampled redaction in the audit (PHI, "
        "for a reviewer allowed to see it); false keeps counts and redacted context only.",
    )

    def audit_path(self) -> Path:
        """Where the audit goes: `audit`, or INPUT_NAME.deid_audit.json beside the input."""
        return self.audit or self.input.parent / f"{self.input.name}.deid_audit.json"


def load_prepare_config(path: str | Path | None = None, **options: Any) -> PrepareConfig:
    """YAML (optional) + CLI options -> PrepareConfig, with the preset under `ingest`.

    The preset gives the ingest defaults; keys under `ingest:` replace them (a given
    `ingest.columns` replaces the preset's column map as a whole).
    """
    data = read_yaml(path) if path else {}
    data.update({key: value for key, value in options.items() if value is not None})
    source = str(path) if path else "options"
    for key, fix in (("input", "--input FILE"), ("out", "--out DIR")):
        if not data.get(key):
            raise ConfigError(f"{source}: no {key} given; pass {fix} or set '{key}:' in the config")
    preset = data.setdefault("preset", "mgh")
    ingest = dict(data.get("ingest") or {})
    data["ingest"] = {**(preset_ingest(preset) if preset else {}), **ingest}
    return validate_config(PrepareConfig, data, source)


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
        self.style = prompt_style(config)
        self._labels: dict[tuple[str, str], tuple[str, str]] = {}
        self._descriptions: dict[str, Any] = {}

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

    def _redact(self, text: str, report_id: str, audit: Any) -> str:
        cleaned = self.deidentifier.redact(text)
        audit.add(report_id, cleaned)
        # Placeholders replace spans in collapsed text; collapse again only if needed.
        return collapse_whitespace(cleaned.text) if "  " in cleaned.text else cleaned.text

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
        for i, row in enumerate(records.rows):
            if len(findings[i]) > max_chars or len(impressions[i]) > max_chars:
                dropped["too_long"] += 1  # before any per-character work on it
                continue
            finding = collapse_whitespace(findings[i])
            impression = collapse_whitespace(impressions[i])
            if not (finding and impression):  # nothing to redact: decide before the work
                dropped["empty_row" if blank[i] else drop_reason(finding, impression, 0)] += 1
                continue
            report_id = report_ids[i] or f"row{row}"
            finding = self._redact(finding, report_id, audit)
            impression = self._redact(impression, report_id, audit)
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


# ---- main side: ordered parallel map, pass 1, pass 2 -----------------------------------------

_WORKER: ChunkProcessor | None = None


def _init_worker(processor: ChunkProcessor, parent_pid: int) -> None:
    global _WORKER
    _WORKER = processor
    _die_with_parent(parent_pid)


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive a killed prepare (kill -9 runs no cleanup, and an orphan
    keeps working, then blocks on its result pipe). Linux: the kernel SIGKILLs it when the
    parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread polls the parent pid (1 s)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent_pid:  # the parent died before the signal was armed
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="radllama-parent-watch", daemon=True).start()


def _run_in_worker(chunk: RawChunk) -> ChunkResult:
    assert _WORKER is not None
    return _WORKER(chunk)


def ordered_map(
    processor: ChunkProcessor, chunks: Iterable[RawChunk], workers: int
) -> Iterator[tuple[RawChunk, ChunkResult]]:
    """Results in input order with at most 2*workers+1 chunks in flight (bounded memory;
    `Pool.imap` would read its whole input ahead). A worker that dies raises
    BrokenProcessPool instead of hanging. Workers are forked: the processor (regexes, word
    sets) is inherited, not pickled, and `__main__` need not be importable."""
    if workers <= 1:
        for chunk in chunks:
            yield chunk, processor(chunk)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(processor, os.getpid())
    ) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_run_in_worker, chunk)))
            if len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _empty_hashes() -> np.ndarray:
    return np.zeros(0, dtype=np.uint64)


@dataclass
class PassOne:
    """Everything pass 1 learns; the arrays have one entry per row that passed the filters."""

    input_rows: int = 0
    dropped: Counter = field(default_factory=Counter)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # the first few, listed
    malformed_count: int = 0
    sections: Counter = field(default_factory=Counter)
    blank_lines: int = 0
    audit: Any = None
    input_sha256: str = ""
    labels: list[str] = field(default_factory=list)  # label code -> "modality\tbody_region"
    pair_hashes: np.ndarray = field(default_factory=_empty_hashes)
    group_keys: np.ndarray = field(default_factory=_empty_hashes)
    findings_hashes: np.ndarray = field(default_factory=_empty_hashes)
    label_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


def run_pass_one(
    config: PrepareConfig, spool: Path | None, progress: Callable[[int, int], None] | None = None
) -> PassOne:
    """Stream the input through the workers; kept rows go to `spool` (None: count only)."""
    fmt = resolve_format(config.input, config.ingest)
    streamed = fmt in ("csv", "tsv", "jsonl")
    hasher = hashlib.sha256()
    processor = ChunkProcessor(config, emit_rows=spool is not None)
    arrays: dict[str, list[np.ndarray]] = {"pair": [], "group": [], "findings": [], "label": []}
    labels: dict[str, int] = {}
    totals = PassOne(audit=DeidAudit.for_config(config.deid))
    handle = open(spool, "w", encoding="utf-8") if spool else None
    try:
        chunks = iter_raw_chunks(config.input, config.ingest, hasher.update if streamed else None)
        for chunk, result in ordered_map(processor, chunks, config.workers):
            if handle is not None and result.lines:
                handle.write("\n".join(result.lines) + "\n")
            findings_hashes = np.asarray(result.findings_hashes, dtype=np.uint64)
            impression_hashes = np.asarray(result.impression_hashes, dtype=np.uint64)
            arrays["pair"].append(pair_hashes(findings_hashes, impression_hashes))
            arrays["group"].append(np.asarray(result.group_keys, dtype=np.uint64))
            arrays["findings"].append(findings_hashes)
            codes = [labels.setdefault(label, len(labels)) for label in result.labels]
            arrays["label"].append(np.asarray(codes, dtype=np.int32))
            _accumulate(totals, result, config.max_listed_malformed)
            if progress is not None:
                progress(chunk.nbytes, result.input_rows)
    finally:
        if handle is not None:
            handle.close()
    if arrays["pair"]:
        totals.pair_hashes, totals.group_keys = map(
            np.concatenate, (arrays["pair"], arrays["group"])
        )
        totals.findings_hashes = np.concatenate(arrays["findings"])
        totals.label_codes = np.concatenate(arrays["label"])
    totals.labels = list(labels)
    totals.input_sha256 = hasher.hexdigest() if streamed else path_sha256(config.input)
    return totals


def _accumulate(totals: PassOne, result: ChunkResult, max_listed: int) -> None:
    totals.input_rows += result.input_rows
    totals.dropped.update(result.dropped)
    totals.malformed_count += len(result.malformed)
    room = max_listed - len(totals.malformed)
    totals.malformed.extend(result.malformed[: max(room, 0)])
    totals.sections.update(result.sections)
    totals.blank_lines += result.blank_lines
    totals.audit.merge(result.audit)


def split_codes(pass_one: PassOne, config: PrepareConfig) -> np.ndarray:
    """Per spooled row: -1 (duplicate, dropped) or the split code (0 train, 1 eval, 2 test)."""
    keep = (
        first_occurrence(pass_one.pair_hashes)
        if config.filters.drop_duplicates
        else np.ones(len(pass_one.pair_hashes), dtype=bool)
    )
    codes = np.full(len(keep), -1, dtype=np.int8)
    codes[keep] = assign_splits(pass_one.group_keys[keep], config.split, config.seed)
    return codes


def _output_name(split: str, output_format: str) -> str:
    return f"{split}.{output_format}"


def write_splits(spool: Path, codes: np.ndarray, out: Path, output_format: str) -> dict[str, dict]:
    """Route spooled rows into the split files in `out` (the staging dir), fsynced."""
    names = [_output_name(split, output_format) for split in SPLIT_NAMES]
    paths = [out / name for name in names]
    if output_format == "jsonl":
        _route_jsonl(spool, codes, paths)
    else:
        _route_parquet(spool, codes, paths)
    outputs = {}
    for code, (name, path) in enumerate(zip(names, paths, strict=True)):
        fsync_path(path)
        outputs[name] = {
            "rows": int(np.count_nonzero(codes == code)),
            "bytes": (out / name).stat().st_size,
            "sha256": file_sha256(out / name),
        }
    return outputs


def _route_jsonl(spool: Path, codes: np.ndarray, temps: list[Path]) -> None:
    suffixes = [f', "split": "{split}"}}\n' for split in SPLIT_NAMES]
    handles = [open(temp, "w", encoding="utf-8") for temp in temps]
    try:
        writers = [handle.write for handle in handles]
        with open(spool, encoding="utf-8") as source:
            for line, code in zip(source, codes.tolist(), strict=True):
                if code >= 0:
                    writers[code](line[:-1] + suffixes[code])
    finally:
        for handle in handles:
            handle.close()


def _parquet_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    message = pa.struct([("role", text), ("content", text)])
    names = ["report_id", "patient_id", "exam_code", "exam_description", "modality", "body_region"]
    return pa.schema(
        [(name, text) for name in names + ["findings", "impression"]]
        + [("instruction_index", pa.int32()), ("prepend_index", pa.int32())]
        + [("prompt", text), ("completion", text), ("messages", pa.list_(message)), ("split", text)]
    )


def _route_parquet(
    spool: Path, codes: np.ndarray, temps: list[Path], batch_rows: int = 4096
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    writers = [pq.ParquetWriter(temp, schema) for temp in temps]
    batches: list[list[dict]] = [[] for _ in temps]

    def flush(code: int) -> None:
        writers[code].write_table(pa.Table.from_pylist(batches[code], schema=schema))
        batches[code].clear()

    try:
        with open(spool, encoding="utf-8") as source:
            for line, code in zip(source, codes.tolist(), strict=True):
                if code >= 0:
                    batches[code].append(
                        {**json.loads(line[:-1] + "}"), "split": SPLIT_NAMES[code]}
                    )
                    if len(batches[code]) == batch_rows:
                        flush(code)
        for code in range(len(temps)):
            if batches[code]:
                flush(code)
    finally:
        for writer in writers:
            writer.close()


# ---- manifest ---------------------------------------------------------------------------------


_NOT_HASHED = {"out", "workers", "audit", "audit_original_context"}


def config_hash(config: PrepareConfig) -> str:
    """Hash of everything in the config that can change DATA_DIR (not where things go, the
    worker count or the audit, which lives outside DATA_DIR)."""
    return json_sha256(
        {
            "config": config.model_dump(mode="json", exclude=_NOT_HASHED),
            "version": __version__,
        }
    )


def _histograms(pass_one: PassOne, codes: np.ndarray) -> dict[str, dict[str, int]]:
    counts = np.bincount(pass_one.label_codes[codes >= 0], minlength=len(pass_one.labels))
    modality: Counter = Counter()
    region: Counter = Counter()
    both: dict[str, int] = {}
    for label, count in zip(pass_one.labels, counts.tolist(), strict=True):
        if count:
            mod, reg = label.split("\t")
            modality[mod] += count
            region[reg] += count
            both[f"{mod} / {reg}"] = count
    return {
        "modality": dict(modality.most_common()),
        "body_region": dict(region.most_common()),
        "modality_region": dict(sorted(both.items(), key=lambda item: -item[1])),
    }


def prompt_style(config: PrepareConfig) -> prompts.PromptStyle:
    """The prompt style of the rows this config writes (saved in the manifest, then the run)."""
    return prompts.PromptStyle(exam_field=f"exam_{config.prompt.exam_field}")


def deid_section(
    config: PrepareConfig, audit: Any, written: dict[str, Any] | None = None
) -> DeidSection:
    """The manifest's record of de-identification (every text goes through it); `written`:
    where the audit file went (outside DATA_DIR), its sha256 and whether it shows context."""
    report = audit.to_json() if audit is not None else None
    counts = None
    if isinstance(report, dict):
        counts = DeidCounts(
            total_redactions=report["total_redactions"],
            reports_with_phi=report["reports_with_phi"],
            reports_seen=report["reports_seen"],
            by_type={kind: n for kind, n in report["counts_by_type"].items() if n},
        )
    return DeidSection(
        enabled=True,
        mode=config.deid.mode,
        kept_types=[str(kind) for kind in config.deid.keep_types],
        counts=counts,
        audit=written,
    )


def build_manifest(
    config: PrepareConfig,
    pass_one: PassOne,
    codes: np.ndarray,
    outputs: dict[str, dict],
    audit: dict[str, Any] | None = None,
) -> DataManifest:
    """The manifest; checks that every input row is kept or dropped with a reason. `audit`
    says where the de-identification audit went (it lives outside DATA_DIR)."""
    dropped = Counter(pass_one.dropped)
    dropped["duplicate"] = int(np.count_nonzero(codes < 0))
    splits = {name: int(np.count_nonzero(codes == i)) for i, name in enumerate(SPLIT_NAMES)}
    kept = sum(splits.values())
    if pass_one.input_rows != kept + sum(dropped.values()):  # a bug, never bad input
        raise RuntimeError(
            f"row accounting broken: {pass_one.input_rows} != {kept} + {dict(dropped)}"
        )
    kept_mask = codes >= 0
    section_counts = dict(pass_one.sections)
    return DataManifest(
        radllama_version=__version__,
        created_at=utc_now(),
        config_hash=config_hash(config),
        fingerprint=json_sha256([config_hash(config), pass_one.input_sha256]),
        config=config.model_dump(mode="json"),
        input={
            "path": str(config.input),
            "format": resolve_format(config.input, config.ingest),
            "sha256": pass_one.input_sha256,
        },
        counts={
            "input_rows": pass_one.input_rows,
            "kept": kept,
            "dropped": {reason: dropped.get(reason, 0) for reason in DROP_REASONS},
            "splits": splits,
            "stages": {
                "ingest": {
                    "rows": pass_one.input_rows,
                    "malformed": pass_one.malformed_count,
                    "blank_lines_skipped": pass_one.blank_lines,
                },
                "sections": section_counts,
                "filters": {"kept": len(codes)},
                "dedup": {"kept": kept},
                "split": splits,
            },
        },
        malformed_rows={
            "count": pass_one.malformed_count,
            "listed": [{"row": row, "reason": reason} for row, reason in pass_one.malformed],
            "listed_cap": config.max_listed_malformed,
        },
        histogram=_histograms(pass_one, codes),
        leakage=leakage_report(
            pass_one.findings_hashes[kept_mask], pass_one.group_keys[kept_mask], codes[kept_mask]
        ),
        prompt_style=prompt_style(config),
        deid=deid_section(config, pass_one.audit, audit),
        prepend_probability=config.prompt.prepend_probability,
        seed=config.seed,
        package_versions=package_versions(("radllama", "numpy", "pandas", "pyarrow", "pydantic")),
        outputs=outputs,
        data_hash=json_sha256({name: meta["sha256"] for name, meta in outputs.items()}),
    )


# ---- orchestration -----------------------------------------------------------------------------


@dataclass
class PrepareResult:
    """`status` is 'written', 'up_to_date' (rerun: nothing done) or 'dry_run' (nothing written).

    `manifest` is the `DataManifest` as its JSON object (what manifest.json holds)."""

    manifest: dict[str, Any]
    status: str


def _current_manifest(config: PrepareConfig) -> DataManifest | None:
    """The existing manifest if it was made from this config and input and its files are
    intact (same sha256 as listed); None otherwise. Hashes the input last."""
    try:
        manifest = DataManifest.read_optional(config.out / MANIFEST)
    except ArtifactError:
        return None  # an old or broken manifest: rebuild
    if manifest is None or manifest.config_hash != config_hash(config):
        return None
    audit = manifest.deid.audit if manifest.deid is not None else None
    audit_path = config.audit_path()
    if (
        audit is None
        or audit.path != str(audit_path.resolve())
        or audit.original_context != config.audit_original_context
        or not audit_path.is_file()
        or file_sha256(audit_path) != audit.sha256
    ):
        return None
    try:
        manifest.verify_outputs(config.out, require=True)
    except DataError:
        return None
    if manifest.input.get("sha256") != path_sha256(config.input):
        return None
    return manifest


# Kernel interfaces, never a place for a dataset (writing there fails oddly or does harm).
SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_out_dir(config: PrepareConfig) -> None:
    """--out must not equal, contain or sit inside the input, nor be a kernel interface or a
    file: prepare replaces files in DATA_DIR, and the raw export must survive every run."""
    out, source = config.out.resolve(), config.input.resolve()
    if any(out == tree or out.is_relative_to(tree) for tree in SYSTEM_TREES):
        raise ConfigError(
            f"--out {config.out} is under {out.parts[0]}{out.parts[1]}, a kernel interface; "
            "pass a dataset directory on a disk (e.g. data/prepared)"
        )
    if out == source:
        raise ConfigError(
            f"--out {config.out} is the input itself; pass a new directory for the dataset "
            "(the raw export is never overwritten)"
        )
    if source.is_relative_to(out):
        raise ConfigError(
            f"--out {config.out} contains the input {config.input}; prepare writes and removes "
            "files there: pass a separate directory (e.g. a sibling of the raw export)"
        )
    if source.is_dir() and out.is_relative_to(source):
        raise ConfigError(
            f"--out {config.out} is inside the input folder {config.input}; pass a directory "
            "outside it"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {config.out} exists and is not a directory; pass a directory")
    if config.audit is not None and config.audit.resolve() == source:
        raise ConfigError(f"--audit {config.audit} is the input itself; pass another path")


def _check_audit_path(config: PrepareConfig) -> Path:
    """The audit path, refused inside DATA_DIR (it holds original identifiers)."""
    path = config.audit_path()
    if path.resolve().is_relative_to(config.out.resolve()):
        raise ConfigError(
            f"audit path {path} is inside the dataset directory {config.out}; the audit shows "
            "original identifiers: pass --audit PATH outside --out (e.g. beside the raw data)"
        )
    folder = next(p for p in path.resolve().parents if p.exists())  # checked before the work
    if not os.access(folder, os.W_OK):
        raise ConfigError(
            f"cannot write the de-identification audit to {path} (no write permission in "
            f"{folder}); pass --audit PATH (a writable place outside DATA_DIR, with the raw data)"
        )
    return path


def _write_audit(audit: Any, path: Path, original_context: bool) -> dict[str, Any]:
    """Write the audit JSON atomically; returns its manifest entry (path, hash, context)."""
    report = audit.to_json()
    if not original_context:
        for item in report["sample"]:
            item.pop("original_context", None)
        report["note"] = "original context left out (audit_original_context: false)."
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, report)
    except OSError as error:
        raise DataError(
            f"cannot write the de-identification audit to {path} ({error.strerror}); pass "
            "--audit PATH (a writable place outside DATA_DIR, with the raw data)"
        ) from None
    return {
        "path": str(path.resolve()),
        "sha256": file_sha256(path),
        "original_context": original_context,
    }


def prepare(
    config: PrepareConfig,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PrepareResult:
    """Run the whole preparation; see the module docstring. `progress(bytes, rows)` is called
    after each chunk."""
    resolve_format(config.input, config.ingest)  # bad paths fail before any work
    check_out_dir(config)
    if dry_run:
        pass_one = run_pass_one(config, None, progress)
        _require_rows(pass_one, config)
        manifest = build_manifest(config, pass_one, split_codes(pass_one, config), {})
        return PrepareResult(manifest.to_json(), "dry_run")
    audit_path = _check_audit_path(config)
    out = config.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot create --out {out} ({error.strerror}); pass a writable directory"
        ) from None
    with _exclusive(out):
        existing = _current_manifest(config)
        if existing is not None:
            return PrepareResult(existing.to_json(), "up_to_date")
        staging = out / STAGING
        shutil.rmtree(staging, ignore_errors=True)  # what a killed run left
        staging.mkdir()
        try:
            spool = staging / SPOOL
            pass_one = run_pass_one(config, spool, progress)
            _require_rows(pass_one, config)
            codes = split_codes(pass_one, config)
            outputs = write_splits(spool, codes, staging, config.output_format)
            spool.unlink()
            audit = _write_audit(pass_one.audit, audit_path, config.audit_original_context)
            manifest = build_manifest(config, pass_one, codes, outputs, audit)
            manifest.write(staging / MANIFEST)
            fsync_path(staging / MANIFEST)
            fsync_path(staging)
            _publish(staging, out, outputs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return PrepareResult(manifest.to_json(), "written")


def _publish(staging: Path, out: Path, outputs: dict[str, dict]) -> None:
    """Move a complete, fsynced output from `staging` into DATA_DIR, manifest last.

    The old manifest goes first: from then on until the new one lands (a few renames), a
    reader finds no manifest, or files that do not match it, and refuses with "rerun
    prepare"; before, it reads the old output whole, after, the new one. A kill -9 anywhere
    never leaves files of two runs that a reader accepts, and the rerun starts over.
    """
    old = _read_manifest(out / MANIFEST)
    (out / MANIFEST).unlink(missing_ok=True)
    fsync_path(out)
    for name in outputs:
        os.replace(staging / name, out / name)
    stale = set((old or {}).get("outputs", {})) - set(outputs)
    _remove_stale(out, outputs, stale)
    os.replace(staging / MANIFEST, out / MANIFEST)
    fsync_path(out)


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One `prepare` at a time per DATA_DIR (an advisory lock on DATA_DIR/.prepare.lock; the
    kernel drops it when the process dies, so a killed run never leaves it held)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (the manifest check still catches a mix)
        yield
        return
    with open(out / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DataError(
                f"another `radllama prepare` is writing {out}; wait for it or choose another --out"
            ) from None
        yield


def _require_rows(pass_one: PassOne, config: PrepareConfig) -> None:
    if pass_one.input_rows == 0:
        raise DataError(f"no report rows in {config.input}; the file has a header or brackets only")


def _remove_stale(out: Path, outputs: dict[str, dict], stale: Iterable[str] = ()) -> None:
    """Outputs of an earlier run that this one does not write (`stale`, from the old
    manifest; split files of the other format) would contradict the manifest; an audit
    written into DATA_DIR by an older version holds original identifiers."""
    names = {_output_name(split, fmt) for split in SPLIT_NAMES for fmt in ("jsonl", "parquet")}
    for name in sorted((names | set(stale) | {DEID_AUDIT}) - set(outputs)):
        if "/" not in name and not name.startswith("."):  # only files prepare itself writes
            (out / name).unlink(missing_ok=True)


def summary_table(result: PrepareResult) -> Any:
    """A rich table of the manifest: rows per drop reason, splits, leakage, outputs."""
    from rich.table import Table

    manifest = result.manifest
    counts = manifest["counts"]
    table = Table(title=f"radllama prepare: {result.status.replace('_', ' ')}", show_lines=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("input rows", f"{counts['input_rows']:,}")
    for reason, count in counts["dropped"].items():
        if count:
            table.add_row(f"  dropped: {reason}", f"{count:,}")
    table.add_row("kept", f"{counts['kept']:,}", end_section=True)
    for split, count in counts["splits"].items():
        table.add_row(f"  {split}", f"{count:,}")
    leakage = manifest["leakage"]
    table.add_row("test findings also in train", f"{leakage['test_findings_in_train']:,}")
    table.add_row(
        "patients across splits", f"{leakage['patients_across_splits']:,}", end_section=True
    )
    for name, count in list(manifest["histogram"]["modality_region"].items())[:8]:
        table.add_row(f"  {name}", f"{count:,}")
    if manifest["malformed_rows"]["listed"]:
        rows = ", ".join(str(item["row"]) for item in manifest["malformed_rows"]["listed"][:10])
        table.add_row(f"malformed rows (first: {rows})", f"{manifest['malformed_rows']['count']:,}")
    if manifest.get("outputs"):
        table.caption = f"{manifest['config']['out']}  data_hash {manifest['data_hash'][:12]}"
    return table


@contextmanager
def progress_bar(config: PrepareConfig) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (bytes of the input; rows in the description)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    total = config.input.stat().st_size if config.input.is_file() else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    # Only on a terminal: in logs a bar is noise, and an error must stay one line.
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task("prepare", total=total)
        rows = 0

        def update(nbytes: int, nrows: int) -> None:
            nonlocal rows
            rows += nrows
            bar.update(task, advance=nbytes, description=f"prepare: {rows:,} rows")

        yield update
