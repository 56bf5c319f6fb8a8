"""The paper's row filters, duplicate removal, and the names of every drop reason.

Paper: drop a report without findings or without impression, or whose findings have fewer
than 10 words; collapse extra white space. We also drop exact duplicate (findings,
impression) pairs (first occurrence kept) and count malformed input rows.

Every input row ends up kept or dropped under exactly one reason from `DROP_REASONS`, so
``input_rows == kept + sum(dropped.values())`` holds in the manifest.

>>> collapse_whitespace("  Lungs   are\\n clear. ")
'Lungs are clear.'
>>> drop_reason("Lungs are clear.", "Normal.", min_findings_words=10)
'short_findings'
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from radllama.core.config import StrictModel
from radllama.core.hashing import splitmix64, text_hash

# Malformed input (decided by ingest, before any text is looked at).
MALFORMED_REASONS = (
    "parse_error",  # broken CSV quoting, invalid JSON line
    "wrong_field_count",  # a CSV row with more or fewer fields than the header
    "bad_encoding",  # bytes that do not decode with the configured encoding
    "not_an_object",  # a JSON(L) value that is not an object
    "unreadable_file",  # a report file that cannot be read (folder inputs)
    "wrong_type",  # a number, list or object where report text belongs (JSON, Parquet)
    "line_too_long",  # a JSONL line over ingest.max_record_bytes (read, never held)
    "not_a_regular_file",  # a .txt report that is a device, FIFO or socket (never opened)
    "symlink_outside_input",  # a .txt symlink whose target is outside the input folder
    "file_too_large",  # a .txt report over ingest.max_record_bytes
)
# Content rules, in the order they are applied (the first that matches is the reason).
CONTENT_REASONS = (
    "too_long",  # findings or impression over filters.max_field_chars (a pasted blob, no report)
    "empty_row",
    "no_findings",
    "no_impression",
    "short_findings",
    "duplicate",
)
DROP_REASONS = MALFORMED_REASONS + CONTENT_REASONS


class FilterConfig(StrictModel):
    """Which rows are kept."""

    min_findings_words: int = Field(
        10, ge=0, description="Drop rows whose findings have fewer words (paper: 10)."
    )
    drop_duplicates: bool = Field(
        True, description="Drop exact duplicate (findings, impression) pairs, keeping the first."
    )
    max_field_chars: int = Field(
        20_000,
        ge=1,
        description="Drop rows whose findings or impression is longer (characters): a real "
        "section is a few hundred to a few thousand; longer is a paste or an export error.",
    )


def collapse_whitespace(text: str) -> str:
    """Runs of white space (incl. newlines, tabs) -> one space; ends stripped."""
    return " ".join(text.split())


def drop_reason(findings: str, impression: str, min_findings_words: int) -> str | None:
    """Reason to drop a (collapsed) pair, or None to keep it. Duplicates are handled apart."""
    if not findings:
        return "no_findings"
    if not impression:
        return "no_impression"
    # Collapsed text has single spaces, so words = spaces + 1.
    if findings.count(" ") + 1 < min_findings_words:
        return "short_findings"
    return None


def paper_filter_reasons(rows: list[dict], config: FilterConfig | None = None) -> list[str | None]:
    """Why each (already prepared) row would fail the training filters, or None: the rule an
    external benchmark's row breaks when every row is scored anyway (duplicates: a repeat of
    an earlier row's (findings, impression) pair in `rows`).

    >>> paper_filter_reasons([{"findings": "Lungs are clear.", "impression": "Normal."}])
    ['short_findings']
    """
    config = config or FilterConfig()
    seen: set[int] = set()
    reasons: list[str | None] = []
    for row in rows:
        findings = collapse_whitespace(str(row.get("findings") or ""))
        impression = collapse_whitespace(str(row.get("impression") or ""))
        reason = drop_reason(findings, impression, config.min_findings_words)
        key = pair_hash(findings, impression)
        if reason is None and config.drop_duplicates and key in seen:
            reason = "duplicate"
        seen.add(key)
        reasons.append(reason)
    return reasons


def pair_hashes(findings_hashes: np.ndarray, impression_hashes: np.ndarray) -> np.ndarray:
    """64-bit key of each (findings, impression) pair from the two text hashes (vectorised;
    the findings hash is mixed first so that (a, b) and (b, a) differ)."""
    return splitmix64(findings_hashes) ^ impression_hashes.astype(np.uint64)


def pair_hash(findings: str, impression: str) -> int:
    """`pair_hashes` for one pair."""
    one = pair_hashes(
        np.array([text_hash(findings)], np.uint64), np.array([text_hash(impression)], np.uint64)
    )
    return int(one[0])


def first_occurrence(hashes: np.ndarray) -> np.ndarray:
    """Boolean mask, True where a hash occurs for the first time.

    >>> first_occurrence(np.array([5, 3, 5, 7, 3], dtype=np.uint64)).tolist()
    [True, True, False, True, False]
    """
    keep = np.zeros(len(hashes), dtype=bool)
    if len(hashes):
        _, first = np.unique(hashes, return_index=True)
        keep[first] = True
    return keep
