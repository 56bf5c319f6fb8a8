"""Contact identifiers: phone and fax numbers, e-mail addresses, URLs, IP addresses."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.recognizers.base import Recognizer
from radllama.deid.spans import Span

# E-mail and URL patterns start at a literal ("@", "://", "www.") that ``re`` finds with a fast
# substring search; the local part / scheme before it is taken by walking back in Python.
EMAIL_RE = re.compile(r"@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
URL_RE = re.compile(r"://[^\s<>\"'\]\[]+")
WWW_RE = re.compile(r"(?<![\w/.])[Ww][Ww][Ww]\.[^\s<>\"'\]\[]+")
_URL_TRAIL = ".,;:)!?"
# A host name without a scheme: "portal.uhm.edu/mychart/results", "pacs.nuhhealth.org/share/1"
# (a dot-separated host ending in a common top-level domain; the part after "@" of an e-mail
# address is not one).
_TLDS = ("org", "edu", "com", "net", "gov", "health", "io", "us", "info", "care")
TLD_RE = re.compile(r"\.(?:" + "|".join(_TLDS) + r")(?![a-z])")  # the gate of BARE_URL_RE
BARE_URL_RE = re.compile(
    r"(?<![\w@./-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:" + "|".join(_TLDS) + r")"
    r"(?:/[^\s<>\"'\]\[]*|(?![\w@.-]))"
)
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def _phone(_deid: Any, text: str, match: re.Match[str]) -> Span:
    """Widen over "(" / "+1" / "+" before it; FAX when "fax" is written just before."""
    start, end = match.span()
    if start and text[start - 1] == "(":
        start -= 1
    elif start >= 2 and text[start - 2 : start] == "+1":
        start -= 2
    elif start and text[start - 1] == "+":
        start -= 1
    window = text[max(0, start - 16) : start].lower()
    return Span(start, end, "FAX" if "fax" in window else "PHONE")


RECOGNIZERS = [
    Recognizer(
        "ip_address",
        "IP",
        "digit",
        r"[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])",
        order=10,
        example="10.0.12.7",
    ),
    Recognizer(
        "phone",
        "PHONE",
        "digit",
        r"[0-9]{2}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}(?![0-9])(?:[ ]?(?:x|ext\.?)[ ]?[0-9]{1,5}(?:-[0-9]{3,5})?)?",
        order=80,
        validate=_phone,
        example="(617) 555-0134 x12",
    ),
    Recognizer(
        "phone_short",
        "PHONE",
        "digit",
        r"[0-9]{2}-[0-9]{4}(?![0-9-])",
        order=90,
        validate=_phone,
        example="555-0134",
    ),
    # "+1 617 555 0134", "1-800-555-0134": the lead is the country code 1.
    Recognizer(
        "phone_country",
        "PHONE",
        "digit_anywhere",
        r"(?<=[^0-9]1)[-. ]\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}(?![0-9])",
        order=10,
        validate=_phone,
        example="1-800-555-0134",
    ),
]
