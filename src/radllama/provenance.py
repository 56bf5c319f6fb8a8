"""Reproducibility helpers: package versions, file and data hashes, run records."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from radllama.errors import DataError

TRACKED_PACKAGES = (
    "radllama",
    "torch",
    "transformers",
    "trl",
    "peft",
    "bitsandbytes",
    "accelerate",
    "datasets",
    "tokenizers",
    "deepspeed",
    "rouge-score",
    "bert-score",
    "openai",
    "fastapi",
)


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when not installed), plus python and platform."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = sys.version.split()[0]
    versions["platform"] = platform.platform()
    return versions


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Streaming SHA-256 of a file (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def path_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of a directory's files (sorted relative names + contents)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(child.relative_to(path)).encode())
        digest.update(file_sha256(child).encode())
    return digest.hexdigest()


def json_sha256(obj: Any) -> str:
    """Stable hash of a JSON-serialisable object (sorted keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename) so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)


def fsync_path(path: str | Path) -> None:
    """Flush a file's or a directory's contents (a directory: its entries, e.g. a rename) to
    disk, so a crash or power loss cannot undo a write that a later step relies on."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def verify_outputs(
    directory: str | Path,
    manifest: dict[str, Any],
    names: Iterable[str] | None = None,
    require: bool = False,
) -> None:
    """Check files of a `radllama prepare` output against the sha256 its manifest lists.

    `prepare` publishes the manifest last, so files that do not match it come from another
    run (a prepare killed while publishing, two runs at once) or were edited: a reader must
    not mix them. `names`: only these files (those the manifest lists); `require`: the
    manifest must list output hashes (and every name in `names`). One-line DataError.
    """
    directory = Path(directory)
    outputs = manifest.get("outputs")
    fix = f"rerun `radllama prepare` for {directory}"
    if not isinstance(outputs, dict) or not outputs:
        if require:
            raise DataError(
                f"{directory}/manifest.json lists no output hashes (not written by this "
                f"radllama's prepare, or an interrupted run); {fix}"
            )
        return
    wanted = list(outputs) if names is None else list(names)
    for name in wanted:
        meta = outputs.get(name)
        if not isinstance(meta, dict):
            if require:
                raise DataError(f"{directory}/manifest.json does not list {name}; {fix}")
            continue
        path = directory / name
        if (
            not path.is_file()
            or path.stat().st_size != meta.get("bytes")
            or file_sha256(path) != meta.get("sha256")
        ):
            state = "is missing" if not path.is_file() else "does not match manifest.json"
            raise DataError(
                f"{path} {state} (files of two prepare runs, e.g. one killed while publishing, "
                f"or an edited file); {fix}"
            )


def verify_file(path: str | Path) -> None:
    """Check one file of a `radllama prepare` output against the manifest.json beside it, if
    there is one that lists it (a reader of a single split file, e.g. DATA_DIR/test.jsonl)."""
    path = Path(path)
    manifest_path = path.parent / "manifest.json"
    if not manifest_path.is_file():
        return
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        raise DataError(
            f"{manifest_path}: not valid JSON; rerun `radllama prepare` for {path.parent}"
        ) from None
    if isinstance(manifest, dict):
        verify_outputs(path.parent, manifest, [path.name])
