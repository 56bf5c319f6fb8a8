"""Typed artifacts: one pydantic model per file that passes between stages.

Every stage reads and writes these files through the models below, never with its own
``json.loads`` and key lookups, so a field has one name, one type and one owner:

- `DataManifest`: DATA_DIR/manifest.json, written by prepare, read by train, generate,
  the judge's PHI guard and the demo;
- `RunRecord`: RUN_DIR/radllama_run.json, written by train and export, read by inference
  (generate, serve) and export;
- `PredictionRow`: one line of PREDS.jsonl, written by generate and baselines, read by evaluate;
- `Scores`: SCORES.json, written by evaluate, read by report;
- `Report`: OUT/report.json, written by report.

Each model carries a ``schema_version``. Files written before versioning (by radllama up to
commit 898a843, "version 0") still read: `Artifact.upgrade` fills what they lack (for a
manifest: the ``deid`` section and the prompt style's exam field, both derived from the
prepare config stored in it). A file that is not JSON, not an object, of a newer schema or
missing a required field raises one `ArtifactError` line that says which step to re-run.
Unknown extra keys are kept (``extra="allow"``) so that a newer writer's additions survive a
read-modify-write by an older reader.

>>> run = RunRecord(method="lora", base_model="/models/base")
>>> run.schema_version, run.prompt_style.exam_field
(1, 'exam_code')
>>> RunRecord.parse({"method": "full", "schema_version": 99}, "x.json")
Traceback (most recent call last):
...
radllama.core.artifacts.ArtifactError: x.json: run file schema_version 99 is newer than this radllama reads (1); upgrade radllama, or re-run `radllama train`
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from radllama.core.errors import DataError
from radllama.core.prompts import PromptStyle
from radllama.core.provenance import file_sha256, write_json

MANIFEST_FILE = "manifest.json"
RUN_FILE = "radllama_run.json"
SCORES_FILE = "scores.json"  # used when `Scores.read/write` is given a directory
REPORT_FILE = "report.json"
DEID_AUDIT_FILE = "deid_audit.json"


class ArtifactError(DataError):
    """An inter-stage file is missing, corrupt, of another kind or of a newer schema."""


def _one_line_validation(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    return f"field '{where}': {first['msg']}"


class Artifact(BaseModel):
    """Base of every inter-stage file: versioned JSON object with `read` and `write`."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    FILE_NAME: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    KIND: ClassVar[str]  # what the file is, in words, for error messages
    PRODUCER: ClassVar[str]  # the command that (re)writes it

    schema_version: int = Field(1, description="Schema version of this file (see artifacts.py).")

    @classmethod
    def path_in(cls, path: str | Path) -> Path:
        """`path` itself, or `path/FILE_NAME` when `path` is a directory."""
        path = Path(path)
        return path / cls.FILE_NAME if path.is_dir() else path

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """Turn a file of an older schema `version` into the current one (subclasses)."""
        return data

    @classmethod
    def parse(cls, data: Any, source: str | Path) -> Self:
        """Validate a decoded JSON value (upgrading older schemas); ArtifactError otherwise."""
        fix = f"re-run {cls.PRODUCER}"
        if not isinstance(data, dict):
            raise ArtifactError(f"{source}: not a {cls.KIND} (expected a JSON object); {fix}")
        version = data.get("schema_version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ArtifactError(f"{source}: {cls.KIND} has schema_version {version!r}; {fix}")
        if version > cls.SCHEMA_VERSION:
            raise ArtifactError(
                f"{source}: {cls.KIND} schema_version {version} is newer than this radllama "
                f"reads ({cls.SCHEMA_VERSION}); upgrade radllama, or {fix}"
            )
        if version < cls.SCHEMA_VERSION:
            data = cls.upgrade(dict(data), version)
        try:
            return cls.model_validate({**data, "schema_version": cls.SCHEMA_VERSION})
        except ValidationError as error:
            raise ArtifactError(
                f"{source}: not a valid {cls.KIND} ({_one_line_validation(error)}); {fix}"
            ) from None

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """Read the file at `path` (or `path/FILE_NAME` for a directory)."""
        path = cls.path_in(path)
        if not path.is_file():
            raise ArtifactError(
                f"{path} not found; it is written by {cls.PRODUCER}: run it, or pass the right path"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            detail = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8"
            raise ArtifactError(
                f"{path}: not valid JSON ({detail}); re-run {cls.PRODUCER}"
            ) from None
        return cls.parse(data, path)

    @classmethod
    def read_optional(cls, path: str | Path) -> Self | None:
        """Like `read`, but None when the file does not exist."""
        return cls.read(path) if cls.path_in(path).is_file() else None

    def _dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to disk (extra keys included), at the current schema."""
        data = self._dump()
        data["schema_version"] = self.SCHEMA_VERSION
        return data

    def write(self, path: str | Path) -> Path:
        """Write atomically to `path` (or `path/FILE_NAME` for a directory); returns the file."""
        target = self.path_in(path)
        write_json(target, self.to_json())
        return target


# ---- DATA_DIR/manifest.json ---------------------------------------------------------------


class DeidCounts(BaseModel):
    """Redaction totals of a prepare run (the same numbers as deid_audit.json)."""

    total_redactions: int = Field(description="Identifier spans replaced, all types.")
    reports_with_phi: int = Field(description="Reports with at least one redaction.")
    reports_seen: int = Field(description="Reports that went through de-identification.")
    by_type: dict[str, int] = Field(default_factory=dict, description="Redactions per type.")


class DeidAuditFile(BaseModel):
    """Where `prepare` wrote the de-identification audit: outside DATA_DIR, because its
    review sample shows original identifiers (unless `original_context` is false)."""

    path: str = Field(description="Absolute path of the audit JSON.")
    sha256: str = Field(description="Hash of the audit file as written.")
    original_context: bool = Field(description="Whether the sample shows original text.")


class DeidSection(BaseModel):
    """What de-identification did to the dataset; the PHI guard (`radllama.core.guard`) reads it."""

    model_config = ConfigDict(extra="allow")

    enabled: bool = Field(strict=True, description="True when every text went through deid.")
    mode: Literal["placeholder", "surrogate"] | None = Field(
        None, description="placeholder tags or surrogate values."
    )
    kept_types: list[str] = Field(
        default_factory=list,
        description="Identifier types deliberately left in the text (deid.keep_types).",
    )
    counts: DeidCounts | None = Field(
        None, description="Redaction totals (None for manifests written before v1)."
    )
    audit: DeidAuditFile | None = Field(
        None, description="Where the audit went (None before issue 13: it sat in DATA_DIR)."
    )

    @property
    def safe_harbor(self) -> bool:
        """True when every Safe Harbor identifier type was removed."""
        return self.enabled and not self.kept_types


class OutputFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    bytes: int
    sha256: str


class ManifestCounts(BaseModel):
    """Every input row is kept or dropped with a reason: input_rows = kept + sum(dropped)."""

    model_config = ConfigDict(extra="allow")

    input_rows: int
    kept: int
    dropped: dict[str, int] = Field(default_factory=dict)
    splits: dict[str, int] = Field(default_factory=dict)
    stages: dict[str, Any] = Field(default_factory=dict)


class DataManifest(Artifact):
    """DATA_DIR/manifest.json: how a prepared dataset was made (written by `radllama prepare`)."""

    FILE_NAME: ClassVar[str] = MANIFEST_FILE
    KIND: ClassVar[str] = "dataset manifest"
    PRODUCER: ClassVar[str] = "`radllama prepare`"

    data_hash: str = Field(description="Hash of the split files' hashes (the dataset identity).")
    counts: ManifestCounts = Field(description="Rows per stage, drop reason and split.")
    prompt_style: PromptStyle = Field(description="How rows became chat messages.")
    deid: DeidSection | None = Field(None, description="De-identification record.")
    radllama_version: str | None = None
    created_at: str | None = None
    config_hash: str | None = Field(None, description="Hash of the config that decides output.")
    fingerprint: str | None = None
    config: dict[str, Any] = Field(
        default_factory=dict, description="The resolved PrepareConfig (model_dump)."
    )
    input: dict[str, Any] = Field(default_factory=dict, description="Input path/format/sha256.")
    malformed_rows: dict[str, Any] = Field(default_factory=dict)
    histogram: dict[str, dict[str, int]] = Field(default_factory=dict)
    leakage: dict[str, Any] = Field(default_factory=dict)
    prepend_probability: float | None = None
    seed: int | None = None
    package_versions: dict[str, str | None] = Field(default_factory=dict)
    outputs: dict[str, OutputFile] = Field(default_factory=dict, description="File -> size/hash.")
    test_source: dict[str, Any] | None = Field(
        None, description="When the test split comes from another prepare run (the demo)."
    )

    def record_outputs(self, directory: str | Path, names: Iterable[str]) -> None:
        """List `names` in `directory` with their size and sha256, for a DATA_DIR that was
        derived from a prepared one (the demo's joined or cut test split): readers check them."""
        from radllama.core.provenance import file_sha256

        directory = Path(directory)
        self.outputs = {
            name: OutputFile(
                bytes=(directory / name).stat().st_size, sha256=file_sha256(directory / name)
            )
            for name in names
        }

    def verify_outputs(
        self, directory: str | Path, names: Iterable[str] | None = None, require: bool = False
    ) -> None:
        """Check DATA_DIR files against the sha256 this manifest lists for them.

        `prepare` publishes the manifest last, so a file that does not match it comes from
        another run (a prepare killed while publishing, two at once) or was edited: a reader
        must not mix them. `names`: only these files (the listed ones unless `require`);
        `require`: the manifest must list output hashes (and every name). One-line DataError.
        """
        directory = Path(directory)
        fix = f"rerun `radllama prepare` for {directory}"
        if not self.outputs:
            if require:
                raise ArtifactError(
                    f"{directory / MANIFEST_FILE} lists no output hashes (written before radllama "
                    f"checked them, or by hand); {fix}"
                )
            return
        for name in self.outputs if names is None else names:
            meta = self.outputs.get(name)
            if meta is None:
                if require:
                    raise ArtifactError(f"{directory / MANIFEST_FILE} does not list {name}; {fix}")
                continue
            path = directory / name
            if not path.is_file():
                raise ArtifactError(f"{path} is missing (listed in {MANIFEST_FILE}); {fix}")
            if path.stat().st_size != meta.bytes or file_sha256(path) != meta.sha256:
                raise ArtifactError(
                    f"{path} does not match {MANIFEST_FILE} (files of two prepare runs, e.g. one "
                    f"killed while publishing, or an edited file); {fix}"
                )

    @classmethod
    def read_verified(cls, directory: str | Path) -> DataManifest:
        """DATA_DIR's manifest, with every file it lists checked against its hash."""
        manifest = cls.read(directory)
        manifest.verify_outputs(directory, require=True)
        return manifest

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        config: dict[str, Any] = data["config"] if isinstance(data.get("config"), dict) else {}
        deid_config = config.get("deid")
        if "deid" not in data and isinstance(deid_config, dict):
            # Until v1, `prepare` always ran de-identification (it has no switch to skip it)
            # and recorded only its config; the counts are in deid_audit.json.
            data["deid"] = {
                "enabled": True,
                "mode": deid_config.get("mode"),
                "kept_types": list(deid_config.get("keep_types") or []),
            }
        style = data.get("prompt_style")
        prepared_field = (config.get("prompt") or {}).get("exam_field")
        if isinstance(style, dict) and "exam_field" not in style and prepared_field:
            data["prompt_style"] = {**style, "exam_field": f"exam_{prepared_field}"}
        return data


# ---- DATA_DIR split files (train/eval/test .jsonl or .parquet; rows: docs/ARCHITECTURE.md) --

SPLIT_REQUIRED_FIELDS = ("report_id", "findings", "impression")


def resolve_split_path(data: Path, split: str = "test") -> Path:
    """A split file, or DATA_DIR -> its `split` file (.jsonl or .parquet)."""
    if data.is_dir():
        return DataDir.open(data).split_path(split)
    if not data.is_file():
        raise DataError(
            f"data file not found: {data}; pass DATA_DIR/test.jsonl from `radllama prepare`"
        )
    verify_split_file(data)
    return data


def verify_split_file(path: str | Path) -> None:
    """Check one split file against the manifest beside it, if there is one that lists it:
    never read another run's file under this manifest's name."""
    path = Path(path)
    manifest = DataManifest.read_optional(path.parent)
    if manifest is not None:
        manifest.verify_outputs(path.parent, [path.name])


def iter_split_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of a .jsonl or .parquet split file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            yield from batch.to_pylist()
    else:
        from radllama.core.jsonl import read_jsonl

        yield from read_jsonl(path)


def _checked_rows(path: Path, limit: int | None) -> tuple[list[dict[str, Any]], Counter[str]]:
    rows: list[dict[str, Any]] = []
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    for number, row in enumerate(iter_split_rows(path), start=1):
        if limit is not None and number > limit:
            break
        missing = [name for name in SPLIT_REQUIRED_FIELDS if row.get(name) in (None, "")]
        if missing:
            raise DataError(
                f"{path} row {number}: missing {', '.join(missing)}; generate reads splits "
                "written by `radllama prepare` (fields report_id, findings, impression)"
            )
        report_id = str(row["report_id"])
        if report_id in seen:
            dropped["duplicate report_id"] += 1
            continue
        seen.add(report_id)
        rows.append(row)
    if not rows:
        raise DataError(f"{path} has no rows; pass a non-empty test split")
    return rows, dropped


def load_split(
    data: Path, limit: int | None = None, split: str = "test"
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Rows of a split (first `limit`) of a DATA_DIR, or of one split file, checked for the
    fields generation needs (`DataDir.load` for a directory).

    Returns (rows, dropped) where dropped counts rows left out by reason (repeated report_id).
    """
    if Path(data).is_dir():
        return DataDir.open(data).load(split, limit)
    return _checked_rows(resolve_split_path(Path(data), split), limit)


class DataDir:
    """A DATA_DIR (`radllama prepare`'s output): the one way to open one. Its manifest (None
    for a bare folder of split files), its split files checked against the manifest's hashes,
    and their rows.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "test.jsonl").write_text('{"report_id": "1", "findings": "f", "impression": "i"}\\n')
    >>> data = DataDir.open(folder)                     # no manifest: a bare folder of splits
    >>> data.manifest is None, [row["report_id"] for row in data.rows("test")]
    (True, ['1'])
    >>> DataDir.open_prepared(folder)
    Traceback (most recent call last):
    ...
    radllama.core.errors.DataError: ... has no manifest.json: not a complete `radllama prepare` output (or a run was interrupted while publishing); rerun `radllama prepare` with --out ...
    """

    def __init__(self, path: Path, manifest: DataManifest | None) -> None:
        self.path = path
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"DataDir({str(self.path)!r})"

    @classmethod
    def open(cls, path: str | Path) -> DataDir:
        """A directory of split files, with its manifest if it has one (checked per file read)."""
        path = Path(path)
        if not path.is_dir():
            raise DataError(
                f"dataset directory {path} not found; pass a DATA_DIR from `radllama prepare`"
            )
        return cls(path, DataManifest.read_optional(path))

    @classmethod
    def open_prepared(cls, path: str | Path, option: str = "--data DIR") -> DataDir:
        """A complete `prepare` output: its manifest is required and every file it lists must
        be the one it hashed (never train on a mix of runs); a train split must be listed."""
        path = Path(path)
        if not path.is_dir():
            raise DataError(
                f"dataset directory {path} not found; pass {option} made by `radllama prepare`"
            )
        if not (path / MANIFEST_FILE).is_file():
            raise DataError(
                f"{path} has no {MANIFEST_FILE}: not a complete `radllama prepare` output (or a "
                f"run was interrupted while publishing); rerun `radllama prepare` with --out {path}"
            )
        data = cls(path, DataManifest.read_verified(path))
        if "train" not in data.listed_splits(("train",)):
            raise DataError(f"{path} has no train.jsonl or train.parquet; rerun `radllama prepare`")
        return data

    @property
    def prepared(self) -> DataManifest:
        """The manifest (a DataError for a folder without one)."""
        if self.manifest is None:
            raise DataError(f"{self.path} has no {MANIFEST_FILE}; rerun `radllama prepare`")
        return self.manifest

    @property
    def data_hash(self) -> str:
        return self.prepared.data_hash

    @property
    def prompt_style(self) -> PromptStyle:
        return self.prepared.prompt_style

    def listed_splits(self, splits: Iterable[str]) -> dict[str, Path]:
        """split -> file for each of `splits` the manifest lists (.jsonl first, then .parquet)."""
        outputs = self.manifest.outputs if self.manifest is not None else {}
        found: dict[str, Path] = {}
        for split in splits:
            for suffix in (".jsonl", ".parquet"):
                if f"{split}{suffix}" in outputs:
                    found[split] = self.path / f"{split}{suffix}"
                    break
        return found

    def split_path(self, split: str = "test") -> Path:
        """The `split` file (.jsonl or .parquet), checked against the manifest if it lists it."""
        for name in (f"{split}.jsonl", f"{split}.parquet"):
            if (self.path / name).is_file():
                if self.manifest is not None:
                    self.manifest.verify_outputs(self.path, [name])
                return self.path / name
        raise DataError(
            f"{self.path} has no {split}.jsonl or {split}.parquet; pass a DATA_DIR from "
            "`radllama prepare`"
        )

    def rows(self, split: str = "test") -> Iterator[dict[str, Any]]:
        """Stream the rows of a split file (checked before the first row)."""
        return iter_split_rows(self.split_path(split))

    def load(
        self, split: str = "test", limit: int | None = None
    ) -> tuple[list[dict[str, Any]], Counter[str]]:
        """(rows, dropped): the first `limit` rows of `split` with report_id, findings and
        impression (a DataError naming the row otherwise), repeated report_ids dropped."""
        return _checked_rows(self.split_path(split), limit)


# ---- RUN_DIR/radllama_run.json --------------------------------------------------------------


class RunRecord(Artifact):
    """RUN_DIR/radllama_run.json: what a fine-tuning run did (written by `radllama train`)."""

    FILE_NAME: ClassVar[str] = RUN_FILE
    KIND: ClassVar[str] = "run file"
    PRODUCER: ClassVar[str] = "`radllama train`"

    method: Literal["full", "lora", "qlora"] = Field(description="Fine-tuning method.")
    base_model: str | None = Field(None, description="Base model path (adapter runs load it).")
    prompt_style: PromptStyle = Field(
        default_factory=PromptStyle, description="Prompt style of the training data."
    )
    data_manifest_hash: str | None = Field(None, description="data_hash of the training data.")
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    package_versions: dict[str, str | None] = Field(default_factory=dict)
    seed: int | None = None
    final_metrics: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict, description="The TrainConfig dump.")
    quantization: dict[str, Any] | None = Field(None, description="4-bit settings (qlora).")
    data: dict[str, Any] = Field(default_factory=dict, description="Data dir, stats, cache.")
    distributed: dict[str, Any] | None = None
    status: str = "completed"
    created: str | None = None
    export: dict[str, Any] | None = Field(None, description="Set by `radllama export`.")


# ---- PREDS.jsonl ----------------------------------------------------------------------------


class PredictionRow(Artifact):
    """One line of PREDS.jsonl (written by `radllama generate` and `radllama baselines`).

    A row that failed to generate has ``error`` set and ``prediction`` None; evaluate skips
    it with a counted reason. Baselines add their own keys (kept as extras).
    """

    FILE_NAME: ClassVar[str] = "preds.jsonl"
    KIND: ClassVar[str] = "prediction row"
    PRODUCER: ClassVar[str] = "`radllama generate`"

    report_id: str
    system: str
    exam_code: str = ""
    findings: str
    prompt: str | None = Field(None, description="The user turn (None for baselines).")
    reference: str = Field(description="The report's own impression.")
    modality: str = "unknown"
    body_region: str = "unknown"
    raw_output: str | None = None
    prediction: str | None = Field(None, description="raw_output with the prepend stripped.")
    latency_s: float | None = Field(None, description="Seconds until this row's answer.")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = Field(None, description="Why the row failed (retried on rerun).")

    @classmethod
    def for_row(
        cls, row: dict[str, Any], system: str, prompt: str | None, **result: Any
    ) -> PredictionRow:
        """The prediction row for a split row (prompt None: no prompt, e.g. a baseline);
        `result` holds raw_output, prediction, latency_s, token counts or an error."""
        return cls(
            report_id=str(row["report_id"]),
            system=system,
            exam_code=row.get("exam_code") or "",
            findings=row["findings"],
            prompt=prompt,
            reference=row["impression"],
            modality=row.get("modality") or "unknown",
            body_region=row.get("body_region") or "unknown",
            # A benchmark row that fails the training filters is still predicted, with why.
            **({"filter_reason": row["filter_reason"]} if row.get("filter_reason") else {}),
            **result,
        )

    def _dump(self) -> dict[str, Any]:
        # Optional fields a writer did not set stay out of the row (the format of today's
        # files: a baseline row has no token counts, a good row no `error`).
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def iter_file(cls, path: str | Path) -> Iterator[dict[str, Any]]:
        """The raw rows of a PREDS file; evaluate decides per row what to skip (and counts
        it). Raises ArtifactError for a line that is not a JSON object or of a newer schema."""
        from radllama.core.jsonl import read_jsonl

        for row in read_jsonl(path):
            version = row.get("schema_version", 0)
            if isinstance(version, int) and version > cls.SCHEMA_VERSION:
                cls.parse(row, path)  # raises the one-line "newer schema" error
            yield row

    def append(self, path: str | Path) -> None:
        """Append this row to a PREDS file and flush (resumable output)."""
        from radllama.core.jsonl import append_jsonl

        append_jsonl(path, self.to_json())


# ---- SCORES.json ---------------------------------------------------------------------------


class MetricSummary(BaseModel):
    """Mean and bootstrap CI of one metric over the scored rows."""

    model_config = ConfigDict(extra="allow")

    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None


class MetricColumn(BaseModel):
    """How the report shows a metric (from the metric registry at scoring time)."""

    label: str
    decimals: int = 4
    higher_is_better: bool = True


class Scores(Artifact):
    """SCORES.json: one system's metrics, CIs, breakdowns and per-sample values."""

    FILE_NAME: ClassVar[str] = SCORES_FILE
    KIND: ClassVar[str] = "scores file"
    PRODUCER: ClassVar[str] = "`radllama evaluate`"

    system: str = Field(min_length=1)
    metrics: dict[str, MetricSummary]
    columns: dict[str, MetricColumn] = Field(
        default_factory=dict, description="Report column per metric (empty before v1)."
    )
    preds_path: str | None = None
    preds_sha256: str | None = None
    n: int | None = None
    n_skipped: int = 0
    skipped_reasons: dict[str, int] = Field(default_factory=dict)
    n_empty_predictions: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    breakdowns: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    per_sample: list[dict[str, Any]] = Field(default_factory=list)
    judge: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    errors: dict[str, str] | None = None
    versions: dict[str, str | None] = Field(default_factory=dict)

    def _dump(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for optional in ("judge", "errors"):  # present only when they happened
            if data.get(optional) is None:
                data.pop(optional, None)
        return data


# ---- OUT/report.json -------------------------------------------------------------------------


class Report(Artifact):
    """report.json: the Table-1 report as data (written by `radllama report`)."""

    FILE_NAME: ClassVar[str] = REPORT_FILE
    KIND: ClassVar[str] = "report file"
    PRODUCER: ClassVar[str] = "`radllama report`"

    title: str
    systems: list[dict[str, Any]]
    columns: list[str] = Field(description="Metric keys shown in the main table, in order.")
    created: str | None = None
    radllama_version: str | None = None
    n_resamples: int | None = None
    paired_deltas: list[dict[str, Any]] = Field(default_factory=list)
    paper_table1: dict[str, Any] = Field(default_factory=dict)
    column_labels: dict[str, MetricColumn] = Field(default_factory=dict)
    figures: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)


# ---- records beside a stage's own output (written as given: unset fields stay out) ---------


class _Record(Artifact):
    """A file whose writer decides which keys it holds: written with exactly the fields that
    were given or assigned (plus ``schema_version``), so typing its reads changes no file."""

    def _dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


INDEX_FORMAT = "radllama-index-v1"
INDEX_META_FILE = "meta.json"


class IndexMeta(_Record):
    """DATA_DIR/index/meta.json: what a retrieval index holds and was built from (written
    by `radllama index`, last, so a running server sees a complete index)."""

    FILE_NAME: ClassVar[str] = INDEX_META_FILE
    KIND: ClassVar[str] = "retrieval index meta"
    PRODUCER: ClassVar[str] = "`radllama index DATA_DIR`"

    format: str = Field(description=f"Index layout ({INDEX_FORMAT}).")
    kind: Literal["dense", "bm25"]
    exam_field: str = Field(description="The row field used as the exam (exam_code | ...).")
    encoder: str = Field(description="Encoder name (bm25-okapi for BM25).")
    encoder_path: str | None = None
    encoder_sha256: str = Field(description="Hash of the encoder's files (checked on load).")
    dim: int | None = None
    data_hash: str | None = Field(None, description="The manifest's data_hash (None: no manifest).")
    train_sha256: str = Field(description="sha256 of the indexed train split file.")
    rows: int = Field(ge=0, description="Rows in rows.jsonl (vectors.faiss has as many).")
    dropped: dict[str, int] = Field(default_factory=dict)
    additions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Files added with --add: file, sha256, rows, dropped, deid.",
    )
    identity: dict[str, Any] = Field(default_factory=dict, description="What a run records.")
    built_at: str | None = None
    source: str | None = None
    build_seconds: float | None = None
    batch_size: int | None = None

    @classmethod
    def parse(cls, data: Any, source: str | Path) -> Self:
        if isinstance(data, dict) and data.get("format") != INDEX_FORMAT:
            raise DataError(
                f"{Path(source).parent} is index format {data.get('format')!r}, not "
                f"{INDEX_FORMAT}; rebuild it with `radllama index DATA_DIR`"
            )
        return super().parse(data, source)


class BaseMeta(_Record):
    """MODEL_DIR/radllama_base.json: how a base model directory was made (`radllama base`:
    a GGUF converted to HF, or the tiny Llama built here)."""

    FILE_NAME: ClassVar[str] = "radllama_base.json"
    KIND: ClassVar[str] = "base model record"
    PRODUCER: ClassVar[str] = "`radllama base`"

    kind: Literal["radllama-gguf-base", "radllama-embedded-base"]
    created: str | None = None
    converter_version: int | None = Field(
        None, description="GGUF converter that wrote the directory (absent: version 1)."
    )
    source: dict[str, Any] | None = Field(None, description="The GGUF: file, sha256, bytes, ...")
    config: dict[str, Any] | None = Field(None, description="BaseConfig of a model built here.")
    parameters: int | None = None
    vocab_size: int | None = None
    data_hash: str | None = None
    package_versions: dict[str, str | None] = Field(default_factory=dict)

    @property
    def converter(self) -> int:
        """The converter version (1 for directories written before it was recorded)."""
        return self.converter_version or 1


class TokenizedCacheMeta(_Record):
    """CACHE/tokenized/KEY/meta.json: one tokenisation cache entry (written by `radllama
    train` when it tokenises; the entry's folder name is the hash of `key_inputs`)."""

    FILE_NAME: ClassVar[str] = "meta.json"
    KIND: ClassVar[str] = "tokenisation cache entry"
    PRODUCER: ClassVar[str] = "`radllama train` (delete the entry to rebuild it)"

    key_inputs: dict[str, Any] = Field(description="What the cache key hashes.")
    splits: list[str] = Field(description="Saved splits (datasets.save_to_disk folders).")
    stats: dict[str, dict[str, Any]] = Field(description="Per split: rows kept, drop reasons.")


class ResumeRecord(_Record):
    """RUN_DIR/checkpoints/radllama_resume.json: what decides the data order of a run, saved
    when it starts; `train --resume` refuses when any of it changed."""

    FILE_NAME: ClassVar[str] = "radllama_resume.json"
    KIND: ClassVar[str] = "resume record"
    PRODUCER: ClassVar[str] = "`radllama train` (start the run again without --resume)"

    method: str | None = None
    seed: int | None = None
    data_cache_key: str | None = None
    max_length: int | None = None
    packing: bool | None = None
    per_device_train_batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    world_size: int | None = None

    def changed(self, saved: ResumeRecord) -> list[str]:
        """The fields of this run that differ from `saved` (the interrupted run's)."""
        given = self.model_fields_set
        return [
            k
            for k in type(self).model_fields
            if k in given and getattr(saved, k) != getattr(self, k)
        ]
