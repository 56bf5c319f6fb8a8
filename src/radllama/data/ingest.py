"""Streaming ingest: any report export -> chunks of rows in canonical columns.

Ingest is split in two so that parsing runs in the worker processes:

* `iter_raw_chunks` (main process) reads the input in bounded pieces: CSV as raw byte
  blocks cut where Python's csv module ends a record (the main process finds the record
  ends, the workers parse the fields), JSONL as blocks cut at newlines, Parquet as Arrow
  record batches, a JSON array as lists of objects, a MIMIC-CXR folder as lists of file paths.
  It checks the column mapping against the header / first record / schema up front.
* `parse_chunk` (worker) turns one raw chunk into `Records`: per canonical column a list of
  str, the input row number of every row, and every malformed row with its row number and
  reason (a broken CSV line, a wrong field count, bad encoding, invalid JSON) - counted,
  never a crash, never silently lost.

Peak memory is one chunk per process whatever the input size. Row numbers are what a
person would look up: the physical line for CSV/JSONL (the CSV header is line 1), the
1-based position for JSON arrays, Parquet and report folders.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, DataError

# In the order missing columns are reported: the report text first.
CANONICAL = (
    "text",
    "findings",
    "impression",
    "exam_code",
    "exam_description",
    "patient_id",
    "report_id",
    "report_date",
)
Format = Literal["auto", "csv", "tsv", "json", "jsonl", "parquet", "mimic-cxr"]
_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Lone surrogates are what `errors="surrogateescape"` turns undecodable bytes into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
csv.field_size_limit(1 << 26)  # 64 MiB: a legitimate report field is far smaller


class ColumnMap(StrictModel):
    """Which input column holds what. Give `text` (a full report with section headers) or
    `findings` + `impression` (already separated); the rest is optional."""

    text: str | None = Field(
        None, description="Column with the full report text (sections are split out)."
    )
    findings: str | None = Field(None, description="Column with the FINDINGS (instead of `text`).")
    impression: str | None = Field(
        None, description="Column with the IMPRESSION (instead of `text`)."
    )
    exam_code: str | None = Field(
        None, description="Column with the exam code (e.g. 'CT CHEST W/O')."
    )
    exam_description: str | None = Field(None, description="Column with the exam description.")
    patient_id: str | None = Field(
        None, description="Column with the patient id (splits keep a patient's reports together)."
    )
    report_id: str | None = Field(None, description="Column with the report id.")
    report_date: str | None = Field(
        None,
        description="Column with the report date (checked to exist; not written: dates are PHI).",
    )

    @model_validator(mode="after")
    def _text_or_pair(self) -> ColumnMap:
        separate = self.findings is not None or self.impression is not None
        if self.text is not None and separate:
            raise ValueError(
                "set either columns.text or columns.findings + columns.impression, not both"
            )
        if self.text is None and (self.findings is None or self.impression is None):
            raise ValueError(
                "set columns.text (full report) or both columns.findings and columns.impression"
            )
        return self

    def mapped(self) -> dict[str, str]:
        """canonical name -> input column, for the columns that are set."""
        return {name: col for name in CANONICAL if (col := getattr(self, name)) is not None}


class IngestConfig(StrictModel):
    """Where rows come from and how they are read."""

    format: Format = Field(
        "auto", description="Input format; 'auto' uses the file suffix (a folder: mimic-cxr)."
    )
    columns: ColumnMap = Field(description="Input column for each field.")
    encoding: str = Field("utf-8", description="Text encoding of the input file.")
    chunk_bytes: int = Field(
        1 << 20,
        ge=1 << 10,
        description="Bytes per CSV/JSONL chunk (1 MiB ~ 700 reports: small enough to keep "
        "both workers busy to the end, large enough that per-chunk overhead is noise).",
    )
    chunk_rows: int = Field(
        4000, ge=1, description="Rows per chunk for Parquet, JSON arrays and report folders."
    )
    max_record_bytes: int = Field(
        1 << 20,
        ge=1 << 10,
        description="A CSV record that is still open after this many bytes is a broken quote: "
        "its first line is cut off and counted as malformed; a longer JSONL line, JSON array "
        "element or .txt report is counted as malformed (line_too_long / file_too_large) or "
        "refused (JSON array).",
    )
    max_columns: int = Field(
        10_000,
        ge=1,
        description="A CSV header with more columns than this is refused (a real report export "
        "has tens; a huge header is a broken or hostile file, not data to drop row by row).",
    )
    modality: str | None = Field(
        None,
        description="Modality for every row (e.g. 'XR' for a chest X-ray archive); else derived.",
    )
    body_region: str | None = Field(
        None, description="Body region for every row (e.g. 'chest'); else derived from the exam."
    )


@dataclass
class RawChunk:
    """A bounded, unparsed piece of the input (what travels to a worker)."""

    kind: str  # csv | jsonl | records | arrow | files
    payload: Any  # bytes | list[dict] | pyarrow.RecordBatch | list[str]
    first_row: int  # row number of the first row in the chunk
    nbytes: int = 0  # input bytes consumed (progress)
    header: list[str] | None = None  # CSV column names
    delimiter: str = ","  # CSV field separator


@dataclass
class Records:
    """Parsed rows of one chunk in canonical columns (every value a str, '' when absent)."""

    rows: list[int] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    blank_lines: int = 0

    def __len__(self) -> int:
        return len(self.rows)


# ---- main process: bounded raw chunks ------------------------------------------------------


def resolve_format(path: Path, config: IngestConfig) -> str:
    """The concrete input format; checks that the path exists, is a regular file or a folder
    (a device or FIFO is never opened: stat only) and is readable."""
    if not path.exists():
        raise DataError(f"input not found: {path}; pass an existing file or folder with --input")
    mode = path.stat().st_mode  # follows a symlink: its target must be a regular file
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(
            f"{path} is not a regular file (a device, FIFO or socket); pass a report export file "
            "or folder with --input"
        )
    if path.is_dir():
        if config.format not in ("auto", "mimic-cxr"):
            raise DataError(f"{path} is a folder; point --input at a {config.format} file")
        return "mimic-cxr"
    if config.format == "mimic-cxr":
        raise DataError(f"{path} is a file; the mimic-cxr preset reads a folder of .txt reports")
    if not os.access(path, os.R_OK):
        raise DataError(f"cannot read {path} (permission denied); fix its permissions")
    if path.stat().st_size == 0:
        raise DataError(f"input file is empty: {path}; export at least one report")
    if config.format != "auto":
        return config.format
    fmt = _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot tell the format of {path.name}; set ingest.format to one of "
            f"[csv, tsv, json, jsonl, parquet, mimic-cxr]"
        )
    return fmt


def check_columns(found: list[str], columns: ColumnMap, path: Path) -> None:
    """Every mapped column must exist; the error lists the columns found and the key to set."""
    present = set(found)
    for name, col in columns.mapped().items():
        if col not in present:
            raise DataError(
                f"column '{col}' not found in {path.name}; columns are [{', '.join(found)}]; "
                f"set ingest.columns.{name} in the config (or pick another --preset)"
            )


def iter_raw_chunks(
    path: Path, config: IngestConfig, on_bytes: Callable[[bytes], None] | None = None
) -> Iterator[RawChunk]:
    """Bounded raw chunks of the input, in order. `on_bytes` sees every byte read (hashing)."""
    fmt = resolve_format(path, config)
    if fmt in ("csv", "tsv"):
        yield from _csv_chunks(path, config, fmt, on_bytes)
    elif fmt == "jsonl":
        yield from _jsonl_chunks(path, config, on_bytes)
    elif fmt == "json":
        yield from _json_array_chunks(path, config)
    elif fmt == "parquet":
        yield from _parquet_chunks(path, config)
    else:
        yield from _folder_chunks(path, config)


def _read_blocks(
    path: Path, size: int, on_bytes: Callable[[bytes], None] | None
) -> Iterator[bytes]:
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise DataError(
            f"cannot read {path}: {error.strerror}; fix the path or its permissions"
        ) from None
    with handle:
        while block := handle.read(size):
            if on_bytes is not None:
                on_bytes(block)
            yield block


def _csv_record_ends(data: bytes, delimiter: str) -> list[int]:
    """Offsets just past each CSV record in `data`, as Python's csv module reads it with
    prepare's dialect (strict quoting: a record it rejects ends where the reader resumes,
    at the end of the line it stopped on). A blank line is a record here too.

    Well-formed records are matched by one compiled byte regex per record (quoted fields
    with doubled quotes, unquoted fields in which a quote is a literal character, ``\r``,
    ``\n`` or ``\r\n`` ends), in C; only where it does not match (a malformed record: a
    character after a closing quote, a quote that never closes) does the csv module read
    that one record (`_csv_reader_record_end`), so the boundaries are the csv module's.
    Quotes, delimiters and newlines are ASCII, and UTF-8 never uses ASCII bytes inside a
    multi-byte character, so these byte offsets are the record structure the worker finds
    in the same bytes decoded with the real encoding. (tests/test_ingest.py checks it against
    the csv module on random text.)
    """
    record = _CSV_RECORD_RE[delimiter]
    ends: list[int] = []
    pos, size = 0, len(data)
    while pos < size:
        match = record.match(data, pos)
        if match is not None and match.end() > pos:
            pos = match.end()
        else:
            pos = _csv_reader_record_end(data, pos, delimiter)
        ends.append(pos)
    return ends


def _csv_record_pattern(delimiter: str) -> re.Pattern[bytes]:
    d = re.escape(delimiter.encode())
    quoted = rb'"[^"]*(?:""[^"]*)*"'  # doubled quotes inside, newlines too
    unquoted = rb'[^"\r\n' + d + rb"][^\r\n" + d + rb"]*"  # a quote after its start is literal
    field = rb"(?:" + quoted + rb"|" + unquoted + rb")?"
    # a record: fields, then a line end (or the end of the data); a closing quote followed by
    # anything else is malformed (strict) and left to the csv module
    return re.compile(field + rb"(?:" + d + field + rb")*(?:\r\n|\n|\r|\Z)")


_CSV_RECORD_RE = {delimiter: _csv_record_pattern(delimiter) for delimiter in (",", "\t")}


def _csv_reader_record_end(data: bytes, pos: int, delimiter: str) -> int:
    """End of the one record that starts at `pos`, read by Python's csv module (strict): a
    record it rejects ends at the end of the line the reader stopped on."""
    lines = io.StringIO(data[pos:].decode("latin-1"), newline="")
    consumed: list[int] = []

    def counted() -> Iterator[str]:
        for line in lines:
            consumed.append(len(line))
            yield line

    reader = csv.reader(counted(), delimiter=delimiter, strict=True)
    try:
        next(reader)
    except (StopIteration, csv.Error):
        pass
    return pos + sum(consumed[: reader.line_num]) if reader.line_num else len(data)


def _record_end(data: bytes, delimiter: str, max_record_bytes: int) -> int:
    """Index just past the last record of `data` that is surely complete, or 0 if none.

    The final record read may be cut by the end of the block (a quoted field that goes on
    in the next block), so it is never taken; it is carried over to the next block.
    """
    ends = _csv_record_ends(data, delimiter)
    if len(ends) >= 2:
        return ends[-2]
    if len(data) > max_record_bytes:
        # No record ends in a whole window: a quote that never closes (no real report is
        # this long). Cut off its first line so the parser counts it as malformed and the
        # rest of the file is read normally (Python's csv would read to the end of file).
        return len(io.StringIO(data.decode("latin-1"), newline="").readline())
    return 0


def _csv_chunks(
    path: Path, config: IngestConfig, fmt: str, on_bytes: Callable[[bytes], None] | None
) -> Iterator[RawChunk]:
    delimiter = "\t" if fmt == "tsv" else ","
    carry = b""
    header: list[str] | None = None
    line = 1
    for block in _read_blocks(path, config.chunk_bytes, on_bytes):
        data = carry + block
        if header is None:
            if not _record_end(data, delimiter, config.max_record_bytes):
                carry = data
                continue
            header, data, line = _csv_header(data, delimiter, config, path)
        end = _record_end(data, delimiter, config.max_record_bytes) if data else 0
        if not end:
            carry = data
            continue
        yield RawChunk("csv", data[:end], line, end, header, delimiter)
        line += data.count(b"\n", 0, end)
        carry = data[end:]
    if header is None and carry:
        header, carry, line = _csv_header(carry, delimiter, config, path)
    if carry.strip():
        yield RawChunk("csv", carry, line, len(carry), header, delimiter)


def _csv_header(
    data: bytes, delimiter: str, config: IngestConfig, path: Path
) -> tuple[list[str], bytes, int]:
    """Parse the header record; returns (columns, the bytes after it, its next line number)."""
    ends = _csv_record_ends(data, delimiter)
    end = ends[0] if ends else len(data)
    try:
        text = data[:end].decode(config.encoding).lstrip("\ufeff")
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise DataError(
            f"{path}: cannot read the CSV header line; check ingest.encoding and the file"
        ) from None
    if len(header) > config.max_columns:
        raise DataError(
            f"{path}: the CSV header has {len(header)} columns, more than ingest.max_columns "
            f"({config.max_columns}); check the delimiter and the file, or raise ingest.max_columns"
        )
    header = [name.strip() for name in header]
    check_columns(header, config.columns, path)
    return header, data[end:], 1 + data.count(b"\n", 0, end)


# A JSONL line longer than ingest.max_record_bytes is replaced by this line (never valid JSON)
# and counted as malformed `line_too_long`; its bytes are read (hashed) but never held.
LINE_TOO_LONG = b"\x00radllama:line_too_long"


def _jsonl_chunks(
    path: Path, config: IngestConfig, on_bytes: Callable[[bytes], None] | None
) -> Iterator[RawChunk]:
    """Chunks of whole lines. The unfinished last line is kept as a list of pieces (joined
    once: linear in its length) and given up once it passes `max_record_bytes`."""
    pieces: list[bytes] = []  # the current line so far (no newline yet)
    pending = 0  # len of those pieces
    skipping = False  # inside a line already counted as too long
    line, checked = 1, False
    limit = config.max_record_bytes
    for block in _read_blocks(path, config.chunk_bytes, on_bytes):
        start = 0
        if skipping:
            newline = block.find(b"\n")
            if newline < 0:
                continue
            start, skipping = newline + 1, False
        first = block.find(b"\n", start)
        if pending + ((first if first >= 0 else len(block)) - start) > limit:
            yield RawChunk("jsonl", LINE_TOO_LONG + b"\n", line, pending + len(block) - start)
            line += 1
            pieces, pending = [], 0
            if first < 0:
                skipping = True
                continue
            start = first + 1
        end = block.rfind(b"\n", start) + 1
        if not end:
            pieces.append(block[start:])
            pending += len(block) - start
            continue
        data = b"".join([*pieces, block[start:end]])
        if not checked:
            checked = _check_first_object(data, config, path)
        yield RawChunk("jsonl", data, line, len(data))
        line += data.count(b"\n")
        pieces, pending = [block[end:]], len(block) - end
    carry = b"".join(pieces)
    if carry.strip():
        if not checked:
            _check_first_object(carry, config, path)
        yield RawChunk("jsonl", carry, line, len(carry))


def _check_first_object(data: bytes, config: IngestConfig, path: Path) -> bool:
    """Check the column mapping against the first parseable JSON object; True once checked."""
    for raw in data.split(b"\n"):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            check_columns(list(obj), config.columns, path)
            return True
    return False


def _json_array_chunks(path: Path, config: IngestConfig) -> Iterator[RawChunk]:
    batch: list[Any] = []
    first = 1
    for position, obj in enumerate(_iter_json_array(path, config), start=1):
        if position == 1 and isinstance(obj, dict):
            check_columns(list(obj), config.columns, path)
        batch.append(obj)
        if len(batch) == config.chunk_rows:
            yield RawChunk("records", batch, first)
            first, batch = position + 1, []
    if batch:
        yield RawChunk("records", batch, first)


def _iter_json_array(path: Path, config: IngestConfig) -> Iterator[Any]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    try:
        handle = open(path, encoding=config.encoding)
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        buffer, pos, eof, started = "", 0, False, False
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buffer) and not started:
                if buffer[pos] != "[":
                    raise DataError(
                        f"{path}: a .json input must be one array of objects; use .jsonl for one object per line"
                    )
                started, pos = True, pos + 1
                continue
            if pos < len(buffer) and buffer[pos] == "]":
                return
            try:
                obj, end = decoder.raw_decode(buffer, pos)
                if end < len(buffer) or eof:
                    yield obj
                    pos = end
                    continue
            except json.JSONDecodeError as error:
                if eof:
                    raise DataError(
                        f"{path}: invalid JSON at character {error.pos}: {error.msg}; fix the file or export JSONL"
                    ) from None
            except UnicodeDecodeError:
                raise DataError(
                    f"{path}: not valid {config.encoding}; set ingest.encoding"
                ) from None
            if eof:
                raise DataError(f"{path}: the JSON array is not closed; the file looks truncated")
            if len(buffer) - pos > config.max_record_bytes:
                raise DataError(
                    f"{path}: an element of the JSON array is longer than ingest.max_record_bytes "
                    f"({config.max_record_bytes} bytes); export JSONL or raise the limit"
                )
            try:
                more = handle.read(config.chunk_bytes)
            except UnicodeDecodeError:
                raise DataError(
                    f"{path}: not valid {config.encoding}; set ingest.encoding"
                ) from None
            buffer, pos, eof = buffer[pos:] + more, 0, not more


def _parquet_chunks(path: Path, config: IngestConfig) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise DataError(
            f"{path}: not a readable Parquet file ({error.__class__.__name__})"
        ) from None
    check_columns(parquet.schema_arrow.names, config.columns, path)
    wanted = sorted(set(config.columns.mapped().values()))
    first = 1
    for batch in parquet.iter_batches(batch_size=config.chunk_rows, columns=wanted):
        yield RawChunk("arrow", batch, first, batch.nbytes)
        first += batch.num_rows


def _folder_chunks(path: Path, config: IngestConfig) -> Iterator[RawChunk]:
    """Batches of `.txt` paths (os.walk does not follow folder symlinks). Each file is judged
    by `_parse_files`; a symlink whose target is outside `path` becomes an entry
    "\0outside" so it is counted as `symlink_outside_input`, never read."""
    batch: list[str] = []
    first = 1
    count = 0
    root = path.resolve()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()  # deterministic order, streamed folder by folder
        for name in sorted(filenames):
            if not name.endswith(".txt"):
                continue
            file = os.path.join(dirpath, name)
            if os.path.islink(file) and not Path(file).resolve().is_relative_to(root):
                file = _OUTSIDE + file
            batch.append(file)
            count += 1
            if len(batch) == config.chunk_rows:
                yield RawChunk("files", batch, first)
                first, batch = count + 1, []
    if batch:
        yield RawChunk("files", batch, first)
    if not count:
        raise DataError(
            f"no input files: {path} holds no .txt reports (searched all subfolders); point "
            "--input at the folder of report files (MIMIC-CXR: files/) or at an export file"
        )


# ---- worker process: parse one chunk ---------------------------------------------------------


def parse_chunk(chunk: RawChunk, config: IngestConfig) -> Records:
    """Parse one raw chunk into canonical columns; malformed rows are listed, not raised."""
    parser = {
        "csv": _parse_csv,
        "jsonl": _parse_jsonl,
        "records": _parse_objects,
        "arrow": _parse_arrow,
        "files": _parse_files,
    }[chunk.kind]
    return parser(chunk, config)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return ""
    return str(value)


def _parse_csv(chunk: RawChunk, config: IngestConfig) -> Records:
    header = chunk.header or []
    text = chunk.payload.decode(config.encoding, errors="surrogateescape")
    undecodable = _UNDECODABLE.search(text) is not None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=chunk.delimiter, strict=True)
    out = Records()
    good: list[list[str]] = []
    lines_before = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            out.malformed.append((chunk.first_row + lines_before, "parse_error"))
            lines_before = reader.line_num
            continue
        number = chunk.first_row + lines_before
        lines_before = reader.line_num
        if not row:
            out.blank_lines += 1
        elif len(row) != len(header):
            out.malformed.append((number, "wrong_field_count"))
        elif undecodable and any(_UNDECODABLE.search(value) for value in row):
            out.malformed.append((number, "bad_encoding"))
        else:
            good.append(row)
            out.rows.append(number)
    fields = list(zip(*good, strict=True)) if good else [()] * len(header)
    for name, col in config.columns.mapped().items():
        out.columns[name] = list(fields[header.index(col)])
    return out


def _parse_jsonl(chunk: RawChunk, config: IngestConfig) -> Records:
    out = Records()
    objects: list[dict] = []
    for offset, raw in enumerate(chunk.payload.split(b"\n")):
        if not raw.strip():
            out.blank_lines += 1
            continue
        number = chunk.first_row + offset
        if raw == LINE_TOO_LONG:
            out.malformed.append((number, "line_too_long"))
            continue
        try:
            obj = json.loads(raw.decode(config.encoding))
        except UnicodeDecodeError:
            out.malformed.append((number, "bad_encoding"))
            continue
        except ValueError:
            out.malformed.append((number, "parse_error"))
            continue
        if not isinstance(obj, dict):
            out.malformed.append((number, "not_an_object"))
            continue
        objects.append(obj)
        out.rows.append(number)
    out.blank_lines -= chunk.payload.endswith(b"\n")  # the final newline ends a line, no blank
    _fill_from_objects(out, objects, config)
    return out


def _fill_from_objects(out: Records, objects: list[dict], config: IngestConfig) -> None:
    mapped = config.columns.mapped()
    _fill_checked(out, {name: [obj.get(col) for obj in objects] for name, col in mapped.items()})


# Columns that hold report text: a number there is no report ("3.14" is not an impression).
_TEXT_COLUMNS = frozenset({"text", "findings", "impression"})


def _wrong_type(value: Any, text_column: bool) -> bool:
    if value is None or isinstance(value, str):
        return False
    if isinstance(value, float) and value != value:  # NaN from pandas-written files: empty
        return False
    # Ids and exam codes may be numbers (Open-i's idx is an int); never a list/object/bool.
    return text_column or isinstance(value, list | dict | tuple | bool)


def _fill_checked(out: Records, values: dict[str, list[Any]]) -> None:
    """`out.columns` as str from raw JSON/Arrow values. A row with a value of the wrong type
    is malformed (`wrong_type`): counted and left out, never str()'d into text."""
    bad: set[int] = set()
    for name, column in values.items():
        text_column = name in _TEXT_COLUMNS
        if not all(type(value) is str for value in column):
            bad.update(i for i, value in enumerate(column) if _wrong_type(value, text_column))
    if bad:
        out.malformed.extend((out.rows[i], "wrong_type") for i in sorted(bad))
        out.malformed.sort()
        keep = [i for i in range(len(out.rows)) if i not in bad]
        out.rows = [out.rows[i] for i in keep]
        values = {name: [column[i] for i in keep] for name, column in values.items()}
    for name, column in values.items():
        out.columns[name] = [_as_text(value) for value in column]


def _parse_objects(chunk: RawChunk, config: IngestConfig) -> Records:
    out = Records()
    objects = []
    for offset, obj in enumerate(chunk.payload):
        if isinstance(obj, dict):
            objects.append(obj)
            out.rows.append(chunk.first_row + offset)
        else:
            out.malformed.append((chunk.first_row + offset, "not_an_object"))
    _fill_from_objects(out, objects, config)
    return out


def _parse_arrow(chunk: RawChunk, config: IngestConfig) -> Records:
    batch = chunk.payload
    out = Records(rows=list(range(chunk.first_row, chunk.first_row + batch.num_rows)))
    mapped = config.columns.mapped()
    _fill_checked(out, {name: batch.column(col).to_pylist() for name, col in mapped.items()})
    return out


_PATIENT_DIR = re.compile(r"p\d+")
_OUTSIDE = "\0outside:"  # a path prefix no real path has (NUL is not allowed in paths)


def read_regular_file(name: str, limit: int) -> bytes | str:
    """The bytes of a regular file of at most `limit` bytes, else the reason it is not read.

    stat first (a device or FIFO is never opened), then open with O_NONBLOCK (a file swapped
    for a FIFO in between does not block) and check the opened file again with fstat."""
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            return "not_a_regular_file"
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return "unreadable_file"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not_a_regular_file"
        if info.st_size > limit:
            return "file_too_large"
        data = handle.read(limit + 1)
    return "file_too_large" if len(data) > limit else data


def _parse_files(chunk: RawChunk, config: IngestConfig) -> Records:
    """MIMIC-CXR layout: files/p10/p10000032/s50414267.txt -> patient p10000032, report s50414267."""
    out = Records()
    values: dict[str, list[str]] = {"text": [], "report_id": [], "patient_id": []}
    for offset, name in enumerate(chunk.payload):
        number = chunk.first_row + offset
        if name.startswith(_OUTSIDE):
            out.malformed.append((number, "symlink_outside_input"))
            continue
        raw = read_regular_file(name, config.max_record_bytes)
        if isinstance(raw, str):
            out.malformed.append((number, raw))
            continue
        try:
            text = raw.decode(config.encoding)
        except UnicodeDecodeError:
            out.malformed.append((number, "bad_encoding"))
            continue
        path = Path(name)
        values["text"].append(text)
        values["report_id"].append(path.stem)
        parent = path.parent.name
        values["patient_id"].append(parent if _PATIENT_DIR.fullmatch(parent) else "")
        out.rows.append(number)
    for name, col in config.columns.mapped().items():
        out.columns[name] = values.get(col, [""] * len(out.rows))
    return out


def read_records(path: str | Path, config: IngestConfig) -> Iterator[Records]:
    """Parse the whole input in this process, chunk by chunk (tests, notebooks)."""
    for chunk in iter_raw_chunks(Path(path), config):
        yield parse_chunk(chunk, config)
