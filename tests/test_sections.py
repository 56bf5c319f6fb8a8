"""Findings / impression out of full report text: header variants, addenda, failure reasons."""

from __future__ import annotations

import pytest

from radllama.data.sections import SPLIT_REASONS, header_kind, split_sections

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
        ("FINDINGS AND IMPRESSION: Lungs clear.\nNormal.", "combined_findings_impression"),
        ("FINDINGS: Lungs clear.", "no_impression_header"),
        ("IMPRESSION: Normal.", "no_findings_header"),
    ],
)
def test_reason_when_report_cannot_be_split(text, reason):
    s = split_sections(text)
    assert s.reason == reason and reason in SPLIT_REASONS


def test_one_paragraph_combined_section_becomes_findings_with_empty_impression():
    s = split_sections("EXAM: XR CHEST\nFINDINGS AND IMPRESSION: Lungs clear. Normal.")
    assert (s.findings, s.impression) == ("Lungs clear. Normal.", "")


def test_unknown_header_raises():
    with pytest.raises(ValueError):
        header_kind("PATIENT NAME")


def test_signature_ends_the_impression_in_flattened_text_too():
    s = split_sections("FINDINGS: Lungs clear. IMPRESSION: Normal. Electronically signed by Dr. A")
    assert s.impression == "Normal."


@pytest.mark.parametrize("name", ["FINDIGS", "FINIDNGS", "Findngs"])
def test_misspelt_findings_by_edit_distance(name):
    s = split_sections(f"{name}: Lungs clear.\nIMPRESSIN: Normal.")
    assert (s.findings, s.impression, s.reason) == ("Lungs clear.", "Normal.", None)


def test_title_case_sub_headings_inside_findings_are_content():
    text = (
        "PROCEDURE: FL HIP ARTHROGRAM\nFINDINGS:\nJoint: No leak.\nProcedure: Needle placed.\n"
        "History: none.\nIMPRESSION: Successful arthrogram."
    )
    s = split_sections(text)
    assert s.exam == "FL HIP ARTHROGRAM"
    assert s.findings == "Joint: No leak.\nProcedure: Needle placed.\nHistory: none."
    assert s.impression == "Successful arthrogram."


@pytest.mark.parametrize(
    "trailer",
    [
        "Dictated by: J.K.  Transcribed: 12/16/2013",
        "RFJ/dictated 2016-06-11 23:09:50",
        "Questions? Call 617 229 8903",
        "Fax results to 212-363-7029",
        "I have personally reviewed the images and agree with the findings. A. B, MD",
        "PACS: https://pacs.example.edu (node 10.0.0.1)",
    ],
)
def test_trailer_lines_end_the_impression_and_the_addendum(trailer):
    s = split_sections(f"FINDINGS: a.\nIMPRESSION: Normal.\n{trailer}\nReading room: 555")
    assert s.impression == "Normal."
    s = split_sections(f"FINDINGS: a.\nIMPRESSION: Normal.\nADDENDUM: Late.\n{trailer}")
    assert (s.impression, s.addendum) == ("Normal.", "Late.")


def test_combined_section_split_at_its_last_paragraph():
    s = split_sections("FINDINGS AND IMPRESSION:\nLungs clear.\nNo effusion.\n\nNormal chest.")
    assert (s.findings, s.impression, s.reason, s.from_combined) == (
        "Lungs clear.\nNo effusion.",
        "Normal chest.",
        None,
        True,
    )


def test_agrees_with_the_synthetic_corpus_ground_truth():
    """Every section boundary the generator planted (incl. misspelt and combined headers,
    addenda and trailers) is recovered exactly, up to white space."""
    from radllama.synth.corpus import iter_reports

    def squash(text: str) -> str:
        return " ".join(text.split())

    checked = 0
    for row, record in iter_reports(600, seed=11):
        text = row["report_text"]
        s = split_sections(text)
        if record["defect"] in ("missing_findings", "missing_impression", "empty_row"):
            assert s.reason is not None
            continue
        truth = {k: squash(text[v[0] : v[1]]) if v else "" for k, v in record["sections"].items()}
        mine = {"findings": squash(s.findings), "impression": squash(s.impression)}
        mine["addendum"] = squash(s.addendum)
        assert mine == truth, text
        checked += 1
    assert checked > 500
