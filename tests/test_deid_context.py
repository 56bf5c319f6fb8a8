"""Context rules of the de-identifier added for issue 12 (layout, gazetteer, lower-case
reports), each on hand-written text, with the clinical look-alikes that must survive."""

from __future__ import annotations

import pytest

from radllama.deid.engine import Deidentifier
from radllama.deid.us_cities import US_CITIES

D = Deidentifier()


def redact(text: str) -> str:
    return D.redact(text).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a name-shaped header column next to a date / an ID, any case
        ("3/4/2019  nadia okafor  acc 7731942\n", "[DATE]  [NAME]  acc [ID]\n"),
        ("okafor, nadia   04-mar-1950   8812345\n", "[NAME]   [DATE]   [ID]\n"),
        ("okafor, nadia (8812345)\n", "[NAME] ([ID])\n"),
        # sign-off initials before a closing date; a modality is not initials
        ("Size revised to 8 mm. KQ 3/4/2019\n", "Size revised to 8 mm. [NAME] [DATE]\n"),
        ("Stable since prior study. CT 3/4/2019\n", "Stable since prior study. CT [DATE]\n"),
        # a line-start name before a closing date; a given name lets an eponym surname through
        ("Nadia Okafor 4 March 2019.\nCHEST: clear.", "[NAME] [DATE].\nCHEST: clear."),
        ("Karen Paget 4 March 2019.\nCHEST: clear.", "[NAME] [DATE].\nCHEST: clear."),
        # the name line above a street line
        ("Nadia Okafor\n12 Lilac Road\n", "[NAME]\n[ADDRESS]\n"),
        # an age in parentheses after a name
        ("Pt: Okafor, Nadia (97), ward 4\n", "Pt: [NAME] ([AGE]), ward 4\n"),
    ],
)
def test_layout(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("films from Lakeside Clinic in boise dated 2019.", "films from [HOSPITAL] dated 2019."),
        ("(outside, boise, idaho)", "(outside, [CITY], idaho)"),
        (
            "images from mercy (boise, id) were reviewed",
            "images from mercy ([CITY], id) were reviewed",
        ),
        (
            "review (Mercy Clinic, St. Louis, MO; dated 2019)",
            "review ([HOSPITAL], [CITY], MO; dated 2019)",
        ),
        ("lives at PO Box 12, Boise.\n", "lives at [ADDRESS], [CITY].\n"),
        ("lives at 12 elm tree lane, apt 4b, boise.\n", "lives at [ADDRESS], [CITY].\n"),
        ("po box 4411\n", "[ADDRESS]\n"),
        ("Images from Our Lady of Hope Hospital.", "Images from [HOSPITAL]."),
        ("performed at: kvh\n", "performed at: [HOSPITAL]\n"),
    ],
)
def test_places(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Referring: Dr. Hill\n", "Referring: Dr. [NAME]\n"),
        ("notified dr hill at 9:00.", "notified dr [NAME] at [TIME]."),
        ("reviewed by nadia hill, md on friday", "reviewed by [NAME], md on friday"),
        (
            "history obtained from K. OKAFOR: prior surgery",
            "history obtained from [NAME]: prior surgery",
        ),
        ("dictated by: hill, nadia md\n", "dictated by: [NAME] md\n"),
        ("NAME: NG, NADIA  MRN: 8812345\n", "NAME: [NAME]  MRN: [ID]\n"),
        ("Attending: Nadia Day, MD\n", "Attending: [NAME], MD\n"),
        (
            "report routed to Paget, Nadia and to the clinic",
            "report routed to [NAME] and to the clinic",
        ),
    ],
)
def test_names_in_context(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Findings compatible with Graves disease. Paget disease of the pelvis. Baker cyst.",
        "MARKED THINNING, COMPATIBLE WITH GRAVES DISEASE.",
        "Parkinson disease. NG tube tip in the stomach. ng tube removed.",
        "The fragment is mobile, or it may be fixed.",
        "Diffuse idiopathic skeletal hyperostosis (DISH).",
        "3 small nodes in the left lower lobe, stable.",
        "PRE OP EVALUATION -- pre op for colostomy takedown",
        "No change, md follow-up as needed.",
    ],
)
def test_clinical_text_survives(text):
    assert redact(text) == text


def test_gazetteer_is_lower_case_city_names():
    assert len(US_CITIES) > 400
    assert all(name == name.lower().strip() and name for name in US_CITIES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 555-0100 with questions. K. van Dam", "Call [PHONE] with questions. [NAME]"),
        ("\n-- nadia graves, pgr 4411", "\n-- [NAME], pgr [ID]"),
        ("Notified Dr hill at 9:00.", "Notified Dr [NAME] at [TIME]."),
        ("d/w nadia at 9:00.", "d/w [NAME] at [TIME]."),
    ],
)
def test_signoffs(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("read by k. okafor; final by staff.", "read by [NAME]; final by staff."),
        ("injected by k. okafor at 9:00.", "injected by [NAME] at [TIME]."),
        ("call 555-0100 with questions. k. van dam", "call [PHONE] with questions. [NAME]"),
        ("transcriptionist: nadia paget (job 4411)", "transcriptionist: [NAME] (job [ID])"),
    ],
)
def test_lower_case_signoffs(text, expected):
    assert redact(text) == expected
