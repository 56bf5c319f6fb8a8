"""Findings / impression out of full report text: header variants, addenda, failure reasons."""

from __future__ import annotations

import pytest

from radllama.sections import SPLIT_REASONS, header_kind, split_sections

FULL = """EXAM: CT CHEST W/O CONTRAST
CLINICAL HISTORY: Cough.
TECHNIQUE: Axial images.
COMPARISON: None.
FINDINGS:
There is a 6 mm nodule in the right upper lobe.
No pleural effusion.
IMPRESSION:
1. 6 mm right upper lobe nodule.
2. No effusion.
Electronically signed by: Dr. Jane Smith on 01/02/2023
"""


def test_full_report_sections_and_signature_removed():
    s = split_sections(FULL)
    assert s.exam == "CT CHEST W/O CONTRAST"
    assert s.findings == "There is a 6 mm nodule in the right upper lobe.\nNo pleural effusion."
    assert s.impression == "1. 6 mm right upper lobe nodule.\n2. No effusion."
    assert s.addendum == "" and s.reason is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("FINDINGS", "findings"),
        ("Findings", "findings"),
        ("FINDNGS", "findings"),
        ("FINDING", "findings"),
        ("IMPRESSON", "impression"),
        ("Impression", "impression"),
        ("CONCLUSION", "impression"),
        ("IMPRESSION/RECOMMENDATION", "impression"),
        ("IMPRESSION AND RECOMMENDATIONS", "impression"),
        ("FINDINGS AND IMPRESSION", "combined"),
        ("FINDINGS/IMPRESSION", "combined"),
        ("CLINICAL HISTORY", "history"),
        ("INDICATION", "history"),
        ("EXAMINATION", "exam"),
        ("ADDENDUM", "addendum"),
    ],
)
def test_header_names_normalised(name, kind):
    assert header_kind(name) == kind


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("CONCLUSION:", "Normal."),
        ("IMPRESSION/RECOMMENDATION:", "Normal."),
        ("IMPRESSON:", "Normal."),
    ],
)
def test_impression_header_variants(header, body):
    s = split_sections(f"FINDNGS: Lungs clear.\n{header} {body}")
    assert (s.findings, s.impression, s.reason) == ("Lungs clear.", body, None)


def test_addendum_kept_apart_from_impression():
    text = (
        "FINDINGS: Lungs clear.\nIMPRESSION: Normal.\nADDENDUM:\nIMPRESSION: revised, called Dr. X."
    )
    s = split_sections(text)
    assert s.impression == "Normal."
    assert s.addendum == "IMPRESSION: revised, called Dr. X."


def test_addendum_header_without_colon():
    s = split_sections("FINDINGS: a b c\nIMPRESSION: Normal.\n*** ADDENDUM ***\nLate note.")
    assert (s.impression, s.addendum) == ("Normal.", "Late note.")


def test_flattened_one_line_report():
    s = split_sections("EXAM: XR CHEST FINDINGS: Lungs are clear. IMPRESSION: Normal chest.")
    assert (s.exam, s.findings, s.impression) == ("XR CHEST", "Lungs are clear.", "Normal chest.")


def test_lower_case_word_inside_text_is_not_a_header():
    s = split_sections("FINDINGS: My impression: none given here.\nIMPRESSION: Normal.")
    assert s.findings == "My impression: none given here."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty_text"),
        ("   \n ", "empty_text"),
        ("Lungs are clear. Normal study.", "no_headers"),
        ("FINDINGS AND IMPRESSION: Lungs clear. Normal.", "combined_findings_impression"),
        ("FINDINGS: Lungs clear.", "no_impression_header"),
        ("IMPRESSION: Normal.", "no_findings_header"),
    ],
)
def test_reason_when_report_cannot_be_split(text, reason):
    s = split_sections(text)
    assert s.reason == reason and reason in SPLIT_REASONS


def test_combined_section_text_becomes_findings_with_empty_impression():
    s = split_sections("EXAM: XR CHEST\nFINDINGS AND IMPRESSION: Lungs clear. Normal.")
    assert (s.findings, s.impression) == ("Lungs clear. Normal.", "")


def test_unknown_header_raises():
    with pytest.raises(ValueError):
        header_kind("PATIENT NAME")
