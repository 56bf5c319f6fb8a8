"""`radllama prepare`: raw report export -> de-identified instruction dataset (DATA_DIR).

Two passes, memory bounded by the chunk size plus ~30 bytes of hashes per row:

1. The main process cuts the input into raw chunks (`ingest.iter_raw_chunks`); worker
   processes parse each chunk, split sections, de-identify, filter and format the rows
   (`ChunkProcessor`) and return them as JSON lines, with three 64-bit hashes per kept row
   (pair, patient group, findings). Results come back in input order and go to a spool file.
2. With every hash in hand, duplicates (first occurrence kept) and the patient splits are
   decided on numpy arrays, and the spool is routed into train/eval/test files.

Modules: `prepare_config` (settings), `chunks` (worker side), `passes` (the parallel map,
pass 1, the split and pass 2), `manifest` (the DATA_DIR manifest); this module runs them
(check the output folder, lock it, stage, publish atomically) and re-exports their API.

The manifest stores a fingerprint of (resolved config, input hash, version): a rerun with
the same config and input does no work and leaves every file as it is.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radllama.core.artifacts import (
    ArtifactError,
    DataManifest,
)
from radllama.core.errors import ConfigError, DataError
from radllama.core.provenance import (
    file_sha256,
    fsync_path,
    path_sha256,
)
from radllama.data.chunks import ChunkProcessor, ChunkResult, encode_row, instruction_row, row_draws  # noqa: F401  (public API)
from radllama.data.ingest import (
    resolve_format,
)
from radllama.data.manifest import build_manifest, config_hash, deid_section  # noqa: F401
from radllama.data.passes import (  # noqa: F401
    PassOne,
    _output_name,
    ordered_map,
    run_pass_one,
    split_codes,
    write_splits,
)
from radllama.data.prepare_config import (  # noqa: F401  (public API: configs live beside)
    DEID_AUDIT,
    LOCK,
    MANIFEST,
    SPOOL,
    STAGING,
    FormatConfig,
    PrepareConfig,
    load_prepare_config,
    prompt_style,
)
from radllama.data.redaction import write_audit
from radllama.data.split import SPLIT_NAMES

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


def prepare(
    config: PrepareConfig,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PrepareResult:
    """Run the whole preparation; see the module docstring. `progress(bytes, rows)` is called
    after each chunk."""
    resolve_format(config.input, config.ingest)  # bad paths fail before any work
    check_out_dir(config)
    if config.deid.ner is not None:  # a missing or foreign model fails before any work
        from radllama.deid.ner import check_model_dir

        check_model_dir(config.deid.ner)
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
            _, audit = write_audit(pass_one.audit, audit_path, config.audit_original_context)
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
