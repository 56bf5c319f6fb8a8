"""Ages over 89 in the forms real reports write them (issue 19: the broad holdout's AGE was
0.9693). Hand-written from format descriptions (dictation shorthand, EHR header labels, DICOM AS,
word-processor hyphens, OCR slips), none copied from the broad set; and the clinical numbers
next to them that must stay."""

from __future__ import annotations

import pytest

from radllama.deid.engine import Deidentifier

DEID = Deidentifier()


def redacted(text: str) -> str:
    return DEID.redact(text).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # header labels without the blank, with "=" or " - ", with the unit in brackets
        ("AGE:101   SEX: F", "AGE:[AGE]   SEX: F"),
        ("Age:95", "Age:[AGE]"),
        ("Age=95", "Age=[AGE]"),
        ("Age - 95", "Age - [AGE]"),
        ("Age (years): 96", "Age (years): [AGE]"),
        ("She fell at age 97.", "She fell at age [AGE]."),
        # dictation shorthand with the sex glued on
        ("95yoF with cough.", "[AGE] with cough."),
        ("95yF with cough.", "[AGE] with cough."),
        ("95 yom with cough.", "[AGE] with cough."),
        ("95yof with cough.", "[AGE] with cough."),
        ("95 y.o.f. with cough.", "[AGE] with cough."),
        ("F, 92, with cough.", "F, [AGE], with cough."),
        # spelled out, by decade, or by a word that says it
        ("A hundred-year-old man.", "A [AGE]-year-old man."),
        ("Woman in her nineties with a fall.", "Woman in her [AGE] with a fall."),
        ("Woman in her mid-90s with a fall.", "Woman in her mid-[AGE] with a fall."),
        ("A nonagenarian with a fall.", "A [AGE] with a fall."),
        # word-processor hyphens, the letter O for a zero
        ("A 92\u2011year\u2011old woman.", "A [AGE] woman."),
        ("A 92\u2013year\u2013old woman.", "A [AGE] woman."),
        ("HISTORY: 9O-year-old female.", "HISTORY: [AGE] female."),
        ("AGE: 9O   SEX: F", "AGE: [AGE]   SEX: F"),
        # a bare age right after a name
        ("Pavlov, Moisey, 93, CT LIVER.", "[NAME], [AGE], CT LIVER."),
        ("Pavlov, Moisey, 34, CT LIVER.", "[NAME], 34, CT LIVER."),  # under 90: kept
        ("Seen by Dr. Smith, 95 mg given.", "Seen by Dr. [NAME], 95 mg given."),  # a dose
        ("Mrs. Okafor, 101, presents with pain.", "Mrs. [NAME], [AGE], presents with pain."),
    ],
)
def test_ages_over_89(text, expected):
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Woman in her 80s with a fall.",  # under 90: not an identifier
        "Mid-80s woman.",
        "Temperature 98 F.",  # temperatures, not an age with a sex letter
        "Tmax 101 F overnight.",
        "Fever of 102F.",
        "Given 90 mg of aspirin.",
        "95% saturation on room air.",
        "T11 compression fracture.",
        "Series 92 image 95.",
        "Lesion 91 x 95 mm.",
        "Flexion to 90 degrees.",
        "95th percentile.",
        "Ventricles are age appropriate.",
        "HR 95 bpm, BP 95/60.",
        "Nodule measures 92 mm.",
    ],
)
def test_clinical_numbers_are_kept(text):
    assert redacted(text) == text
