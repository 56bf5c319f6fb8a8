"""Findings and impression out of a full report text.

A report is a sequence of headed sections (``EXAM:``, ``CLINICAL HISTORY:``, ``FINDINGS:``,
``IMPRESSION:``...). Header names are normalised to a small set of kinds, misspellings
included (IMPRESSON, FINDNGS). ``CONCLUSION`` and ``IMPRESSION/RECOMMENDATION`` count as the
impression. Everything after an ``ADDENDUM`` header is kept apart (an addendum is written
later, often by someone else, and is not the impression the radiologist signed).
Signature lines (``Electronically signed by ...``) end the section they follow.

A combined ``FINDINGS AND IMPRESSION:`` section cannot be split into a findings -> impression
pair without guessing, so its text becomes the findings, the impression stays empty and the
reason says why (the filters then drop the row with a counted reason).

>>> s = split_sections("EXAM: CT HEAD\\nFINDINGS: No bleed.\\nIMPRESSON: Normal.\\nADDENDUM: Called.")
>>> (s.exam, s.findings, s.impression, s.addendum, s.reason)
('CT HEAD', 'No bleed.', 'Normal.', 'Called.', None)
>>> split_sections("Lungs are clear.").reason
'no_headers'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

# Header spellings -> kind. Alternatives are tried longest-first so that
# "FINDINGS AND IMPRESSION" is not read as "FINDINGS" followed by junk.
_FINDINGS = r"F(?:INDINGS?|INDNGS?|INDIGNS|INIDNGS|IDNINGS|INDINS|INDGINS|NIDINGS|INDINGD)"
_IMPRESSION = (
    r"IM(?:PRESSIONS?|PRESSONS?|PRESIONS?|PRESSOIN|PERSSION|PRSSION|RESSION|PRESSSION|PRESSIN)"
)
HEADER_KINDS: dict[str, str] = {
    rf"{_FINDINGS}\s*(?:AND|&|/)\s*{_IMPRESSION}": "combined",
    rf"{_IMPRESSION}\s*(?:AND|&|/)\s*{_FINDINGS}": "combined",
    rf"{_IMPRESSION}\s*(?:AND|&|/)\s*RECOMMENDATIONS?": "impression",
    _FINDINGS: "findings",
    _IMPRESSION: "impression",
    r"CONCLUSIONS?": "impression",
    r"EXAM(?:INATION)?|PROCEDURE|STUDY": "exam",
    r"(?:CLINICAL\s+)?HISTORY|(?:CLINICAL\s+)?INDICATIONS?|REASON\s+FOR\s+(?:EXAM|STUDY)": "history",
    r"TECHNIQUE|PROTOCOL": "technique",
    r"COMPARISONS?": "comparison",
    r"RECOMMENDATIONS?": "recommendation",
    r"ADDEND(?:UM|A)": "addendum",
}
_SIGNATURE = (
    r"electronically\s+signed|signed\s+by|dictated\s+by|transcribed\s+by|"
    r"attending\s+radiologist|reported\s+by|read\s+by|verified\s+by"
)
_NAMES = "|".join(f"(?:{pattern})" for pattern in HEADER_KINDS)
# A header is a known name and a colon, either at the start of a line (any case) or, for
# exports that flattened the report onto one line, upper case after white space.
# ADDENDUM may stand alone on its line without a colon. Signature lines need no colon.
_HEADER_RE = re.compile(
    rf"(?m)(?:^[ \t*]*(?P<line>(?i:{_NAMES}))[ \t]*:|(?<=\s)(?P<inline>{_NAMES})[ \t]*:"
    rf"|^[ \t*]*(?P<addendum>(?i:ADDEND(?:UM|A)))[ \t*]*$"
    rf"|^[ \t]*(?P<signature>(?i:{_SIGNATURE}))\b)"
)
_KIND_RES = [(re.compile(rf"(?i:{pattern})\Z"), kind) for pattern, kind in HEADER_KINDS.items()]
_SPACE_RE = re.compile(r"\s+")

SPLIT_REASONS = (
    "empty_text",
    "no_headers",
    "combined_findings_impression",
    "no_findings_header",
    "no_impression_header",
)


class Sections(NamedTuple):
    """The parts of one report; ``reason`` is None when findings and impression were found."""

    findings: str
    impression: str
    exam: str
    addendum: str
    reason: str | None


@lru_cache(maxsize=4096)
def header_kind(name: str) -> str:
    """Normalised kind of a header name: ``header_kind("Impresson") == "impression"``."""
    name = _SPACE_RE.sub(" ", name.strip())
    for pattern, kind in _KIND_RES:
        if pattern.match(name):
            return kind
    raise ValueError(f"not a report header: {name!r}")


def _reason(parts: dict[str, list[str]]) -> str | None:
    if "findings" in parts and "impression" in parts:
        return None
    if "combined" in parts:
        return "combined_findings_impression"
    if not parts:
        return "no_headers"
    return "no_findings_header" if "findings" not in parts else "no_impression_header"


def split_sections(text: str) -> Sections:
    """Split a full report into findings, impression, exam and addendum (text is stripped,
    internal white space kept; the filters collapse it)."""
    if not text or not text.strip():
        return Sections("", "", "", "", "empty_text")
    parts: dict[str, list[str]] = {}
    kind: str | None = None
    start = 0
    for match in _HEADER_RE.finditer(text):
        if kind is not None:
            parts.setdefault(kind, []).append(text[start : match.start()])
        start = match.end()
        if match.group("signature"):
            kind = None  # signature text (names, dates) belongs to no section
            continue
        kind = header_kind(match.group("line") or match.group("inline") or match.group("addendum"))
        if kind == "addendum":
            break  # the addendum runs to the end of the report, headers and all
    if kind is not None:
        parts.setdefault(kind, []).append(text[start:])
    joined = {key: " ".join(p.strip() for p in values).strip() for key, values in parts.items()}
    reason = _reason(joined)
    findings = joined.get("findings", "")
    if reason == "combined_findings_impression" and not findings:
        findings = joined["combined"]
    return Sections(
        findings=findings,
        impression=joined.get("impression", ""),
        exam=joined.get("exam", ""),
        addendum=joined.get("addendum", ""),
        reason=reason,
    )
