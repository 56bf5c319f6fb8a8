"""De-identification of one text and the audit file: `prepare`'s step, shared with
`index --add` (retrieval/additions.py) so rows added to an index are cleaned exactly as the
dataset was.

>>> from radllama.deid.audit import DeidAudit
>>> from radllama.deid.config import DeidConfig
>>> from radllama.deid.engine import Deidentifier
>>> audit = DeidAudit()
>>> redact_collapsed(Deidentifier(DeidConfig()), audit, "Seen by Dr. Smith today.", "r1")
'Seen by Dr. [NAME] today.'
>>> audit.total_redactions
1
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from radllama.core.errors import DataError
from radllama.core.provenance import file_sha256, write_json
from radllama.data.filters import collapse_whitespace

if TYPE_CHECKING:
    from radllama.deid.audit import DeidAudit
    from radllama.deid.engine import Deidentifier
    from radllama.deid.spans import DeidResult


def redact_collapsed(
    deidentifier: Deidentifier, audit: DeidAudit, text: str, report_id: str
) -> str:
    """`text` (white space already collapsed) de-identified, its redactions counted in
    `audit` under `report_id`; collapsed again only where a placeholder left two spaces."""
    cleaned = deidentifier.redact(text)
    audit.add(report_id, cleaned)
    return collapse_whitespace(cleaned.text) if "  " in cleaned.text else cleaned.text


def redact_many_collapsed(
    deidentifier: Deidentifier,
    audit: DeidAudit,
    texts: list[str],
    report_ids: list[str],
    cache: RedactionCache | None = None,
) -> list[str]:
    """`redact_collapsed` for many texts in one call (`report_ids[i]` owns `texts[i]`), so a
    NER model (deid.ner) sees them in batches; the audit gets them in order. With a `cache`
    (rules alone), a short text seen before is not redacted again."""
    if cache is None or deidentifier.config.ner is not None:
        results = deidentifier.redact_many(texts)
    else:
        results = cache.redact_many(deidentifier, texts)
    out = []
    for report_id, cleaned in zip(report_ids, results, strict=True):
        audit.add(report_id, cleaned)
        out.append(collapse_whitespace(cleaned.text) if "  " in cleaned.text else cleaned.text)
    return out


class RedactionCache:
    """Short texts -> their `DeidResult`, for the rules alone (a pure function of the text
    and the config, so a repeat gets the same result). Impressions repeat: in 20,000 synthetic
    reports 7,485 are distinct ("No acute cardiopulmonary process."), as normal-template
    reports do in a real archive. Bounded: texts up to `max_chars` characters, cleared at
    `max_entries` (a few MiB per process at the defaults)."""

    def __init__(self, max_chars: int = 240, max_entries: int = 8192) -> None:
        self.max_chars, self.max_entries = max_chars, max_entries
        self._results: dict[str, DeidResult] = {}
        self.hits = 0

    def redact_many(self, deidentifier: Deidentifier, texts: list[str]) -> list[DeidResult]:
        results, known, limit = [], self._results, self.max_chars
        for text in texts:
            result = known.get(text) if len(text) <= limit else None
            if result is None:
                result = deidentifier.redact(text)
                if len(text) <= limit:
                    if len(known) >= self.max_entries:
                        known.clear()
                    known[text] = result
            else:
                self.hits += 1
            results.append(result)
        return results


def write_audit(
    audit: DeidAudit, path: Path, original_context: bool, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the audit JSON (plus `extra` keys) atomically; returns (the report written, its
    manifest entry: path, sha256, original_context). Without `original_context` the review
    sample loses the text around each identifier."""
    report = audit.to_json()
    if not original_context:
        for item in report["sample"]:
            item.pop("original_context", None)
        report["note"] = "original context left out (audit_original_context: false)."
    report.update(extra)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, report)
    except OSError as error:
        raise DataError(
            f"cannot write the de-identification audit to {path} ({error.strerror}); pass "
            "--audit PATH (a writable place outside DATA_DIR, with the raw data)"
        ) from None
    entry = {
        "path": str(path.resolve()),
        "sha256": file_sha256(path),
        "original_context": original_context,
    }
    return report, entry
