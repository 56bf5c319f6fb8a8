"""Rows for `radllama index DATA_DIR --add NEW.jsonl`: checked, counted and de-identified.

The rows of NEW.jsonl become retrievable prior cases, returned by the server to its clients,
so they go through the same de-identification as `radllama prepare` gave the dataset (the
`deid` settings recorded in DATA_DIR/manifest.json: mode, kept types, allow-list), and every
row left out is counted by reason, with prepare's reason names:

- ``bad_encoding``, ``parse_error``, ``not_an_object``: the line is not a UTF-8 JSON object;
- ``wrong_type``: a number, list or object where text belongs (``findings``, ``impression``,
  ``exam_code``, ``exam_description``), or a ``report_id``/``patient_id`` that is neither
  text nor an integer;
- ``no_report_id``, ``no_findings``, ``no_impression``: the field is absent or blank;
- ``duplicate_report_id``: the id is already in the index or earlier in the file (ids are
  what the server returns and what the leakage rules compare).

The audit (redactions per type and a review sample showing the original identifiers) goes
beside the input as ``NEW.jsonl.deid_audit.json``, like prepare's, never into DATA_DIR.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radllama.core.errors import DataError
from radllama.data.filters import collapse_whitespace
from radllama.data.redaction import redact_collapsed, write_audit

TEXT_FIELDS = ("findings", "impression", "exam_code", "exam_description")
ID_FIELDS = ("report_id", "patient_id")


@dataclass
class CheckedRows:
    """Rows to index and the rows left out, by reason."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_rows(
    rows: Iterable[dict[str, Any]], seen: set[str], malformed: Counter | None = None
) -> Iterator[dict[str, Any]]:
    """The rows whose fields have the right types and are present, ids not in `seen`
    (updated); every other row is counted in `malformed` by reason."""
    dropped = malformed if malformed is not None else Counter()
    for row in rows:
        if any(not isinstance(row.get(name), str | None) for name in TEXT_FIELDS) or any(
            isinstance(row.get(name), bool) or not isinstance(row.get(name), str | int | None)
            for name in ID_FIELDS
        ):
            dropped["wrong_type"] += 1
            continue
        reason = next(
            (
                f"no_{name}"
                for name in ("report_id", "findings", "impression")
                if _blank(row.get(name))
            ),
            None,
        )
        if reason is not None:
            dropped[reason] += 1
            continue
        row_id = str(row["report_id"]).strip()
        if row_id in seen:
            dropped["duplicate_report_id"] += 1
            continue
        seen.add(row_id)
        yield row


def dataset_deid_config(data_dir: Path) -> tuple[Any, bool]:
    """(DeidConfig, audit_original_context) of the `radllama prepare` run that made DATA_DIR;
    the defaults for a folder of splits without a manifest (prepare's defaults too)."""
    from radllama.core.artifacts import DataManifest
    from radllama.deid.config import DeidConfig

    manifest = DataManifest.read_optional(data_dir)
    config = (manifest.config or {}) if manifest is not None else {}
    deid = DeidConfig(**config["deid"]) if isinstance(config.get("deid"), dict) else DeidConfig()
    return deid, bool(config.get("audit_original_context", True))


class RowRedactor:
    """prepare's de-identification of one row's texts (collapse, redact, collapse if needed),
    with the audit counting every redaction."""

    def __init__(self, data_dir: Path) -> None:
        from radllama.deid.audit import DeidAudit
        from radllama.deid.engine import Deidentifier

        self.config, self.original_context = dataset_deid_config(data_dir)
        self.deidentifier = Deidentifier(self.config)
        self.audit = DeidAudit.for_config(self.config)

    def redact(self, text: str, report_id: str) -> str:
        collapsed = collapse_whitespace(text)
        if not collapsed:
            return ""
        return redact_collapsed(self.deidentifier, self.audit, collapsed, report_id)

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row with findings, impression and the exam fields de-identified."""
        report_id = str(row["report_id"]).strip()
        out = dict(row, report_id=report_id)
        for name in ("findings", "impression", "exam_code", "exam_description"):
            if isinstance(row.get(name), str):
                out[name] = self.redact(row[name], report_id)
        return out

    def write_audit(self, path: Path, source: Path) -> dict[str, Any]:
        """Write the audit JSON; returns what the index meta records about it."""
        report, entry = write_audit(self.audit, path, self.original_context, source=str(source))
        return {
            **entry,
            "mode": self.config.mode,
            "kept_types": list(self.config.keep_types),
            "total_redactions": report["total_redactions"],
            "by_type": {kind: n for kind, n in report["counts_by_type"].items() if n},
        }


def audit_path_for(new_rows: Path, data_dir: Path, audit: Path | None) -> Path:
    """Where the audit goes (NEW.jsonl.deid_audit.json beside the input by default); never
    inside DATA_DIR, which is shared without the original identifiers."""
    path = audit or new_rows.parent / f"{new_rows.name}.deid_audit.json"
    if path.resolve().is_relative_to(data_dir.resolve()):
        raise DataError(
            f"audit path {path} is inside the dataset directory {data_dir}; the audit shows "
            "original identifiers: pass --audit PATH outside DATA_DIR (e.g. beside the raw data)"
        )
    return path
