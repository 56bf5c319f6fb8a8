"""`radllama prepare`, main side: the ordered parallel map over chunks (pass 1), the split
decision on the collected hashes, and the routing of the spool into split files (pass 2).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radllama.core.provenance import (
    file_sha256,
    fsync_path,
    path_sha256,
)
from radllama.data.chunks import ChunkProcessor, ChunkResult
from radllama.data.filters import (
    first_occurrence,
    pair_hashes,
)
from radllama.data.ingest import (
    RawChunk,
    iter_raw_chunks,
    resolve_format,
)
from radllama.data.prepare_config import (
    PrepareConfig,
)
from radllama.data.split import SPLIT_NAMES, assign_splits
from radllama.deid.engine import DeidAudit

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
