"""Identifiers: labelled IDs (MRN, accession, SSN, account), long numbers, DICOM UIDs, short
values after a device or location keyword, logins."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import _trie
from radllama.deid.spans import Span

_ID_VALUE = r"(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9][A-Za-z0-9-]{2,}"
_ID_GLUE = r"[ ]?(?:[Nn]umber|NUMBER|[Nn]o\.|NO\.|#)?[ ]?[:#]?[ ]?#?"
_ID_LABELS = """MRN|Mrn|MR#|Medical Record|Medical record|MEDICAL RECORD|Accession|ACCESSION|Acc|
ACC|Account|ACCOUNT|Acct|ACCT|SSN|Social Security|SOCIAL SECURITY|Serial|SERIAL|ID|Patient ID|
PATIENT ID|Device ID|DEVICE ID|Device Serial|Device serial|Order|ORDER|Encounter|ENCOUNTER|Visit|
VISIT|FIN|CSN|Health Plan|HEALTH PLAN|License|LICENSE|Member ID|Policy|POLICY""".replace("\n", "")
# A short value after a location/contact/device keyword is an identifier even when it is too
# short for LONGID: "bed 14A", "Rm 6W", "ext. 4614", "beeper #6058", "(job 602599)",
# "serial no. jnp731817z", "lot #20H2532", "plate 7KGT820", "License: MD.0367003".
_ID_KEYWORDS = (
    """bed room rm beeper pager pgr ext extension job workstation station uid license
lic plate serial sn s/n lot badge npi acct account order visit encounter policy paged
specimen""".split()
    + [
        "unit no",
        "member id",
        "insurance id",
        "plan id",
        "device id",
    ]
)
_ID_VALUE_AFTER_RE = re.compile(
    r"(?:[ ]?(?:no|number|num))?\.?[ ]?[:#]?[ ]?[#(]{0,2}"
    r"(?P<v>(?<=plate )[a-z0-9]{2,4}[ ][a-z0-9]{2,4}(?![a-z0-9.-])|(?:(?<=license: )[a-z]{2}[ ](?=[0-9]))?(?=[a-z0-9.-]*[0-9])[a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]|(?<=bed )[a-z](?![a-z0-9]))"
)
# Login names: "Workstation user: mgarcia2", "Verified by srao on ...".
_USER_KEYWORDS = [
    "user",
    "verified by",
    "login",
    "username",
    "printed by",
    "submitted by",
    "entered by",
    "created by",
    "uploaded by",
    "exported by",
    "-----reply-----",
]
_USER_AFTER_RE = re.compile(r"[ ]?:?[ ](?P<v>[a-z][a-z0-9._-]+)(?![a-z0-9])")
# A one-letter bed ends its phrase: "micu bed a.", "ed bed d\n", "bed c, at 7:35".
_BED_LETTER_END_RE = re.compile(r"[ ]*(?:[,.;)]|\n|$)")
# A unit after a long number makes it a measurement ("12000 units", "1500 mg"); the unit must
# end there, so a hospital acronym on the next line ("5590569\nMGH") does not count.
_UNIT_AFTER_RE = re.compile(r"(?:mm|cm|ml|mgy|msv|hu|kg|g|cc|mcg|mg|units?)(?![a-z])|%")


# CMS Medicare Beneficiary Identifier: 11 characters, C A AN N A AN N A A N N (letters without
# S L O I B Z), plain or written 1EG4-TE5-MK72.
_MBI_LETTER = "[AC-HJKMNP-RT-Y]"
_MBI_REST = (
    f"{_MBI_LETTER}[AC-HJKMNP-RT-Y0-9][0-9]-?{_MBI_LETTER}[AC-HJKMNP-RT-Y0-9][0-9]-?"
    f"{_MBI_LETTER}{{2}}[0-9]{{2}}(?![A-Za-z0-9])"
)
# Vehicle identification number (ISO 3779): 17 characters without I, O, Q.
_VIN_REST = "[A-HJ-NPR-Z0-9]{16}(?![A-Za-z0-9])"


def _vin(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """A 17-character VIN has digits and letters both (not a run of one of them)."""
    value = match.group()
    digits = sum(c.isdigit() for c in value)
    return Span(match.start(), match.end(), "ID") if 1 <= digits <= 15 else None


def _id_type(label: str) -> str:
    if "mrn" in label or "medical record" in label or "mr#" in label:
        return "MRN"
    if "acc" in label and "account" not in label and "acct" not in label:
        return "ACCESSION"
    if "ssn" in label or "social" in label:
        return "SSN"
    return "ID"


def _long_id(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """5+ digits, widened over letters and "-#" glued before it; not a measurement."""
    start, end = match.span()
    after = text[end : end + 8].lstrip(" ").lower()
    if _UNIT_AFTER_RE.match(after):
        return None  # a measurement ("12000 units"); "5590569\nMGH" stays an identifier
    while start and (text[start - 1].isalnum() or text[start - 1] in "-#"):
        start -= 1
    if text.startswith("XXXX", start):
        return None
    window = text[max(0, start - 24) : start].lower()
    return Span(start, end, _id_type(window))


_ID_VALUE_END_RE = re.compile(_ID_VALUE + "$")


def _labelled_id(_deid: Any, text: str, match: re.Match[str]) -> Span:
    """The value after an ID label; the label ("MRN", "Acc #") names the type and stays."""
    start, end = match.span()
    value = _ID_VALUE_END_RE.search(match.group())
    label = text[start : start + value.start()].lower()  # type: ignore[union-attr]
    return Span(start + value.start(), end, _id_type(label))  # type: ignore[union-attr]


RECOGNIZERS = [
    # DICOM UIDs "1.2.840.113619...." and "ddd-dd-dd" record numbers (not dates, not SSNs)
    Recognizer(
        "dicom_uid",
        "ID",
        "digit",
        r"[0-9]*(?:\.[0-9]+){4,}",
        order=20,
        example="1.2.840.113619.2.55",
    ),
    Recognizer(
        "record_number",
        "ID",
        "digit",
        r"[0-9]{2}-[0-9]{2}-[0-9]{2}(?![0-9-])",
        order=30,
        example="123-45-67",
    ),
    Recognizer(
        "ssn_spaced",
        "SSN",
        "digit",
        r"[0-9]{2}[ ][0-9]{2}[ ][0-9]{4}(?![0-9])",
        order=41,
        example="SSN: 589 94 4917",
    ),
    Recognizer(
        "ssn",
        "SSN",
        "digit",
        r"[0-9]{2}-[0-9]{2}-[0-9]{4}(?![0-9])",
        order=40,
        example="123-45-6789",
    ),
    # 5+ digits, also glued to letters ("E1234567"); not the decimals of "0.12345".
    Recognizer(
        "long_id",
        "ID",
        "digit_anywhere",
        r"(?<![0-9.,][0-9])[0-9]{4,}(?:[-/][0-9A-Za-z]+)*",
        order=20,
        validate=_long_id,
        example="E1234567",
    ),
    # extensions written "x8694", "(X9607)"
    Recognizer(
        "extension",
        "ID",
        "digit_anywhere",
        r"(?<=[^A-Za-z0-9][xX][0-9])[0-9]{2,5}(?![0-9])",
        order=30,
        example="(x8694)",
    ),
    # extensions written "x8-4133" (a dialling prefix, then the line)
    Recognizer(
        "extension_dashed",
        "ID",
        "digit_anywhere",
        r"(?<=[^A-Za-z0-9][xX][0-9])-[0-9]{3,5}(?![0-9])",
        order=35,
        example="call x8-4133",
    ),
    # record numbers written in digit pairs: "mrn 95 37 67 38", "UNIT NO: 00 82 28 60 22"
    Recognizer(
        "paired_digits",
        "ID",
        "digit",
        r"[0-9](?:[ ][0-9]{2}){3,6}(?![0-9]|[ ]?(?:mm|cm|ml|mg|%))",
        order=45,
        example="mrn 95 37 67 38",
    ),
    Recognizer("mbi", "ID", "digit", _MBI_REST, order=46, example="MBI: 1EG4-TE5-MK72"),
    Recognizer(
        "vin_digit",
        "ID",
        "digit",
        _VIN_REST,
        order=47,
        validate=_vin,
        example="VIN 2L6J7SWUP2561YFM0",
    ),
    # the last four digits of a masked SSN: "xxx-xx-6598", "***-**-1234"
    Recognizer(
        "ssn_masked",
        "SSN",
        "digit_anywhere",
        r"(?<=[xX*]{3}-[xX*]{2}-[0-9])[0-9]{3}(?![0-9])",
        order=40,
        example="xxx-xx-6598",
    ),
    Recognizer(
        "vin_capital",
        "ID",
        "capital",
        _VIN_REST,
        order=15,
        validate=_vin,
        example="VIN T91F9HE170PC3R7NL",
    ),
    Recognizer(
        "id_label",
        "ID",
        "capital",
        _trie(_ID_LABELS.split("|")) + _ID_GLUE + _ID_VALUE,
        order=20,
        validate=_labelled_id,
        example="MRN: 12345678",
    ),
]
