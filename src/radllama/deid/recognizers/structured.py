"""Structured layouts: HL7 v2 segments, DICOM tag dumps and caret-separated person names.

The fields that carry identifiers are fixed by the standards, so these rules read the layout
instead of guessing from the words:

- **HL7 v2** (Ch. 2-7): the PHI fields of MSH, PID, NK1, PV1, IN1, ORC and OBR (patient and
  provider names XPN/XCN ``LAST^FIRST^MIDDLE``, identifiers CX ``123^^^FAC^MR``, addresses XAD,
  phones XTN, timestamps, facilities). The report text in OBX-5 / NTE-3 is left to the prose
  rules.
- **DICOM** PS3.5 / PS3.15: in a ``(0010,0010) PN [NGUYEN^VAN^AN]  # PatientName`` dump line the
  value is PHI when its value representation is a person name, date, time or UID, or when its
  keyword is one of the Basic Application Level Confidentiality Profile's identifiers
  (`_DICOM_PHI_KEYWORDS`); a PatientAge ``AS`` value only over 89 (``092Y``).
- **Caret names** anywhere (``Ref: UMANETS^BOHODAR``, ``Ó COILÍN^NORA``): two or more capitalised
  components joined by ``^`` are a DICOM/HL7 person name unless a component is clinical.

Everything here is behind substring checks (``"|"``, ``"^"``, ``"# "``): prose pays nothing.
"""

from __future__ import annotations

import re

from radllama.deid.lexicons import CLINICAL_SET
from radllama.deid.recognizers.dates import STAMP_RE
from radllama.deid.recognizers.patterns import _UP
from radllama.deid.spans import Span

# (segment, HL7 field number) -> (type, last component kept as PHI). Field numbers as in the
# standard (MSH-4 is the sending facility; MSH-1 is the field separator itself).
_HL7_FIELDS: dict[tuple[str, int], tuple[str, int]] = {
    ("MSH", 4): ("HOSPITAL", 1),
    ("MSH", 7): ("DATE", 1),
    ("MSH", 10): ("ID", 1),
    ("PID", 2): ("ID", 4),
    ("PID", 3): ("ID", 4),  # CX: id^check^scheme^AUTHORITY^TYPE (the authority is a facility)
    ("PID", 4): ("ID", 4),
    ("PID", 5): ("NAME", 5),  # XPN: family^given^middle^suffix^prefix^degree
    ("PID", 6): ("NAME", 5),  # mother's maiden name
    ("PID", 7): ("DATE", 1),
    ("PID", 9): ("NAME", 5),  # alias
    ("PID", 11): ("ADDRESS", 5),  # XAD: street^other^city^state^zip^country
    ("PID", 13): ("PHONE", 9),
    ("PID", 14): ("PHONE", 9),
    ("PID", 18): ("ID", 4),
    ("PID", 19): ("ID", 1),  # SSN
    ("PID", 20): ("ID", 2),  # driver's licence
    ("PID", 21): ("ID", 4),
    ("NK1", 2): ("NAME", 5),
    ("NK1", 4): ("ADDRESS", 5),
    ("NK1", 5): ("PHONE", 9),
    ("NK1", 6): ("PHONE", 9),
    ("PV1", 3): ("HOSPITAL", 4),  # PL: point^room^bed^FACILITY (only the facility is PHI)
    ("PV1", 7): ("NAME", 6),  # XCN: id^family^given^middle^suffix^prefix^degree
    ("PV1", 8): ("NAME", 6),
    ("PV1", 9): ("NAME", 6),
    ("PV1", 17): ("NAME", 6),
    ("PV1", 19): ("ID", 4),
    ("PV1", 44): ("DATE", 1),
    ("PV1", 45): ("DATE", 1),
    ("IN1", 3): ("ID", 4),
    ("IN1", 8): ("ID", 1),  # group number
    ("IN1", 16): ("NAME", 5),  # name of insured
    ("IN1", 19): ("ADDRESS", 5),
    ("IN1", 36): ("ID", 1),  # policy number
    ("IN1", 49): ("ID", 4),
    ("ORC", 2): ("ID", 4),
    ("ORC", 3): ("ID", 4),
    ("ORC", 9): ("DATE", 1),
    ("ORC", 10): ("NAME", 6),
    ("ORC", 12): ("NAME", 6),
    ("OBR", 2): ("ID", 4),
    ("OBR", 3): ("ID", 4),
    ("OBR", 6): ("DATE", 1),
    ("OBR", 7): ("DATE", 1),
    ("OBR", 8): ("DATE", 1),
    ("OBR", 14): ("DATE", 1),
    ("OBR", 16): ("NAME", 6),
    ("OBR", 18): ("ID", 1),
    ("OBR", 19): ("ID", 1),
    ("OBR", 22): ("DATE", 1),
    ("OBR", 28): ("NAME", 6),
    ("OBR", 32): ("NAME", 6),  # NDL: name&subcomponents (&ID&FAMILY&GIVEN&...)
    ("OBR", 33): ("NAME", 6),
    ("OBR", 34): ("NAME", 6),
    ("OBR", 35): ("NAME", 6),
}
_HL7_SEGMENTS = frozenset(segment for segment, _ in _HL7_FIELDS)
_HL7_LINE_RE = re.compile(r"(?m)^(?P<seg>MSH|PID|NK1|PV1|IN1|ORC|OBR)\|[^\n]*")
_HL7_PIECE_RE = re.compile(r"[^|^~&\n]+|[\^~&]")
# PL component 4 and CX component 4 carry a facility: the CX authority becomes a HOSPITAL.
_HL7_CX_AUTHORITY = frozenset({("PID", 3), ("PID", 18), ("PID", 21)})

_DICOM_LINE_RE = re.compile(
    r"(?m)^\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)[ ](?P<vr>[A-Z]{2})[ ]\[(?P<v>[^\]\n]*)\][ \t]*"
    r"(?:#[ ]*(?P<kw>[A-Za-z]+))?"
)
_DICOM_PHI_VRS = {"PN": "NAME", "DA": "DATE", "TM": "TIME", "DT": "DATE", "UI": "ID"}
# PS3.15 Table E.1-1 (Basic Application Level Confidentiality Profile) attributes that hold
# identifiers, by keyword; the type is what the value is.
_DICOM_PHI_KEYWORDS = {
    "AccessionNumber": "ID",
    "PatientID": "ID",
    "OtherPatientIDs": "ID",
    "IssuerOfPatientID": "HOSPITAL",
    "InstitutionName": "HOSPITAL",
    "InstitutionAddress": "ADDRESS",
    "InstitutionalDepartmentName": "HOSPITAL",
    "PatientAddress": "ADDRESS",
    "ReferringPhysicianAddress": "ADDRESS",
    "PatientTelephoneNumbers": "PHONE",
    "ReferringPhysicianTelephoneNumbers": "PHONE",
    "DeviceSerialNumber": "ID",
    "StudyID": "ID",
    "RequestedProcedureID": "ID",
    "PerformedProcedureStepID": "ID",
    "MedicalRecordLocator": "ID",
    "OtherPatientNames": "NAME",
    "PatientBirthName": "NAME",
    "PatientMotherBirthName": "NAME",
    "MilitaryRank": "NAME",
}
_CARET_NAME_RE = re.compile(
    rf"(?<![\w^&])(?P<n>[{_UP}][{_UP}'’.-]*(?:[ ][{_UP}][{_UP}'’.-]*){{0,3}}"
    rf"(?:\^[{_UP}][{_UP}'’.-]*(?:[ ][{_UP}][{_UP}'’.-]*){{0,3}})"
    rf"(?:\^[{_UP}'’. -]*){{0,4}})(?![\w^])"
)
_AGE_VALUE_RE = re.compile(r"0*(?P<n>[0-9]{1,3})Y")
# A table under a header line of column names ("TIME  PATIENT   MRN   AGE SEX EXAM  ORDERING"):
# each row's value under a PHI column is PHI (RIS worklists, schedules, PACS study lists).
_TABLE_HEADER_RE = re.compile(
    r"(?m)^(?P<h>[A-Z][A-Z/#.]*(?:[ ][A-Z/#.]+)?(?:[ ]{1,}[A-Z][A-Z/#.]*(?:[ ][A-Z/#.]+)?){2,})[ ]*$"
)
_TABLE_COLUMN_RE = re.compile(r"[A-Z][A-Z/#.]*")
_TABLE_COLUMNS = {
    "TIME": "TIME",
    "PATIENT": "NAME",
    "NAME": "NAME",
    "MRN": "ID",
    "ACC": "ID",
    "ACCESSION": "ID",
    "ID": "ID",
    "DOB": "DATE",
    "DATE": "DATE",
    "AGE": "AGE",
    "ORDERING": "NAME",
    "REFERRING": "NAME",
    "PHYSICIAN": "NAME",
    "RADIOLOGIST": "NAME",
    "TECH": "NAME",
    "TECHNOLOGIST": "NAME",
    "PROVIDER": "NAME",
    "READER": "NAME",
    "ATTENDING": "NAME",
    "PHONE": "PHONE",
}


class StructuredRules:
    """Mixin of `Deidentifier`: the HL7, DICOM and caret-name rules."""

    def _structured(self, text: str, found: list[Span]) -> None:
        if "|" in text and ("MSH|" in text or "PID|" in text):
            _hl7(text, found)
        if ") " in text and "# " in text and "\n(" in text:
            _dicom(text, found)
        if "  " in text:
            _header_table(text, found)
        if "/" in text and " (" in text:
            for m in STAMP_RE.finditer(text):  # "ADDENDUM (09/11 1644):"
                found.append(Span(m.start("d"), m.end("d"), "DATE"))
                found.append(Span(m.start("t"), m.end("t"), "TIME"))
        if "^" in text:
            for m in _CARET_NAME_RE.finditer(text):
                value = m.group("n").rstrip("^ ")
                parts = [p for p in value.split("^")[:2] if p]
                if len(parts) < 2 or sum(len(p) > 1 for p in parts) < 2:
                    continue  # "FL ESOPHAGRAM^L", "ORU^R01" (a digit: no match)
                if any(w.lower() in CLINICAL_SET for p in parts for w in p.split()):
                    continue  # "CT^CHEST": a coded exam, not a person
                found.append(Span(m.start("n"), m.start("n") + len(value), "NAME"))


def _hl7(text: str, found: list[Span]) -> None:
    for line in _HL7_LINE_RE.finditer(text):
        segment = line.group("seg")
        start = line.start()
        # field n of MSH is split index n-1 (MSH-1 is the "|" itself); of others, index n
        shift = 1 if segment == "MSH" else 0
        position = start + len(segment) + 1
        number = 1 + shift
        for value in line.group()[len(segment) + 1 :].split("|"):
            rule = _HL7_FIELDS.get((segment, number))
            if rule is not None and value:
                _hl7_field(
                    text, position, value, rule, (segment, number) in _HL7_CX_AUTHORITY, found
                )
            position += len(value) + 1
            number += 1


def _hl7_field(
    text: str, position: int, value: str, rule: tuple[str, int], cx: bool, found: list[Span]
) -> None:
    """Redact the components 1..`last` of every repetition of one field (sub-components of a
    component count with it: ``&MOISIO&KATARIINA`` in OBR-32)."""
    kind, last = rule
    component = 1
    for piece in _HL7_PIECE_RE.finditer(value):
        token = piece.group()
        if token == "^":
            component += 1
            continue
        if token == "~":
            component = 1
            continue
        if token == "&":
            continue
        if kind == "HOSPITAL" and last == 4 and component != 4:
            continue  # PV1-3: point of care, room, bed are not PHI; the facility is
        if component > last:
            continue  # type codes ("MR"), degrees ("MD"), countries ("USA")
        piece_kind = "HOSPITAL" if cx and component == 4 else kind
        found.append(Span(position + piece.start(), position + piece.end(), piece_kind))


def _dicom(text: str, found: list[Span]) -> None:
    for m in _DICOM_LINE_RE.finditer(text):
        value = m.group("v").strip()
        if not value:
            continue
        vr, keyword = m.group("vr"), m.group("kw") or ""
        kind = _DICOM_PHI_VRS.get(vr) or _DICOM_PHI_KEYWORDS.get(keyword)
        if vr == "AS" or keyword == "PatientAge":
            age = _AGE_VALUE_RE.fullmatch(value)
            kind = "AGE" if age is not None and 89 < int(age.group("n")) < 130 else None
        if kind is None:
            continue
        start = m.start("v") + (len(m.group("v")) - len(m.group("v").lstrip()))
        found.append(Span(start, start + len(value), kind))


def _header_table(text: str, found: list[Span]) -> None:
    for header in _TABLE_HEADER_RE.finditer(text):
        columns = [(m.start(), m.group()) for m in _TABLE_COLUMN_RE.finditer(header["h"])]
        if sum(name in _TABLE_COLUMNS for _, name in columns) < 2 or "  " not in header["h"]:
            continue  # a sentence in capitals, not a table header
        position = header.end() + 1
        while position < len(text):
            line_end = text.find("\n", position)
            line_end = len(text) if line_end < 0 else line_end
            if line_end == position:
                break  # a blank line ends the table
            for i, (offset, name) in enumerate(columns):
                kind = _TABLE_COLUMNS.get(name)
                if kind is None:
                    continue
                start = position + offset
                stop = position + columns[i + 1][0] if i + 1 < len(columns) else line_end
                stop = min(stop, line_end)
                # a value may run up to the next column's start; snap to word edges
                while start < stop and text[start] == " ":
                    start += 1
                while start > position and text[start - 1] not in " ":
                    start -= 1
                value = text[start:stop].rstrip()
                if not value:
                    continue
                if kind == "AGE":
                    digits = value.split()[0]
                    if not (digits.isdigit() and 89 < int(digits) < 130):
                        continue
                    value = digits
                found.append(Span(start, start + len(value), kind))
            position = line_end + 1
