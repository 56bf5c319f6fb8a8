"""Exam codes and the modality / body-region mapping (used by synth, prepare and reports).

`EXAM_CODES` is the exam vocabulary of the synthetic MGH-like corpus; `modality_and_region`
maps any exam code or free-text exam description to (modality, body region), so that a
hospital's own codes get labels too ("Xray Chest PA and Lateral" -> ("XR", "chest")).

>>> modality_and_region("CTCHWO")
('CT', 'chest')
>>> modality_and_region("Xray Chest PA and Lateral")
('XR', 'chest')
>>> modality_and_region("lab value")
('unknown', 'unknown')
"""

from __future__ import annotations

import re

MODALITIES = ("CT", "MR", "XR", "FL", "US")
BODY_REGIONS = (
    "chest",
    "abdomen_pelvis",
    "head",
    "spine",
    "cardiac",
    "upper_limb",
    "lower_limb",
    "breast",
)
UNKNOWN = "unknown"

# (code, description, modality, body region, site, relative frequency). `site` narrows the
# anatomy (limb joint, spine segment C/T/L, special protocols); frequencies roughly follow a
# hospital mix (chest radiographs dominate).
# fmt: off
EXAMS: tuple[tuple[str, str, str, str, str | None, int], ...] = (
    ("XRCH2V", "XR CHEST PA AND LATERAL", "XR", "chest", None, 14),
    ("XRCHPORT", "XR CHEST 1 VIEW PORTABLE", "XR", "chest", None, 8),
    ("CTCHWO", "CT CHEST W/O CONTRAST", "CT", "chest", None, 5),
    ("CTCHW", "CT CHEST W/ CONTRAST", "CT", "chest", None, 4),
    ("CTAPE", "CTA CHEST PE PROTOCOL", "CT", "chest", "pe", 3),
    ("CTLDCS", "CT CHEST LOW DOSE LUNG CANCER SCREENING", "CT", "chest", None, 2),
    ("MRCHWWO", "MR CHEST W/WO CONTRAST", "MR", "chest", None, 1),
    ("USCHPL", "US CHEST PLEURAL SPACE", "US", "chest", "pleural", 1),
    ("FLESO", "FL ESOPHAGRAM", "FL", "chest", "esophagus", 1),
    ("CTAPW", "CT ABDOMEN AND PELVIS W/ CONTRAST", "CT", "abdomen_pelvis", None, 7),
    ("CTAPWO", "CT ABDOMEN AND PELVIS W/O CONTRAST", "CT", "abdomen_pelvis", None, 3),
    ("CTAPSTN", "CT ABDOMEN AND PELVIS RENAL STONE PROTOCOL", "CT", "abdomen_pelvis", None, 2),
    ("MRABDWWO", "MR ABDOMEN W/WO CONTRAST", "MR", "abdomen_pelvis", None, 2),
    ("MRCP", "MR MRCP W/O CONTRAST", "MR", "abdomen_pelvis", None, 1),
    ("MRPELWWO", "MR PELVIS W/WO CONTRAST", "MR", "abdomen_pelvis", None, 1),
    ("USABDC", "US ABDOMEN COMPLETE", "US", "abdomen_pelvis", None, 3),
    ("USRUQ", "US ABDOMEN RIGHT UPPER QUADRANT", "US", "abdomen_pelvis", None, 3),
    ("USRENAL", "US RETROPERITONEAL RENAL", "US", "abdomen_pelvis", None, 2),
    ("XRABD1V", "XR ABDOMEN 1 VIEW", "XR", "abdomen_pelvis", None, 2),
    ("XRKUB", "XR KUB", "XR", "abdomen_pelvis", None, 1),
    ("FLUGI", "FL UPPER GI SERIES", "FL", "abdomen_pelvis", "ugi", 1),
    ("FLSBFT", "FL SMALL BOWEL FOLLOW THROUGH", "FL", "abdomen_pelvis", "sbft", 1),
    ("FLBE", "FL BARIUM ENEMA", "FL", "abdomen_pelvis", "colon", 1),
    ("CTHDWO", "CT HEAD W/O CONTRAST", "CT", "head", None, 6),
    ("CTHDWWO", "CT HEAD W/WO CONTRAST", "CT", "head", None, 1),
    ("CTAHDNK", "CTA HEAD AND NECK", "CT", "head", "vessels", 2),
    ("MRBRWO", "MR BRAIN W/O CONTRAST", "MR", "head", None, 2),
    ("MRBRWWO", "MR BRAIN W/WO CONTRAST", "MR", "head", None, 3),
    ("MRAHD", "MRA HEAD W/O CONTRAST", "MR", "head", "vessels", 1),
    ("USHDNEO", "US HEAD NEONATAL", "US", "head", None, 1),
    ("XRSKULL", "XR SKULL 2 VIEWS", "XR", "head", None, 1),
    ("CTCSWO", "CT CERVICAL SPINE W/O CONTRAST", "CT", "spine", "C", 3),
    ("CTLSWO", "CT LUMBAR SPINE W/O CONTRAST", "CT", "spine", "L", 1),
    ("MRCSWO", "MR CERVICAL SPINE W/O CONTRAST", "MR", "spine", "C", 2),
    ("MRTSWO", "MR THORACIC SPINE W/O CONTRAST", "MR", "spine", "T", 1),
    ("MRLSWO", "MR LUMBAR SPINE W/O CONTRAST", "MR", "spine", "L", 3),
    ("XRCS", "XR CERVICAL SPINE 2-3 VIEWS", "XR", "spine", "C", 2),
    ("XRTS", "XR THORACIC SPINE 2 VIEWS", "XR", "spine", "T", 1),
    ("XRLS", "XR LUMBAR SPINE 2-3 VIEWS", "XR", "spine", "L", 2),
    ("FLLP", "FL LUMBAR PUNCTURE", "FL", "spine", "L", 1),
    ("FLMYEL", "FL LUMBAR MYELOGRAM", "FL", "spine", "L", 1),
    ("CTCACS", "CT CARDIAC CALCIUM SCORING", "CT", "cardiac", "calcium", 1),
    ("CTACOR", "CTA CORONARY ARTERIES", "CT", "cardiac", "coronary", 1),
    ("MRCARDWWO", "MR CARDIAC W/WO CONTRAST", "MR", "cardiac", None, 1),
    ("USECHOTT", "US ECHOCARDIOGRAM TRANSTHORACIC", "US", "cardiac", None, 3),
    ("FLCATH", "FL CARDIAC CATHETERIZATION", "FL", "cardiac", "cath", 1),
    ("XRSHLD", "XR SHOULDER 2+ VIEWS", "XR", "upper_limb", "shoulder", 2),
    ("XRELB", "XR ELBOW 3 VIEWS", "XR", "upper_limb", "elbow", 1),
    ("XRWRI", "XR WRIST 3+ VIEWS", "XR", "upper_limb", "wrist", 2),
    ("XRHAND", "XR HAND 3+ VIEWS", "XR", "upper_limb", "hand", 2),
    ("MRSHLDWO", "MR SHOULDER W/O CONTRAST", "MR", "upper_limb", "shoulder", 1),
    ("CTWRIWO", "CT WRIST W/O CONTRAST", "CT", "upper_limb", "wrist", 1),
    ("USUEVEN", "US UPPER EXTREMITY VENOUS DUPLEX", "US", "upper_limb", "veins", 1),
    ("FLSHLDAR", "FL SHOULDER ARTHROGRAM", "FL", "upper_limb", "shoulder", 1),
    ("XRHIP", "XR HIP 2+ VIEWS", "XR", "lower_limb", "hip", 2),
    ("XRKNEE", "XR KNEE 3 VIEWS", "XR", "lower_limb", "knee", 3),
    ("XRANK", "XR ANKLE 3+ VIEWS", "XR", "lower_limb", "ankle", 2),
    ("XRFOOT", "XR FOOT 3+ VIEWS", "XR", "lower_limb", "foot", 2),
    ("MRKNEEWO", "MR KNEE W/O CONTRAST", "MR", "lower_limb", "knee", 2),
    ("CTANKWO", "CT ANKLE W/O CONTRAST", "CT", "lower_limb", "ankle", 1),
    ("USLEVEN", "US LOWER EXTREMITY VENOUS DUPLEX", "US", "lower_limb", "veins", 3),
    ("USPOPL", "US POPLITEAL FOSSA", "US", "lower_limb", "knee", 1),
    ("FLHIPAR", "FL HIP ARTHROGRAM", "FL", "lower_limb", "hip", 1),
    ("USBRST", "US BREAST LIMITED", "US", "breast", None, 2),
    ("MRBRSTWWO", "MR BREAST BILATERAL W/WO CONTRAST", "MR", "breast", None, 1),
)
# fmt: on
EXAM_CODES: dict[str, tuple[str, str, str]] = {
    code: (description, modality, region) for code, description, modality, region, _, _ in EXAMS
}
"""Exam code -> (description, modality, body region)."""

_BY_DESCRIPTION = {description: (m, r) for description, m, r in EXAM_CODES.values()}

# Free-text cues, checked in order (first hit wins). Bare "US"/"FL" are only trusted in
# upper case: in free text "us" is a pronoun. Spine precedes chest ("thoracic spine").
_MODALITY_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("CT", re.compile(r"\b(?:CTA?|CAT SCAN|COMPUTED TOMOGRAPH\w*)\b", re.I)),
    ("MR", re.compile(r"\b(?:MRI|MRA|MRCP|MR|MAGNETIC RESONANCE)\b", re.I)),
    ("FL", re.compile(r"\bFL\b")),
    (
        "FL",
        re.compile(
            r"\b(?:FLUORO\w*|ESOPHAGRAM|BARIUM|UPPER GI|SMALL BOWEL FOLLOW|ARTHROGRAM|"
            r"MYELOGRA\w*|SWALLOW|LUMBAR PUNCTURE|CATHETERIZATION)\b",
            re.I,
        ),
    ),
    ("US", re.compile(r"\bUS\b")),
    ("US", re.compile(r"\b(?:ULTRASOUND|SONO\w*|DOPPLER|DUPLEX|ECHO\w*|TTE|TEE)\b", re.I)),
    (
        "XR",
        re.compile(
            r"\b(?:XR|X-?RAYS?|XRAYS?|RADIOGRAPH\w*|CXR|KUB|PA|AP|FRONTAL|PORTABLE|"
            r"\d\s*V(?:IEWS?)?|(?:ONE|TWO|THREE|FOUR)\s+(?:\(\d\)\s+)?VIEWS?|VIEWS?|LAT(?:ERAL)?)\b",
            re.I,
        ),
    ),
)
_REGION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "spine",
        re.compile(
            r"\b(?:SPINE|[CTL]-SPINE|CERVICAL|LUMBAR|THORACIC SPINE|SACRUM|COCCYX|MYELOGRA\w*)\b",
            re.I,
        ),
    ),
    ("breast", re.compile(r"\b(?:BREASTS?|MAMMO\w*)\b", re.I)),
    (
        "cardiac",
        re.compile(r"\b(?:CARDIAC|CORONARY|HEART|ECHO\w*|CALCIUM SCOR\w*)\b", re.I),
    ),
    (
        "head",
        re.compile(r"\b(?:HEAD|BRAIN|SKULL|INTRACRANIAL|ORBITS?|SINUS\w*|FACIAL|NECK)\b", re.I),
    ),
    (
        "upper_limb",
        re.compile(
            r"\b(?:SHOULDERS?|ELBOWS?|WRISTS?|HANDS?|FINGERS?|THUMB|HUMERUS|FOREARM|CLAVICLE|"
            r"SCAPULA|UPPER EXTREMIT\w*|ARM)\b",
            re.I,
        ),
    ),
    (
        "lower_limb",
        re.compile(
            r"\b(?:HIPS?|KNEES?|ANKLES?|FOOT|FEET|TOES?|FEMUR|TIBIA|FIBULA|LEG|CALCANEUS|"
            r"LOWER EXTREMIT\w*|POPLITEAL)\b",
            re.I,
        ),
    ),
    (
        "chest",
        re.compile(
            r"\b(?:CHEST|LUNGS?|THORAX|THORACIC|RIBS?|PE PROTOCOL|ESOPHAGRAM|PLEURAL|PULMONARY|CXR)\b",
            re.I,
        ),
    ),
    (
        "abdomen_pelvis",
        re.compile(
            r"\b(?:ABD\w*|PELVI[SC]|LIVER|RENAL|KIDNEYS?|RUQ|RLQ|[A-Z]+ QUADRANT|KUB|UPPER GI|BOWEL|ENEMA|"
            r"RETROPERITONEAL|MRCP|GALLBLADDER|BLADDER|APPENDIX|ENTEROGRAPHY|COLON)\b",
            re.I,
        ),
    ),
)


def _first_cue(text: str, cues: tuple[tuple[str, re.Pattern[str]], ...]) -> str:
    for label, pattern in cues:
        if pattern.search(text):
            return label
    return UNKNOWN


def modality_and_region(exam: str | None) -> tuple[str, str]:
    """(modality, body region) of an exam code or free-text exam description.

    Known codes and descriptions are looked up exactly; anything else goes through keyword
    cues ("Xray Chest PA and Lateral" -> ("XR", "chest")). Either part is "unknown" when the
    text does not tell (e.g. "PA and lateral views." -> ("XR", "unknown")).
    """
    if not exam:
        return UNKNOWN, UNKNOWN
    text = exam.strip()
    key = text.upper()
    if key in EXAM_CODES:
        return EXAM_CODES[key][1], EXAM_CODES[key][2]
    if key in _BY_DESCRIPTION:
        return _BY_DESCRIPTION[key]
    return _first_cue(text, _MODALITY_CUES), _first_cue(text, _REGION_CUES)
