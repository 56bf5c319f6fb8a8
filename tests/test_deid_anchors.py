"""Rules added for the misses on the large independent PHI set (issue 12, second pass): each
kind on short hand-written text (names invented here, not taken from the set), with the
clinical or common look-alike that must survive next to it."""

from __future__ import annotations

import pytest

from radllama.deid.engine import Deidentifier

D = Deidentifier()


def redact(text: str) -> str:
    return D.redact(text).text


# -- a name before a phrase that follows a person ("was informed", "(mrn", ", dob") ----------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nadia van Dam was informed of the result.", "[NAME] was informed of the result."),
        (
            "the referring clinician, tomas reyes, was informed at 9:00.",
            "the referring clinician, [NAME], was informed at [TIME].",
        ),
        (
            "Addendum: referring physician Tomas Reyes notified of the change.",
            "Addendum: referring physician [NAME] notified of the change.",
        ),
        ("patient maria q. lindgren (mrn 4411223) was seen", "patient [NAME] (mrn [ID]) was seen"),
        ("FOR KOFI DE BOER, DOB 3/4/1950:", "FOR [NAME], DOB [DATE]:"),
        ("x\nDE BOER, WILL MRN 5450314\nCT head", "x\n[NAME] MRN [ID]\nCT head"),
        (
            "read given to nadia graves (beeper 4411) at 9:00",
            "read given to [NAME] (beeper [ID]) at [TIME]",
        ),
        ("Transcriptionist: Nadia Stone (job 4411)", "Transcriptionist: [NAME] (job [ID])"),
        ("Pt: Lindgren, Maria A | DOB 3/4/1950", "Pt: [NAME] | DOB [DATE]"),
    ],
)
def test_name_before_anchor(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The case manager was notified.",
        "The patient's family was informed.",
        "The covering team was notified by phone.",
        "Her daughter was informed.",
        "Mild Stone (job pending).",
    ],
)
def test_no_name_before_anchor_in_prose(text):
    assert redact(text) == text


def test_a_sentence_end_stops_the_walk_back():
    assert redact("Dr. Smith agreed. MRN is pending.") == "Dr. [NAME] agreed. MRN is pending."


def test_lower_case_role_phrase_before_anchor_is_kept():
    text = "the charge nurse was notified. no acute findings. stable. follow-up advised."
    assert redact(text) == text


# -- typist initials on their own line -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No acute findings.\nkz/rp", "No acute findings.\n[NAME]/[NAME]"),
        ("No acute findings.\nap/bk", "No acute findings.\n[NAME]/[NAME]"),
        ("NO ACUTE FINDINGS.\nMD/ML", "NO ACUTE FINDINGS.\n[NAME]/[NAME]"),
        ("No acute findings.\nGR/KÓ", "No acute findings.\n[NAME]/[NAME]"),
        ("CHEST 2 VIEWS\nAP/LAT", "CHEST 2 VIEWS\nAP/LAT"),
        ("chest\npa/lat", "chest\npa/lat"),
    ],
)
def test_typist_lines(text, expected):
    assert redact(text) == expected


# -- numbers and dates ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssn: xxx-xx-4417 on file", "ssn: xxx-xx-[ID] on file"),
        (
            "ACKNOWLEDGED BY NADIA OKAFOR (X4417) AT 6:24 PM.",
            "ACKNOWLEDGED BY [NAME] (X[ID]) AT [TIME].",
        ),
        ("Dr. Nadia Okafor was paged (#2208) at 9:00.", "Dr. [NAME] was paged (#[ID]) at [TIME]."),
        ("Wet read (14:30, 3/3): stable.", "Wet read ([TIME], [DATE]): stable."),
        ("Wet read (2:38pm, 11/17): stable.", "Wet read ([TIME], [DATE]): stable."),
        (
            "COMPARED WITH CT CHEST FROM 6/23 AND 2019.",
            "COMPARED WITH CT CHEST FROM [DATE] AND 2019.",
        ),
        ("female, telemetry bed c\nxr chest", "female, telemetry bed [ID]\nxr chest"),
        (
            "OKAFOR, NADIA   28-NOV-1911   5590569\nMGH   2019",
            "[NAME]   [DATE]   [ID]\n[HOSPITAL]   2019",
        ),
        ("Reading site: MGH | 12 Elm Road", "Reading site: [HOSPITAL] | [ADDRESS]"),
        ("READING SITE: MGH | 12 ELM ROAD", "READING SITE: [HOSPITAL] | [ADDRESS]"),
    ],
)
def test_numbers_and_dates(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Nodule measuring 12 mm, 3/4 of its prior size.",
        "He was in bed a few days after the fall.",
        "Heparin 12000 units given.",
    ],
)
def test_number_look_alikes_are_kept(text):
    assert redact(text) == text


# -- names in layouts and after cues ----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a name alone on the line above a line that starts with a date signs the report
        ("No change.\nnadia okafor\n3/4/2019 9:51 pm", "No change.\n[NAME]\n[DATE] [TIME]"),
        ("No change.\nMay Lindgren\nDec 10, 2009 11:08", "No change.\n[NAME]\n[DATE] [TIME]"),
        ("No change.\nQing Ng\n10/14/2015", "No change.\n[NAME]\n[DATE]"),
        # a given name that is no word, then an eponym surname, before a closing date
        ("Sterling Paget Feb 8, 2004.\nXR pelvis", "[NAME] [DATE].\nXR pelvis"),
        # "Last, First" columns whose surname is a word
        ("REPORT\nSTONE, NADIA (333-83-44)\n", "REPORT\n[NAME] ([ID])\n"),
        ("x.\nDAY, NADIA   29 May 1928   E9559321\n", "x.\n[NAME]   [DATE]   [ID]\n"),
        # a lower-case name at a line start before an age; a Titlecase one before "87yo"
        (
            "nadia okafor, 94 year old woman, ed bed 4\nxr chest: clear.",
            "[NAME], [AGE] woman, ed bed [ID]\nxr chest: clear.",
        ),
        ("Nadia Okafor, 87yo F, bed 4\nCHEST: clear.", "[NAME], 87yo F, bed [ID]\nCHEST: clear."),
        # after "system to" / "routed to" the surname or the given name may be a word
        (
            "sent via the results system to STONE, NADIA at 9:00.",
            "sent via the results system to [NAME] at [TIME].",
        ),
        ("Report routed to Ng, Nadia (nng@x.org).", "Report routed to [NAME] ([EMAIL])."),
        ("REPORT ROUTED TO BLACK, NADIA (NB@X.ORG).", "REPORT ROUTED TO [NAME] ([EMAIL])."),
        # a given name that is a word, alone after a cue
        ("d/w April at 09:43.", "d/w [NAME] at [TIME]."),
        ("D/W TAMMY AT 22:52.", "D/W [NAME] AT [TIME]."),
        # labels with a slash, particles before a name found by its credential
        ("RESIDENT/FELLOW: van Dam, Nadia, MD\n", "RESIDENT/FELLOW: [NAME], MD\n"),
        # an acronym-shaped surname
        ("CASE REVIEWED WITH OH, MEI ON 3/4/2019.", "CASE REVIEWED WITH [NAME] ON [DATE]."),
        # an initial and a capitalised surname that is a word
        (
            "PRELIMINARY REPORT BY W. STONE; FINAL BY H. LEE.",
            "PRELIMINARY REPORT BY [NAME]; FINAL BY [NAME].",
        ),
        ("ADDITIONAL HISTORY FROM J. RAMÍREZ: NONE.", "ADDITIONAL HISTORY FROM [NAME]: NONE."),
        # lower-case doctors
        ("tumor board with drs. okafor and lindgren.", "tumor board with drs. [NAME] and [NAME]."),
        ("board with drs. okafor and lo bianco.", "board with drs. [NAME] and [NAME]."),
        ("board with drs. okafor and the fellows.", "board with drs. [NAME] and the fellows."),
        ("Notified Dr stone via chat.", "Notified Dr [NAME] via chat."),
        ("reviewed with dr. a. r. mackenzie at 6:44.", "reviewed with dr. [NAME] at [TIME]."),
        ("reviewed with dr. wei ng at 6:44.", "reviewed with dr. [NAME] at [TIME]."),
        ("dictated by: summers, douglas md\n", "dictated by: [NAME] md\n"),
        ("cc: nadia ng, md", "cc: [NAME], md"),
        ("interpreted by: j. d. foley, md\n", "interpreted by: [NAME], md\n"),
        ("signed: nadia a. van der berg, m.d., 3/4/2019", "signed: [NAME], m.d., [DATE]"),
        ("okafor, nadia m.d.\nradiologist", "[NAME] m.d.\nradiologist"),
        # "a.m." does not end the sentence that holds the verb ("conveyed ... to Last, First")
        (
            "Results conveyed at 2:57 a.m. to Cooper, Donald.",
            "Results conveyed at [TIME] to [NAME].",
        ),
        # a possessive ends the name
        ("RESULTS PHONED TO DR. OKAFOR'S OFFICE.", "RESULTS PHONED TO DR. [NAME]'S OFFICE."),
        # "I discussed these results with" is a cue; capitals and hyphen + apostrophe
        (
            "I discussed these results with Aoife Murphy by phone.",
            "I discussed these results with [NAME] by phone.",
        ),
        ("DR. PIET O'BRIEN-CASTILLO WAS PAGED.", "DR. [NAME] WAS PAGED."),
    ],
)
def test_names(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "TERMINAL ILEAL WALL THICKENING WITH COMB SIGN, COMPATIBLE WITH CROHN DISEASE.",
        "CYSTIC LESION OF THE LEFT KIDNEY WITH THIN SEPTATIONS, BOSNIAK IIF.",
        "REPORT: TERMINAL ILEAL WALL THICKENING WITH COMB SIGN, COMPATIBLE WITH CROHN DISEASE.",
        "POSTERIOR FOSSA CYST WITH VERMIAN HYPOPLASIA.",
        "Left lower lobe\n3/4/2019 follow-up advised.".split("\n")[0],
        "Findings consistent with Graves disease.",
        "Wilms tumor, Hodgkin lymphoma and Paget disease were considered.",
        "Follow-up in April.",
        "Culture grew E. coli; no abscess.",
        "CLINICAL: RESIDENT OF A REHABILITATION FACILITY, WITH ALZHEIMER DEMENTIA, FALL.",
    ],
)
def test_clinical_look_alikes_are_kept(text):
    assert redact(text) == text


def test_clinical_line_above_a_date_line_is_kept():
    text = "Left lower lobe\n3/4/2019 comparison.\nElectronically signed\n3/5/2019"
    assert redact(text) == "Left lower lobe\n[DATE] comparison.\nElectronically signed\n[DATE]"


# -- second round, from the misses on a fresh-seed set -----------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a given name that is no word, then a surname that is one, behind a real cue
        ("reviewed with dr. kavya stone at 9:00.", "reviewed with dr. [NAME] at [TIME]."),
        ("Reviewed with Dr. Kavya Stone at 9:00.", "Reviewed with Dr. [NAME] at [TIME]."),
        ("removed per technologist Eleanor Day.", "removed per technologist [NAME]."),
        ("removed per technologist femke hodgkin.", "removed per technologist [NAME]."),
        ("Reviewed by Will Day, MD on 3/4/2019.", "Reviewed by [NAME], MD on [DATE]."),
        ("dictated by: rao, june md\n", "dictated by: [NAME] md\n"),
        # given names that are words, in capitals, before a surname
        ("REPORTED BY DR. WILL NWOSU.", "REPORTED BY DR. [NAME]."),
        ("RESIDENT: WILL WILMS, MD", "RESIDENT: [NAME], MD"),
        ("REPORT\nFOLEY, MAY (E1681592)\n", "REPORT\n[NAME] ([ID])\n"),
        # a line-start name with an eponym surname before an age
        (
            "Eoin Paget, 77-year-old female, bed 4\nCHEST: clear.",
            "[NAME], 77-year-old female, bed [ID]\nCHEST: clear.",
        ),
        # hospital acronyms before PACS
        ("Images pushed to SVH PACS at 9:00.", "Images pushed to [HOSPITAL] PACS at [TIME]."),
        (
            "images pushed to rrmc pacs at 9:00. no acute findings. stable.",
            "images pushed to [HOSPITAL] pacs at [TIME]. no acute findings. stable.",
        ),
        # "-- last, first" closing a header line; a non-ASCII typist; initial + surname at the end
        ("final report -- rossi, marco\nxr chest", "final report -- [NAME]\nxr chest"),
        ("Transcribed by: gó\nD: 3/4/2019", "Transcribed by: [NAME]\nD: [DATE]"),
        (
            "preliminary report by j. okafor; final by i. wiśniewski.",
            "preliminary report by [NAME]; final by [NAME].",
        ),
    ],
)
def test_names_in_sign_offs_capitals_and_lower_case(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Obstructing stone at the UVJ with mild hydronephrosis.",
        "THE PATIENT WILL REQUIRE FOLLOW-UP. FINDINGS MAY REPRESENT ATELECTASIS.",
        "Colitis caused by E. coli.",
        "pneumonia caused by s. aureus.",
        "Kidney Stone 2019.",
        "ALZHEIMER DEMENTIA -- pre op evaluation",
    ],
)
def test_look_alikes_beside_sign_offs_are_kept(text):
    assert redact(text) == text


# -- third round, from the misses of fresh draw B (its score is no longer "unseen") -------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No change.\nmark parkinson\n05/31/2007 3:45 am", "No change.\n[NAME]\n[DATE] [TIME]"),
        ("Nadia Stone 12/21/04.\nMRI brain", "[NAME] [DATE].\nMRI brain"),
        ("Nadia Stone\n12 Spring Ave.\n", "[NAME]\n[ADDRESS]\n"),
        ("REPORT\nDAY, ART (4131380)\n", "REPORT\n[NAME] ([ID])\n"),
        ("Report routed to Okafor, April (ao@x.org).", "Report routed to [NAME] ([EMAIL])."),
        ("REVIEWED WITH DR. RANIA NG AT 4:48 PM.", "REVIEWED WITH DR. [NAME] AT [TIME]."),
        (
            "report given to a. khoury at 5:26 pm; read back.",
            "report given to [NAME] at [TIME]; read back.",
        ),
        (
            "acknowledged by june okafor (x38085) at 9:26 pm.",
            "acknowledged by [NAME] ([ID]) at [TIME].",
        ),
        (
            "WITH THE PATIENT'S SON, JUNE POPOVIC, AT HOME.",
            "WITH THE PATIENT'S SON, [NAME], AT HOME.",
        ),
        ("Pathology (specimen S17-490) showed", "Pathology (specimen [ID]) showed"),
        (
            "lives at 4696 washington way, newport.\nct chest",
            "lives at [ADDRESS], [CITY].\nct chest",
        ),
    ],
)
def test_names_on_their_own_line_in_headers_and_contacts(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Baker cyst\n05/31/2007 follow-up.",
        "a 3 way catheter was placed.",
        "Two specimens were sent.",
        "Foley catheter (x2) in place.",
    ],
)
def test_look_alikes_beside_header_names_are_kept(text):
    assert redact(text) == text.replace("05/31/2007", "[DATE]")


def test_saint_city_after_a_street_with_a_suite():
    text = "Lives alone at 8782 Jefferson Road, Suite 603, St. Louis.\nComparison: none."
    assert "Louis" not in redact(text) and redact(text).endswith("\nComparison: none.")
