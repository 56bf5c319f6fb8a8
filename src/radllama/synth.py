"""Synthetic MGH-like radiology report corpus: the embedded default dataset.

The paper's reports are private, so `radllama synth` writes an export that looks like a
hospital archive (`CSV_COLUMNS`), with ground truth that the later stages are checked against:

- ``FILE.csv``: one report per row; ``report_text`` is a whole report with headers
  (EXAM / CLINICAL HISTORY / TECHNIQUE / COMPARISON / FINDINGS / IMPRESSION and their
  variants: "FINDINGS AND IMPRESSION", "CONCLUSION", "IMPRESSION/RECOMMENDATION", rare
  misspellings, addenda, numbered impressions, signatures).
- ``FILE.phi.jsonl``: one line per report (same order) with the exact character spans of every
  planted identifier (``spans``: start/end/type/text, types in `PHI_TYPES`), the clinical terms
  that de-identification must keep (``keep``), where the findings/impression/addendum bodies
  are (``sections``) and under which header (``headers``), the abnormal observations behind
  the impression (``labels``, most important first), and the planted ``defect`` (or null).
- ``FILE.synth.json``: the config and the exact number of planted defects of each kind.

Clinical content is built from per-region observations: an abnormal observation renders one
FINDINGS sentence and one IMPRESSION item from the same slot values (side, size, level...),
and impression items are ordered by severity, so findings -> impression is learnable.
Normal studies get a normal impression for their region ("No acute intracranial abnormality.").

Speed: templates are compiled once at import; a report is a list of string pieces with a
running offset, so spans cost nothing to track. Chunks of `SynthConfig.chunk_size` reports
are seeded by (seed, chunk index) and rendered in worker processes; output bytes depend only
on the seed and the config, never on the number of workers.

>>> modality_and_region("CTCHWO")
('CT', 'chest')
>>> modality_and_region("Xray Chest PA and Lateral")
('XR', 'chest')
>>> modality_and_region("lab value")
('unknown', 'unknown')
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, model_validator

from radllama.config import StrictModel
from radllama.deid import PHI_TYPES  # the identifier types planted here are the ones deid finds
from radllama.errors import ConfigError, DataError

CSV_COLUMNS = (
    "report_id",
    "patient_id",
    "exam_code",
    "exam_description",
    "report_date",
    "report_text",
)
DEFECT_KINDS = (
    "missing_findings",
    "missing_impression",
    "short_findings",
    "duplicate",
    "extra_whitespace",
    "empty_row",
)
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
KEEP = "KEEP"  # tag of a planted clinical term (not PHI) in the span tracker

# ---------------------------------------------------------------------------------------------
# Exam code vocabulary
# ---------------------------------------------------------------------------------------------

# (code, description, modality, body region, site, relative frequency). `site` narrows the
# anatomy (limb joint, spine segment C/T/L, special protocols); frequencies roughly follow a
# hospital mix (chest radiographs dominate).
# fmt: off
_EXAMS: tuple[tuple[str, str, str, str, str | None, int], ...] = (
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
    code: (description, modality, region) for code, description, modality, region, _, _ in _EXAMS
}
"""Exam code -> (description, modality, body region)."""

_EXAM_SITE = {code: site for code, _, _, _, site, _ in _EXAMS}
_EXAM_CUM_WEIGHTS: list[int] = []
for _exam in _EXAMS:
    _EXAM_CUM_WEIGHTS.append((_EXAM_CUM_WEIGHTS[-1] if _EXAM_CUM_WEIGHTS else 0) + _exam[5])
_EXAM_LIST = tuple(code for code, *_ in _EXAMS)
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


# ---------------------------------------------------------------------------------------------
# Templates: "{slot}" is filled per report, "[[term]]" is a clinical term to keep
# ---------------------------------------------------------------------------------------------

_TEMPLATE_RE = re.compile(r"\{(\w+)\}|\[\[(.+?)\]\]")
_TEXT, _KEEP_TERM, _SLOT = 0, 1, 2
Template = str | tuple[tuple[int, str, str], ...]  # (kind, text or slot, slot base)
SlotFn = Callable[[random.Random, "_Ctx"], tuple[str, str | None]]
_SLOTS: dict[str, SlotFn] = {}


def _compile(template: str) -> Template:
    """Split a template into (kind, value) parts once; a plain string stays a string.

    >>> _compile("A [[Baker cyst]] on the {Side}.")
    ((0, 'A ', ''), (1, 'Baker cyst', ''), (0, ' on the ', ''), (2, 'Side', 'side'), (0, '.', ''))
    """
    parts: list[tuple[int, str]] = []
    position = 0
    for match in _TEMPLATE_RE.finditer(template):
        if match.start() > position:
            parts.append((_TEXT, template[position : match.start()], ""))
        if match.group(1):
            slot = match.group(1)
            if _slot_base(slot) not in _SLOTS:
                raise KeyError(f"unknown template slot {{{slot}}} in {template!r}")
            parts.append((_SLOT, slot, _slot_base(slot)))
        else:
            parts.append((_KEEP_TERM, match.group(2), ""))
        position = match.end()
    if position < len(template):
        parts.append((_TEXT, template[position:], ""))
    if all(part[0] == _TEXT for part in parts):
        return template
    return tuple(parts)


def _randint(rng: random.Random, low: int, high: int) -> int:
    """Uniform integer in [low, high]; ~4x cheaper than `Random.randint` in the hot path."""
    return low + int(rng.random() * (high - low + 1))


def _slot_base(name: str) -> str:
    """Slot names with a capital first letter ("Side") reuse the lower-case slot, capitalised."""
    return name[0].lower() + name[1:]


def _variants(*templates: str) -> tuple[Template, ...]:
    return tuple(_compile(t) for t in templates)


def _slot(name: str) -> Callable[[SlotFn], SlotFn]:
    def register(fn: SlotFn) -> SlotFn:
        _SLOTS[name] = fn
        return fn

    return register


def _choice_slot(name: str, options: tuple[str, ...], tag: str | None = None) -> None:
    _SLOTS[name] = lambda rng, ctx: (options[int(rng.random() * len(options))], tag)


def _keep_number_slot(name: str, low: int, high: int, unit: str, tenths: bool = False) -> None:
    """A measurement slot ("8 mm", "2.4 cm"): measurements are kept by de-identification."""

    def fill(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
        value = _randint(rng, low, high)
        text = f"{value // 10}.{value % 10} {unit}" if tenths else f"{value} {unit}"
        return text, KEEP

    _SLOTS[name] = fill


_keep_number_slot("size_mm", 3, 28, "mm")
_keep_number_slot("size_cm", 11, 79, "cm", tenths=True)
_keep_number_slot("big_cm", 31, 89, "cm", tenths=True)
_keep_number_slot("shift_mm", 2, 11, "mm")
_keep_number_slot("et_cm", 20, 70, "cm", tenths=True)
_keep_number_slot("aorta_cm", 41, 56, "cm", tenths=True)
_keep_number_slot("aorta_normal", 26, 36, "cm", tenths=True)
_keep_number_slot("liver_cm", 131, 168, "cm", tenths=True)
_keep_number_slot("spleen_cm", 85, 122, "cm", tenths=True)
_keep_number_slot("spleen_big", 141, 199, "cm", tenths=True)
_keep_number_slot("kidney_cm", 95, 124, "cm", tenths=True)
_keep_number_slot("cbd_mm", 2, 6, "mm")
_keep_number_slot("bowel_cm", 31, 55, "cm", tenths=True)
_keep_number_slot("nipple_cm", 10, 90, "cm", tenths=True)
_keep_number_slot("stripe_mm", 3, 12, "mm")
_choice_slot("amount", ("small", "moderate", "large"))
_choice_slot("lobe", ("upper lobe", "lower lobe"))
_choice_slot("rib", ("fourth", "fifth", "sixth", "seventh", "eighth", "ninth"))
_choice_slot("hep_segment", ("II", "III", "IVa", "IVb", "V", "VI", "VII", "VIII"))
_choice_slot("quadrant", ("right lower quadrant", "left lower quadrant", "mid abdomen"))
_choice_slot("brain_lobe", ("frontal", "parietal", "temporal", "occipital"))
_choice_slot("head_artery", ("middle cerebral artery", "posterior communicating artery"))
_choice_slot("ue_vein", ("subclavian", "axillary", "brachial", "internal jugular"))
_choice_slot("le_vein", ("common femoral", "femoral", "popliteal", "posterior tibial"))
_choice_slot("coronary", ("proximal LAD", "mid LAD", "proximal circumflex", "mid RCA"))
_choice_slot("acuity", ("Acute", "Subacute", "Chronic-appearing"))
_choice_slot("valve", ("mitral", "tricuspid", "aortic"))
_SLOTS["pct"] = lambda rng, ctx: (str(_randint(rng, 20, 60)), None)
_SLOTS["stenosis_pct"] = lambda rng, ctx: (str(_randint(rng, 70, 95)), None)
_SLOTS["agatston"] = lambda rng, ctx: (str(_randint(rng, 11, 950)), None)
_SLOTS["ef_normal"] = lambda rng, ctx: (str(_randint(rng, 55, 70)), None)
_SLOTS["ef_low"] = lambda rng, ctx: (str(_randint(rng, 20, 40)), None)
_SLOTS["clock"] = lambda rng, ctx: (str(_randint(rng, 1, 12)), None)
_SLOTS["fl_minutes"] = lambda rng, ctx: (f"{_randint(rng, 3, 60) / 10:.1f}", None)
_SLOTS["transit_min"] = lambda rng, ctx: (str(_randint(rng, 4, 24) * 5), None)
_SLOTS["dlp"] = lambda rng, ctx: (str(_randint(rng, 80, 1400)), None)
_SLOTS["kerma"] = lambda rng, ctx: (str(_randint(rng, 5, 400)), None)
_SLOTS["gauge"] = lambda rng, ctx: (_pick(rng, ("20", "22", "25")), None)
_SLOTS["contrast_ml"] = lambda rng, ctx: (str(_randint(rng, 3, 20)), None)
_SLOTS["barium_ml"] = lambda rng, ctx: (str(_randint(rng, 10, 60) * 10), None)
_SLOTS["gad_ml"] = lambda rng, ctx: (str(_randint(rng, 5, 15)), None)

_SPINE_LEVELS = {
    "C": ("C3-4", "C4-5", "C5-6", "C6-7", "C5-C6", "C6-C7", "C7-T1"),
    "T": ("T6-7", "T7-8", "T8-9", "T10-11", "T11-T12", "T12-L1"),
    "L": ("L2-3", "L3-4", "L4-5", "L5-S1", "L3-L4", "L4-L5"),
}
_VERTEBRAE = {
    "C": ("C4", "C5", "C6", "C7"),
    "T": ("T7", "T8", "T11", "T12"),
    "L": ("L1", "L2", "L3", "T12"),
}
_LIMB_BONES = {
    "shoulder": (
        "proximal humerus",
        "surgical neck of the humerus",
        "clavicle",
        "greater tuberosity",
    ),
    "elbow": ("radial head", "olecranon", "distal humerus"),
    "wrist": ("distal radius", "scaphoid", "ulnar styloid"),
    "hand": ("fifth metacarpal", "fourth metacarpal", "proximal phalanx of the index finger"),
    "hip": ("femoral neck", "intertrochanteric femur", "superior pubic ramus"),
    "knee": ("tibial plateau", "patella", "fibular head", "distal femur"),
    "ankle": ("lateral malleolus", "medial malleolus", "distal fibula"),
    "foot": ("base of the fifth metatarsal", "calcaneus", "second metatarsal"),
}


@_slot("side")
def _side(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    # Limb exams have one side per report; elsewhere each observation draws its own.
    return (ctx.side or ("right" if rng.random() < 0.5 else "left")), None


@_slot("level")
def _level(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    return rng.choice(_SPINE_LEVELS[ctx.segment]), KEEP


@_slot("vertebra")
def _vertebra(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    return rng.choice(_VERTEBRAE[ctx.segment]), KEEP


@_slot("bone")
def _bone(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    return rng.choice(_LIMB_BONES.get(ctx.site or "", ("distal radius",))), None


@_slot("joint")
def _joint(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    return ctx.site if ctx.site in _LIMB_BONES else "knee", None


@_slot("part")
def _part(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    return ctx.part, None


# ---------------------------------------------------------------------------------------------
# PHI vocabulary: people, identifiers, dates; each slot returns (text, PHI type)
# ---------------------------------------------------------------------------------------------

# Surnames avoid the clinical eponyms that must survive de-identification (Baker, Graves,
# Foley, Crohn, Hodgkin, Morison...) so that the ground truth is unambiguous.
# fmt: off
_FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Margaret",
    "Anthony", "Sandra", "Mark", "Ashley", "Donald", "Emily", "Steven", "Donna", "Paul",
    "Michelle", "Andrew", "Carol", "Joshua", "Amanda", "Kenneth", "Melissa", "Kevin", "Deborah",
    "Brian", "Stephanie", "George", "Rebecca", "Timothy", "Laura", "Ronald", "Helen", "Jason",
    "Sharon", "Edward", "Cynthia", "Jeffrey", "Kathleen", "Ryan", "Amy", "Jacob", "Shirley",
    "Wei", "Priya", "Mohammed", "Fatima", "Hiroshi", "Yuki", "Carlos", "Lucia", "José", "Zoë",
    "Olga", "Dmitri", "Aisha", "Kwame", "Nguyen", "Mei", "Rahul", "Ingrid", "Sean", "Siobhan",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
    "Hill", "Flores", "Green", "Adams", "Nelson", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart",
    "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz",
    "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross",
    "O'Brien", "McCarthy", "Fitzgerald", "Sullivan", "Chen", "Wang", "Zhang", "Tanaka",
    "Yamamoto", "Kowalski", "Novak", "Müller", "Schmidt", "Rossi", "Ferrari", "Okafor",
    "Mensah", "Haddad", "Khan", "Singh", "Gupta", "Ivanov", "Petrov", "Larsen", "Hansen",
    "Van der Berg", "De la Cruz", "Smith-Jones", "Abernathy", "Whitfield", "Calloway",
)
_STREETS = (
    "Main", "Elm", "Maple", "Oak", "Cedar", "Washington", "Beacon", "Cambridge", "Harvard",
    "Park", "Pleasant", "Highland", "Prospect", "Lincoln", "Franklin", "Chestnut", "Walnut",
    "Spring", "Center", "Union", "Commonwealth", "Massachusetts", "Tremont", "Boylston",
)
_STREET_TYPES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Way", "Court")
_CITIES = (
    "Springfield", "Boston", "Cambridge", "Somerville", "Quincy", "Newton", "Salem", "Lowell",
    "Worcester", "Brookline", "Medford", "Waltham", "Framingham", "Revere", "Chelsea", "Lynn",
)
_STATES = ("MA", "NH", "RI", "CT", "ME", "VT", "NY")
_AREA_CODES = ("617", "781", "508", "978", "857", "603", "401", "212")
_DOMAINS = (
    "mgh-radiology.org", "partners.org", "example-hospital.org", "radiology.example.edu",
    "imaging-center.net",
)
# fmt: on
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MON = tuple(m[:3] for m in _MONTHS)
_FIRST_EXAM_DAY = date(2012, 1, 1).toordinal()
_LAST_EXAM_DAY = date(2023, 12, 31).toordinal()

_DATE_FORMATS: tuple[Callable[[date], str], ...] = (
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year}",
    lambda d: f"{d.year}-{d.month:02d}-{d.day:02d}",
    lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day:02d}-{_MON[d.month - 1]}-{d.year}",
    lambda d: f"{_MON[d.month - 1]} {d.day} {d.year}",
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
)
_TIME_FORMATS: tuple[Callable[[int, int], str], ...] = (
    lambda h, m: f"{h:02d}:{m:02d}",
    lambda h, m: f"{(h - 1) % 12 + 1}:{m:02d} {'AM' if h < 12 else 'PM'}",
    lambda h, m: f"{(h - 1) % 12 + 1}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}",
    lambda h, m: f"{(h - 1) % 12 + 1}:{m:02d}{'am' if h < 12 else 'pm'}",
    lambda h, m: f"{h:02d}:{m:02d}:{(h * 7 + m) % 60:02d}",
)
_PHONE_FORMATS: tuple[Callable[[str, str, str], str], ...] = (
    lambda a, b, c: f"({a}) {b}-{c}",
    lambda a, b, c: f"{a}-{b}-{c}",
    lambda a, b, c: f"{a}.{b}.{c}",
    lambda a, b, c: f"{a} {b} {c}",
    lambda a, b, c: f"+1 {a}-{b}-{c}",
)


def _pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    # int(random() * n) is ~3x faster than rng.choice and equally uniform for small n.
    return options[int(rng.random() * len(options))]


class _Person:
    __slots__ = ("first", "last", "middle")

    def __init__(self, rng: random.Random):
        self.first = _pick(rng, _FIRST_NAMES)
        self.last = _pick(rng, _LAST_NAMES)
        self.middle = "ABCDEFGHJKLMNPRSTW"[int(rng.random() * 18)]


class _Patient(_Person):
    """Identifiers that stay the same across a patient's reports."""

    __slots__ = ("patient_id", "mrn", "ssn", "dob", "street", "zip", "phone", "account", "sex")

    def __init__(self, rng: random.Random, patient_id: str):
        super().__init__(rng)
        self.patient_id = patient_id
        self.mrn = str(_randint(rng, 1000000, 99999999))
        self.ssn = (_randint(rng, 100, 899), _randint(rng, 10, 99), _randint(rng, 1000, 9999))
        self.dob = date.fromordinal(
            _randint(rng, date(1920, 1, 1).toordinal(), date(2005, 12, 31).toordinal())
        )
        number = _randint(rng, 1, 9999)
        apartment = f", Apt {_randint(rng, 1, 40)}" if rng.random() < 0.2 else ""
        self.street = (
            f"{number} {_pick(rng, _STREETS)} {_pick(rng, _STREET_TYPES)}{apartment}, "
            f"{_pick(rng, _CITIES)}"
        )
        self.zip = f"{_randint(rng, 1001, 99950):05d}" + (
            f"-{_randint(rng, 1000, 9999)}" if rng.random() < 0.2 else ""
        )
        self.phone = (
            _pick(rng, _AREA_CODES),
            str(_randint(rng, 200, 999)),
            f"{_randint(rng, 0, 9999):04d}",
        )
        self.account = str(_randint(rng, 10000000, 999999999))
        self.sex = "male" if rng.random() < 0.5 else "female"


class _Ctx:
    """Everything a report's templates may refer to."""

    __slots__ = ("pt", "rad", "ref", "exam_date", "prior_date", "minutes", "acc", "modality")
    __slots__ += ("region", "site", "segment", "side", "part", "age", "contrast")


def _person_slots(prefix: str, attr: str) -> None:
    """Register the surface forms of one person's name ("Jane Smith", "SMITH, JANE", "J.S."...)."""
    forms: dict[str, Callable[[_Person], str]] = {
        "name": lambda p: f"{p.first} {p.last}",
        "name_mi": lambda p: f"{p.first} {p.middle}. {p.last}",
        "last": lambda p: p.last,
        "last_lower": lambda p: p.last.lower(),
        "lf": lambda p: f"{p.last}, {p.first}",
        "lf_upper": lambda p: f"{p.last.upper()}, {p.first.upper()}",
        "initials": lambda p: f"{p.first[0]}.{p.last[0]}.",
        "initials_bare": lambda p: f"{p.first[0]}{p.middle}{p.last[0]}",
    }
    for form, render in forms.items():
        _SLOTS[f"{prefix}_{form}"] = lambda rng, ctx, render=render: (
            render(getattr(ctx, attr)),
            "NAME",
        )


for _prefix in ("pt", "rad", "ref"):
    _person_slots(_prefix, _prefix)


def _fmt_date(rng: random.Random, day: date) -> str:
    return _DATE_FORMATS[int(rng.random() * len(_DATE_FORMATS))](day)


def _fmt_time(rng: random.Random, minutes: int) -> str:
    hour, minute = divmod(minutes % 1440, 60)
    return _TIME_FORMATS[int(rng.random() * len(_TIME_FORMATS))](hour, minute)


def _fmt_phone(rng: random.Random, parts: tuple[str, str, str]) -> str:
    return _PHONE_FORMATS[int(rng.random() * len(_PHONE_FORMATS))](*parts)


def _random_phone(rng: random.Random) -> tuple[str, str, str]:
    return _pick(rng, _AREA_CODES), str(_randint(rng, 200, 999)), f"{_randint(rng, 0, 9999):04d}"


def _fmt_ssn(rng: random.Random, ssn: tuple[int, int, int]) -> str:
    a, b, c = ssn
    return f"{a}-{b}-{c}" if rng.random() < 0.7 else f"{a}{b}{c}"


_SLOTS["exam_date"] = lambda rng, ctx: (_fmt_date(rng, ctx.exam_date), "DATE")
_SLOTS["prior_date"] = lambda rng, ctx: (_fmt_date(rng, ctx.prior_date), "DATE")
_SLOTS["dob"] = lambda rng, ctx: (_fmt_date(rng, ctx.pt.dob), "DATE")
_SLOTS["time"] = lambda rng, ctx: (_fmt_time(rng, ctx.minutes), "TIME")
_SLOTS["later_time"] = lambda rng, ctx: (
    _fmt_time(rng, ctx.minutes + _randint(rng, 15, 180)),
    "TIME",
)
_SLOTS["mrn"] = lambda rng, ctx: (ctx.pt.mrn, "MRN")
_SLOTS["acc"] = lambda rng, ctx: (ctx.acc, "ACCESSION")
_SLOTS["ssn"] = lambda rng, ctx: (_fmt_ssn(rng, ctx.pt.ssn), "SSN")
_SLOTS["account"] = lambda rng, ctx: (ctx.pt.account, "ID")
_SLOTS["plan_id"] = lambda rng, ctx: (f"HP{ctx.pt.account[::-1]}", "ID")
_SLOTS["device_id"] = lambda rng, ctx: (f"PM{_randint(rng, 1000000, 9999999)}", "ID")
_SLOTS["pt_phone"] = lambda rng, ctx: (_fmt_phone(rng, ctx.pt.phone), "PHONE")
_SLOTS["rr_phone"] = lambda rng, ctx: (_fmt_phone(rng, _random_phone(rng)), "PHONE")
_SLOTS["fax"] = lambda rng, ctx: (_fmt_phone(rng, _random_phone(rng)), "FAX")
_SLOTS["street"] = lambda rng, ctx: (ctx.pt.street, "ADDRESS")
_SLOTS["zip"] = lambda rng, ctx: (ctx.pt.zip, "ZIP")
_SLOTS["state"] = lambda rng, ctx: (_pick(rng, _STATES), None)  # a state is not PHI
_SLOTS["age90"] = lambda rng, ctx: (str(ctx.age), "AGE")


@_slot("email")
def _email(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    person = ctx.rad
    user = f"{person.first[0]}{person.last}".lower().replace(" ", "").replace("'", "")
    return f"{user}@{_pick(rng, _DOMAINS)}", "EMAIL"


@_slot("url")
def _url(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    domain = _pick(rng, _DOMAINS)
    if rng.random() < 0.5:
        return f"https://pacs.{domain}/viewer?accession={ctx.acc}", "URL"
    return f"www.{domain}/patients/{ctx.pt.mrn}/images", "URL"


@_slot("ip")
def _ip(rng: random.Random, ctx: _Ctx) -> tuple[str, str | None]:
    if rng.random() < 0.5:
        return f"10.{_randint(rng, 0, 255)}.{_randint(rng, 0, 255)}.{_randint(rng, 1, 254)}", "IP"
    return f"192.168.{_randint(rng, 0, 255)}.{_randint(rng, 1, 254)}", "IP"


# ---------------------------------------------------------------------------------------------
# Clinical vocabulary: organs (normal sentences) and observations (finding -> impression)
# ---------------------------------------------------------------------------------------------


# A normal sentence: a template for every modality of the organ, or (template, "CT MR").
NormalSpec = str | tuple[str, str]


class _Organ:
    """One line of the FINDINGS (e.g. "Lungs"), with its normal sentences."""

    __slots__ = ("region", "name", "label", "modalities", "sites", "normals")

    def __init__(
        self,
        region: str,
        name: str,
        label: str,
        modalities: str,
        normals: tuple[NormalSpec, ...],
        sites: str | None,
    ):
        self.region, self.name, self.label = region, name, label
        self.modalities = frozenset(modalities.split())
        self.sites = frozenset(sites.split()) if sites else None
        # (template, modalities or None) per normal sentence
        self.normals = tuple(
            (_compile(n), None) if isinstance(n, str) else (_compile(n[0]), frozenset(n[1].split()))
            for n in normals
        )


class Observation:
    """An abnormal observation: FINDINGS sentence variants and IMPRESSION item variants.

    `severity` orders impression items (5 = critical first); `term` appears in both the
    finding and the impression, so tests (and evaluation) can check that one follows from the
    other. Finding and impression are rendered with the same slot values.
    """

    __slots__ = ("key", "region", "organ", "severity", "term", "findings", "impressions")
    __slots__ += ("modalities", "sites")

    def __init__(
        self,
        region: str,
        organ: str,
        name: str,
        severity: int,
        term: str,
        findings: tuple[str, ...],
        impressions: tuple[str, ...],
        modalities: str | None,
        sites: str | None,
    ):
        self.key = f"{region}/{organ}/{name}"
        self.region, self.organ, self.severity, self.term = region, organ, severity, term
        for text in (*findings, *impressions):
            if term.lower() not in text.replace("[[", "").replace("]]", "").lower():
                raise ValueError(f"observation {self.key}: term {term!r} missing from {text!r}")
        self.findings = _variants(*findings)
        self.impressions = _variants(*impressions)
        self.modalities = frozenset(modalities.split()) if modalities else None
        self.sites = frozenset(sites.split()) if sites else None


_ORGANS: list[_Organ] = []
OBSERVATIONS: dict[str, Observation] = {}
"""Observation key ("chest/lungs/nodule") -> Observation; sidecar `labels` use these keys."""
_INCIDENTALS: dict[str, list[tuple[Template, frozenset[str] | None]]] = {}


def _organ(
    region: str,
    name: str,
    label: str,
    modalities: str,
    normals: tuple[NormalSpec, ...],
    sites: str | None = None,
) -> None:
    """Register a findings line; `modalities`/`sites` are space-separated allow-lists."""
    _ORGANS.append(_Organ(region, name, label, modalities, normals, sites))


def _abn(
    region: str,
    organ: str,
    name: str,
    severity: int,
    term: str,
    findings: tuple[str, ...],
    impressions: tuple[str, ...],
    modalities: str | None = None,
    sites: str | None = None,
) -> None:
    """Register an abnormal observation of `organ` (see `Observation`)."""
    obs = Observation(region, organ, name, severity, term, findings, impressions, modalities, sites)
    OBSERVATIONS[obs.key] = obs


def _incidental(region: str, template: str, modalities: str | None = None) -> None:
    """A minor remark that may end the findings and that the impression leaves out."""
    mods = frozenset(modalities.split()) if modalities else None
    _INCIDENTALS.setdefault(region, []).append((_compile(template), mods))


# Vocabulary tables are laid out by hand (one entry per line reads best); the formatter
# would explode them into several lines per string.
# fmt: off
# --- chest ------------------------------------------------------------------------------------
_organ("chest", "lungs", "Lungs", "XR CT MR", (
    "The lungs are clear.",
    "The lungs are clear without focal consolidation.",
    "No focal airspace consolidation is identified.",
    "The lungs are well expanded and clear.",
    ("No suspicious pulmonary nodule or mass.", "CT MR"),
    ("The lungs are clear. No suspicious pulmonary nodule.", "CT"),
    ("Lung volumes are normal. No focal opacity.", "XR"),
    "The lungs are clear bilaterally.",
    "No focal consolidation or pulmonary edema.",
    ("No focal opacity to suggest pneumonia.", "XR"),
))
_organ("chest", "pleura", "Pleura", "XR CT MR US", (
    "No pleural effusion or pneumothorax.",
    "There is no pleural effusion.",
    "No pneumothorax or pleural effusion is seen.",
    "The pleural spaces are clear.",
    ("No pleural fluid is seen in either hemithorax.", "US"),
    ("The costophrenic angles are sharp.", "XR"),
    "No effusion or pneumothorax.",
))
_organ("chest", "heart", "Heart and mediastinum", "XR CT MR", (
    "The cardiomediastinal silhouette is within normal limits.",
    "Heart size is normal.",
    "Normal heart size and mediastinal contours.",
    ("The heart is normal in size without pericardial effusion.", "CT MR"),
    ("The heart and mediastinum are unremarkable.", "XR"),
    "The heart is not enlarged.",
    "Cardiac and mediastinal contours are normal.",
))
_organ("chest", "nodes", "Lymph nodes", "CT MR", (
    "No mediastinal, hilar, or axillary lymphadenopathy.",
    "No thoracic lymphadenopathy by size criteria.",
))
_organ("chest", "vessels", "Vessels", "CT MR", (
    "The thoracic aorta is normal in caliber, measuring {aorta_normal}.",
    "The thoracic aorta and main pulmonary artery are normal in caliber.",
))
_organ("chest", "pa", "Pulmonary arteries", "CT", (
    "No filling defect in the pulmonary arteries to the subsegmental level.",
    "The pulmonary arteries are well opacified without filling defect.",
), sites="pe")
_organ("chest", "upper_abdomen", "Upper abdomen", "CT", (
    "Limited images of the upper abdomen are unremarkable.",
    "The visualized upper abdomen is unremarkable.",
))
_organ("chest", "bones", "Bones", "XR CT", (
    "No acute osseous abnormality.",
    "The osseous structures are intact.",
    "Mild degenerative changes of the thoracic spine.",
    "No acute fracture is identified.",
    "Visualized osseous structures are unremarkable.",
    ("No displaced rib fracture.", "XR"),
))
_organ("chest", "devices", "Lines and tubes", "XR", ())
_organ("chest", "sliding", "Lung", "US", (
    "Normal lung sliding is seen bilaterally.",
    "Lung sliding is present on both sides.",
))
_organ("chest", "diaphragm", "Diaphragm", "US", (
    "Normal diaphragmatic excursion bilaterally.",
    "The hemidiaphragms move normally with respiration.",
))
_organ("chest", "esophagus", "Esophagus", "FL", (
    "Contrast passes freely through the esophagus without obstruction or stricture.",
    "The esophagus is normal in caliber with normal primary peristalsis.",
))
_organ("chest", "swallow", "Swallow", "FL", (
    "No laryngeal penetration or aspiration.",
    "Oral and pharyngeal phases of swallowing are normal.",
))
_organ("chest", "reflux", "Reflux", "FL", (
    "No gastroesophageal reflux was observed.",
    "No hiatal hernia or reflux is identified.",
))

_abn("chest", "lungs", "nodule", 3, "nodule", (
    "There is a {size_mm} solid nodule in the {side} {lobe}.",
    "A {size_mm} nodule in the {side} {lobe} may represent a granuloma or an early neoplasm.",
), (
    "{size_mm} {side} {lobe} pulmonary nodule. Recommend follow-up chest CT in 6 to 12 months.",
    "Indeterminate {size_mm} {side} {lobe} nodule; follow-up CT in 3 to 6 months is recommended.",
), modalities="CT MR")
_abn("chest", "lungs", "mass", 5, "mass", (
    "There is a {size_cm} spiculated mass in the {side} {lobe}.",
    "A {big_cm} irregular mass occupies the {side} {lobe}.",
), (
    "{Side} {lobe} mass measuring {size_cm}, highly suspicious for primary lung malignancy.",
    "Spiculated {side} {lobe} mass, concerning for bronchogenic carcinoma. Recommend tissue sampling.",
))
_abn("chest", "lungs", "consolidation", 4, "consolidation", (
    "There is consolidation in the {side} lower lobe, possibly representing pneumonia.",
    "Patchy consolidation in the {side} lower lobe may represent pneumonia or aspiration.",
), (
    "{Side} lower lobe consolidation, possibly pneumonia.",
    "{Side} lower lobe consolidation, which may represent pneumonia in the appropriate clinical setting.",
))
_abn("chest", "lungs", "edema", 4, "edema", (
    "Diffuse interstitial opacities and vascular congestion, consistent with pulmonary edema.",
    "Bilateral perihilar opacities with Kerley B lines, suggesting interstitial edema.",
), (
    "Pulmonary edema.",
    "Findings consistent with interstitial pulmonary edema.",
), modalities="XR CT")
_abn("chest", "lungs", "atelectasis", 1, "atelectasis", (
    "Linear opacity at the {side} lung base, likely atelectasis.",
    "Subsegmental atelectasis at the {side} base.",
), (
    "{Side} basilar atelectasis.",
    "Mild {side} basilar atelectasis.",
))
_abn("chest", "lungs", "emphysema", 2, "emphysema", (
    "Centrilobular emphysema, most pronounced in the upper lobes.",
    "Moderate paraseptal and centrilobular emphysema.",
), (
    "Emphysema.",
    "Moderate centrilobular emphysema.",
), modalities="CT")
_abn("chest", "pleura", "effusion", 3, "effusion", (
    "There is a {amount} {side} pleural effusion.",
    "A {amount} {side} pleural effusion with adjacent compressive atelectasis.",
), (
    "{Amount} {side} pleural effusion.",
    "{Amount} {side} pleural effusion, increased from prior.",
))
_abn("chest", "pleura", "pneumothorax", 5, "pneumothorax", (
    "There is a {amount} {side} apical pneumothorax.",
    "A {amount} {side} pneumothorax is present without mediastinal shift.",
), (
    "{Amount} {side} pneumothorax.",
    "{Amount} {side} pneumothorax. No tension physiology.",
), modalities="XR CT")
_abn("chest", "heart", "cardiomegaly", 2, "cardiomegaly", (
    "The cardiac silhouette is enlarged, consistent with cardiomegaly.",
    "Mild cardiomegaly.",
), (
    "Cardiomegaly.",
    "Stable mild cardiomegaly.",
))
_abn("chest", "nodes", "lymphadenopathy", 4, "lymphadenopathy", (
    "Enlarged {side} hilar lymph node measuring {size_cm} in short axis, compatible with lymphadenopathy.",
    "Mediastinal lymphadenopathy with a subcarinal node measuring {size_cm}.",
), (
    "Mediastinal and hilar lymphadenopathy, largest node {size_cm}; lymphoma is a consideration.",
    "Thoracic lymphadenopathy measuring up to {size_cm}.",
))
_abn("chest", "vessels", "aneurysm", 3, "aneurysm", (
    "The ascending thoracic aorta is aneurysmal, measuring {aorta_cm}.",
), (
    "Ascending thoracic aortic aneurysm measuring {aorta_cm}.",
    "Aneurysmal dilatation of the ascending aorta to {aorta_cm}. Recommend annual imaging follow-up.",
))
_abn("chest", "pa", "pe", 5, "pulmonary embolism", (
    "Filling defects in the {side} lower lobe segmental arteries, consistent with acute pulmonary embolism.",
    "Acute pulmonary embolism with occlusive thrombus in the {side} main pulmonary artery.",
), (
    "Acute {side} pulmonary embolism.",
    "Acute pulmonary embolism on the {side}. No right heart strain.",
))
_abn("chest", "bones", "rib_fracture", 4, "rib fracture", (
    "Acute nondisplaced {side} {rib} rib fracture.",
    "There is an acute {side} {rib} rib fracture.",
), (
    "Acute {side} {rib} rib fracture.",
    "Acute {side} {rib} rib fracture without pneumothorax.",
))
_abn("chest", "devices", "swan_ganz", 2, "Swan-Ganz", (
    "A [[Swan-Ganz catheter]] terminates in the {side} pulmonary artery.",
), (
    "[[Swan-Ganz catheter]] tip in the {side} pulmonary artery.",
))
_abn("chest", "devices", "ett", 2, "endotracheal tube", (
    "The endotracheal tube tip is {et_cm} above the carina.",
), (
    "Endotracheal tube in appropriate position, {et_cm} above the carina.",
))
_abn("chest", "devices", "pacemaker", 1, "pacemaker", (
    "A {side} chest wall pacemaker (serial no. {device_id}) has leads in the right atrium and right ventricle.",
    "Dual-lead pacemaker with the generator over the {side} chest wall.",
), (
    "Pacemaker leads in expected position.",
))
_abn("chest", "sliding", "absent_sliding", 5, "lung sliding", (
    "Absent lung sliding on the {side}, concerning for pneumothorax.",
), (
    "Absent {side} lung sliding, concerning for pneumothorax. Recommend chest radiograph.",
))
_abn("chest", "esophagus", "stricture", 3, "stricture", (
    "A short segment stricture of the distal esophagus narrows the lumen to {size_mm}.",
), (
    "Distal esophageal stricture measuring {size_mm} in luminal diameter.",
))
_abn("chest", "reflux", "hiatal_hernia", 2, "hiatal hernia", (
    "There is a small sliding hiatal hernia with spontaneous reflux.",
), (
    "Small sliding hiatal hernia with gastroesophageal reflux.",
))
_abn("chest", "swallow", "aspiration", 4, "aspiration", (
    "Silent aspiration of thin liquids is observed.",
), (
    "Silent aspiration of thin liquids.",
))
_incidental("chest", "Calcified granuloma in the {side} {lobe}.", "XR CT")
_incidental("chest", "Scattered calcified mediastinal lymph nodes.", "CT")
_incidental("chest", "Atherosclerotic calcification of the aortic arch.", "XR CT")
_incidental("chest", "Mild multilevel degenerative changes of the thoracic spine, most prominent at {vertebra}.", "XR CT")

# --- abdomen / pelvis -------------------------------------------------------------------------
_organ("abdomen_pelvis", "liver", "Liver", "CT MR US", (
    "The liver is normal in size and attenuation without focal lesion.",
    "No focal hepatic lesion.",
    ("The liver measures {liver_cm} and has normal echotexture.", "US"),
    ("The liver is unremarkable.", "CT MR"),
))
_organ("abdomen_pelvis", "gallbladder", "Gallbladder and bile ducts", "CT MR US", (
    "The gallbladder is unremarkable. No biliary ductal dilatation.",
    ("The common bile duct measures {cbd_mm}. The gallbladder is normal.", "US MR"),
    "No gallstones. No biliary dilatation.",
))
_organ("abdomen_pelvis", "pancreas", "Pancreas", "CT MR US", (
    "The pancreas is unremarkable.",
    "The pancreas is normal without ductal dilatation.",
    ("The visualized pancreas is unremarkable.", "US"),
))
_organ("abdomen_pelvis", "spleen", "Spleen", "CT MR US", (
    "The spleen is normal in size.",
    ("The spleen measures {spleen_cm}.", "US"),
    "Normal spleen.",
))
_organ("abdomen_pelvis", "adrenals", "Adrenal glands", "CT MR", (
    "The adrenal glands are normal.",
    "No adrenal nodule.",
))
_organ("abdomen_pelvis", "kidneys", "Kidneys", "CT MR US", (
    ("The kidneys enhance symmetrically without hydronephrosis.", "CT MR"),
    "No hydronephrosis or nephrolithiasis.",
    ("The right kidney measures {kidney_cm}. No hydronephrosis or renal mass.", "US"),
    ("Both kidneys are normal in size and echogenicity without hydronephrosis.", "US"),
))
_organ("abdomen_pelvis", "bladder", "Bladder", "CT MR US", (
    "The urinary bladder is unremarkable.",
    "The bladder is normally distended.",
))
_organ("abdomen_pelvis", "bowel", "Bowel", "CT MR", (
    "No bowel obstruction or bowel wall thickening.",
    "The stomach, small bowel, and colon are unremarkable.",
    "Normal caliber bowel without wall thickening.",
))
_organ("abdomen_pelvis", "appendix", "Appendix", "CT", (
    "The appendix is normal.",
    "Normal appendix.",
))
_organ("abdomen_pelvis", "peritoneum", "Peritoneum", "CT MR US", (
    "No free fluid or free air.",
    "No ascites.",
    "No intraperitoneal free fluid.",
))
_organ("abdomen_pelvis", "nodes", "Lymph nodes", "CT MR", (
    "No abdominal or pelvic lymphadenopathy.",
    "No lymphadenopathy by size criteria.",
))
_organ("abdomen_pelvis", "vessels", "Vessels", "CT MR US", (
    "The abdominal aorta is normal in caliber.",
    "Normal caliber abdominal aorta and IVC.",
))
_organ("abdomen_pelvis", "pelvic_organs", "Pelvic organs", "CT MR", (
    "The pelvic organs are unremarkable.",
    "The reproductive organs are within normal limits.",
))
_organ("abdomen_pelvis", "bones", "Bones", "CT XR", (
    "No acute osseous abnormality.",
    "Mild degenerative changes of the lumbar spine.",
    "No aggressive osseous lesion.",
))
_organ("abdomen_pelvis", "bowel_gas", "Bowel gas", "XR", (
    "Nonobstructive bowel gas pattern.",
    "Normal bowel gas pattern with stool in the colon.",
    "Gas is seen throughout the colon to the rectum.",
    "No dilated bowel loops.",
))
_organ("abdomen_pelvis", "free_air", "Free air", "XR", (
    "No pneumoperitoneum on these views.",
    "No free intraperitoneal air is identified.",
))
_organ("abdomen_pelvis", "calcifications", "Calcifications", "XR", (
    "No abnormal calcifications.",
    "No radiopaque calculi are identified.",
    "No suspicious calcifications project over the kidneys.",
))
_organ("abdomen_pelvis", "stomach", "Stomach", "FL", (
    "The stomach is normal in contour without ulcer or mass.",
    "Normal gastric rugal folds and emptying.",
), sites="ugi")
_organ("abdomen_pelvis", "duodenum", "Duodenum", "FL", (
    "The duodenal sweep is normal.",
    "The duodenal bulb and sweep are unremarkable.",
), sites="ugi")
_organ("abdomen_pelvis", "esophagus", "Esophagus", "FL", (
    "The esophagus is normal in caliber without stricture.",
    "Normal esophageal motility.",
), sites="ugi")
_organ("abdomen_pelvis", "small_bowel", "Small bowel", "FL", (
    "Contrast opacifies normal caliber small bowel loops.",
    "The small bowel folds are normal.",
), sites="sbft")
_organ("abdomen_pelvis", "transit", "Transit", "FL", (
    "Contrast reached the colon at {transit_min} minutes.",
), sites="sbft")
_organ("abdomen_pelvis", "ileum", "Terminal ileum", "FL", (
    "The terminal ileum is normal.",
    "Normal appearance of the terminal ileum.",
), sites="sbft")
_organ("abdomen_pelvis", "colon", "Colon", "FL", (
    "Contrast fills the colon to the cecum without filling defect or stricture.",
    "The colon is normal in caliber without mass or stricture.",
), sites="colon")
_organ("abdomen_pelvis", "rectum", "Rectum", "FL", (
    "The rectum is unremarkable.",
    "Normal rectosigmoid.",
), sites="colon")

_abn("abdomen_pelvis", "liver", "lesion", 3, "hepatic", (
    "There is a {size_cm} hypodense lesion in hepatic segment {hep_segment}, which may represent a hemangioma.",
    "A {size_cm} hepatic lesion in segment {hep_segment} is too small to characterize.",
), (
    "{size_cm} hepatic segment {hep_segment} lesion, possibly hemangioma. Consider MRI for characterization.",
    "Indeterminate {size_cm} hepatic lesion in segment {hep_segment}.",
), modalities="CT MR US")
_abn("abdomen_pelvis", "liver", "steatosis", 1, "steatosis", (
    "Diffuse decreased attenuation of the liver, consistent with hepatic steatosis.",
    "The liver is echogenic, suggesting steatosis.",
), (
    "Hepatic steatosis.",
    "Mild hepatic steatosis.",
))
_abn("abdomen_pelvis", "liver", "cirrhosis", 3, "cirrhosis", (
    "The liver has a nodular contour with caudate hypertrophy, consistent with cirrhosis.",
), (
    "Nodular liver contour, consistent with cirrhosis.",
    "Cirrhosis without focal hepatic lesion.",
))
_abn("abdomen_pelvis", "gallbladder", "cholelithiasis", 2, "cholelithiasis", (
    "Cholelithiasis with gallstones measuring up to {size_mm}, without wall thickening.",
    "Multiple gallstones are present (cholelithiasis), the largest {size_mm}.",
), (
    "Cholelithiasis without evidence of acute cholecystitis.",
    "Cholelithiasis.",
))
_abn("abdomen_pelvis", "gallbladder", "cholecystitis", 5, "cholecystitis", (
    "The gallbladder is distended with wall thickening to {size_mm}, pericholecystic fluid, and an impacted stone, concerning for acute cholecystitis.",
), (
    "Findings concerning for acute calculous cholecystitis.",
    "Acute cholecystitis. Surgical consultation is recommended.",
), modalities="CT US MR")
_abn("abdomen_pelvis", "pancreas", "pancreatitis", 4, "pancreatitis", (
    "Peripancreatic fat stranding and fluid, consistent with acute interstitial pancreatitis.",
), (
    "Acute interstitial pancreatitis without necrosis.",
    "Acute pancreatitis.",
), modalities="CT MR")
_abn("abdomen_pelvis", "spleen", "splenomegaly", 2, "splenomegaly", (
    "The spleen is enlarged, measuring {spleen_big}, consistent with splenomegaly.",
), (
    "Splenomegaly, {spleen_big}.",
    "Splenomegaly.",
))
_abn("abdomen_pelvis", "adrenals", "adenoma", 1, "adrenal", (
    "A {size_cm} {side} adrenal nodule with low attenuation, consistent with an adenoma.",
), (
    "{size_cm} {side} adrenal adenoma. No follow-up needed.",
))
_abn("abdomen_pelvis", "kidneys", "obstructing_stone", 4, "hydronephrosis", (
    "A {size_mm} stone at the {side} ureterovesical junction causes moderate {side} hydronephrosis.",
    "Moderate {side} hydronephrosis due to a {size_mm} distal ureteral calculus.",
), (
    "{size_mm} obstructing {side} distal ureteral stone with moderate hydronephrosis.",
    "Obstructing {side} ureteral calculus ({size_mm}) with moderate hydronephrosis.",
), modalities="CT US")
_abn("abdomen_pelvis", "kidneys", "cyst", 1, "cyst", (
    "Simple cyst in the {side} kidney measuring {size_cm}.",
    "A {size_cm} simple cortical cyst in the {side} kidney.",
), (
    "{Side} renal simple cyst, no follow-up needed.",
    "Benign {side} renal cyst.",
))
_abn("abdomen_pelvis", "bladder", "foley", 1, "Foley", (
    "A [[Foley catheter]] is present within a decompressed bladder.",
    "The bladder is decompressed by a [[Foley catheter]].",
), (
    "[[Foley catheter]] in place.",
    "Decompressed bladder with [[Foley catheter]].",
), modalities="CT MR")
_abn("abdomen_pelvis", "bowel", "sbo", 5, "small bowel obstruction", (
    "Dilated small bowel loops up to {bowel_cm} with a transition point in the {quadrant}, consistent with small bowel obstruction.",
), (
    "Small bowel obstruction with transition point in the {quadrant}.",
    "High-grade small bowel obstruction, transition in the {quadrant}.",
))
_abn("abdomen_pelvis", "bowel", "crohn", 3, "Crohn disease", (
    "Wall thickening and hyperenhancement of the terminal ileum, consistent with active [[Crohn disease]].",
), (
    "Active terminal ileal [[Crohn disease]] without abscess.",
    "Findings compatible with active [[Crohn disease]] of the terminal ileum.",
))
_abn("abdomen_pelvis", "bowel", "diverticulitis", 4, "diverticulitis", (
    "Sigmoid diverticula with adjacent fat stranding, consistent with acute diverticulitis.",
), (
    "Acute uncomplicated sigmoid diverticulitis.",
    "Acute sigmoid diverticulitis without abscess or free air.",
), modalities="CT")
_abn("abdomen_pelvis", "appendix", "appendicitis", 5, "appendicitis", (
    "The appendix is dilated to {size_mm} with periappendiceal fat stranding, consistent with acute appendicitis.",
), (
    "Acute appendicitis.",
    "Acute appendicitis without perforation or abscess.",
))
_abn("abdomen_pelvis", "peritoneum", "morison", 4, "Morison pouch", (
    "A {amount} amount of free fluid is present in [[Morison pouch]].",
), (
    "{Amount} free fluid in [[Morison pouch]].",
    "Free fluid in [[Morison pouch]], which may represent hemoperitoneum in the setting of trauma.",
), modalities="CT US")
_abn("abdomen_pelvis", "peritoneum", "free_air", 5, "pneumoperitoneum", (
    "Free intraperitoneal air under the diaphragm, consistent with pneumoperitoneum.",
), (
    "Pneumoperitoneum, concerning for hollow viscus perforation.",
), modalities="CT")
_abn("abdomen_pelvis", "nodes", "adenopathy", 4, "lymphadenopathy", (
    "Retroperitoneal lymphadenopathy, the largest node measuring {size_cm}.",
), (
    "Retroperitoneal lymphadenopathy up to {size_cm}.",
))
_abn("abdomen_pelvis", "vessels", "aaa", 4, "aneurysm", (
    "Infrarenal abdominal aortic aneurysm measuring {big_cm}.",
), (
    "{big_cm} infrarenal abdominal aortic aneurysm.",
))
_abn("abdomen_pelvis", "bones", "degenerative", 1, "degenerative", (
    "Moderate degenerative disc disease at {level}.",
), (
    "Degenerative disc disease at {level}.",
), modalities="CT")
_abn("abdomen_pelvis", "bowel_gas", "ileus", 3, "ileus", (
    "Diffusely dilated small and large bowel loops, suggesting adynamic ileus.",
), (
    "Findings suggesting adynamic ileus.",
))
_abn("abdomen_pelvis", "calcifications", "stone", 2, "calculus", (
    "A {size_mm} calculus projects over the {side} renal shadow.",
), (
    "{size_mm} {side} renal calculus.",
))
_abn("abdomen_pelvis", "stomach", "ulcer", 4, "ulcer", (
    "A {size_mm} ulcer crater along the lesser curvature of the stomach.",
), (
    "{size_mm} gastric ulcer along the lesser curvature. Recommend endoscopy.",
))
_abn("abdomen_pelvis", "ileum", "crohn_fl", 3, "Crohn disease", (
    "Narrowing and mucosal irregularity of the terminal ileum, compatible with [[Crohn disease]].",
), (
    "Terminal ileal narrowing compatible with [[Crohn disease]].",
))
_abn("abdomen_pelvis", "colon", "apple_core", 5, "apple core", (
    "An apple core lesion of the sigmoid colon measuring {size_cm} in length.",
), (
    "Sigmoid apple core lesion, highly suspicious for carcinoma. Recommend colonoscopy.",
))
_abn("abdomen_pelvis", "colon", "diverticulosis", 1, "diverticulosis", (
    "Scattered diverticula in the sigmoid colon (diverticulosis).",
), (
    "Sigmoid diverticulosis.",
))
_incidental("abdomen_pelvis", "Small fat-containing umbilical hernia.", "CT MR")
_incidental("abdomen_pelvis", "Colonic diverticulosis without evidence of diverticulitis.", "CT")
_incidental("abdomen_pelvis", "Atherosclerotic calcification of the abdominal aorta.", "CT XR")
_incidental("abdomen_pelvis", "Phleboliths in the pelvis.", "CT XR")

# --- head -------------------------------------------------------------------------------------
_organ("head", "parenchyma", "Brain", "CT MR US", (
    "No intracranial hemorrhage, mass effect, or midline shift.",
    "Gray-white matter differentiation is preserved. No acute hemorrhage.",
    ("No restricted diffusion to suggest acute infarct. No mass or abnormal enhancement.", "MR"),
    ("No germinal matrix or intraventricular hemorrhage.", "US"),
    ("There is no acute intracranial hemorrhage or territorial infarct.", "CT"),
    ("The brain parenchyma is normal in attenuation.", "CT"),
    ("No acute territorial infarct. Gray-white differentiation is maintained.", "CT"),
    ("No mass, mass effect, or abnormal signal.", "MR"),
))
_organ("head", "ventricles", "Ventricles", "CT MR US", (
    "The ventricles and sulci are normal in size for age.",
    "No hydrocephalus.",
    "The ventricles are normal in size and configuration.",
    "Ventricular size is within normal limits.",
))
_organ("head", "extra_axial", "Extra-axial spaces", "CT MR", (
    "No extra-axial fluid collection.",
    "No subdural or epidural collection.",
    "No extra-axial hemorrhage.",
))
_organ("head", "orbits", "Orbits", "CT MR", (
    "The orbits are unremarkable.",
    "Visualized orbits are normal.",
    "The globes and orbits are intact.",
))
_organ("head", "sinuses", "Sinuses and mastoids", "CT MR XR", (
    "The visualized paranasal sinuses and mastoid air cells are clear.",
    "Paranasal sinuses and mastoids are well aerated.",
    "Clear paranasal sinuses. The mastoid air cells are well aerated.",
))
_organ("head", "calvarium", "Calvarium", "CT XR", (
    "The calvarium is intact.",
    "No calvarial fracture.",
    "No acute calvarial abnormality.",
    ("The calvarium is intact without fracture or lytic lesion.", "XR"),
))
_organ("head", "midline", "Midline", "US", (
    "Midline structures are intact, including the corpus callosum.",
    "The cavum septum pellucidum and corpus callosum are normal.",
))
_organ("head", "choroid", "Choroid plexus", "US", (
    "The choroid plexus is normal in size and echogenicity.",
    "No choroid plexus cyst.",
))
_organ("head", "sella", "Sella", "XR", (
    "The sella turcica is normal in size.",
    "Normal sella.",
    "The sella turcica is not enlarged.",
))
_organ("head", "soft_tissues", "Soft tissues", "XR US", (
    "The soft tissues are unremarkable.",
    "No soft tissue swelling.",
))
_organ("head", "arteries", "Arteries", "CT MR", (
    "The intracranial and cervical arteries are patent without stenosis, occlusion, or aneurysm.",
    "The circle of Willis is patent without aneurysm or high-grade stenosis.",
), sites="vessels")

_abn("head", "parenchyma", "hemorrhage", 5, "hemorrhage", (
    "Acute intraparenchymal hemorrhage in the {side} {brain_lobe} lobe measuring {size_cm}, with {shift_mm} of midline shift.",
    "There is a {size_cm} acute hemorrhage in the {side} {brain_lobe} lobe causing {shift_mm} of midline shift.",
), (
    "Acute {side} {brain_lobe} intraparenchymal hemorrhage with {shift_mm} midline shift.",
    "{size_cm} acute {side} {brain_lobe} lobe hemorrhage with {shift_mm} of midline shift.",
), modalities="CT MR")
_abn("head", "parenchyma", "infarct", 5, "infarct", (
    "Hypodensity in the {side} MCA territory, which may represent an acute infarct.",
    "Restricted diffusion in the {side} MCA territory, consistent with acute infarct.",
), (
    "Possible acute {side} MCA territory infarct.",
    "Acute {side} MCA territory infarct.",
), modalities="CT MR")
_abn("head", "parenchyma", "small_vessel", 1, "small vessel", (
    "Scattered periventricular white matter hypodensities, likely chronic small vessel ischemic disease.",
    "Periventricular white matter changes, likely chronic small vessel disease.",
), (
    "Chronic small vessel ischemic disease.",
    "Mild chronic small vessel ischemic changes.",
), modalities="CT MR")
_abn("head", "parenchyma", "mass", 5, "mass", (
    "A {size_cm} enhancing mass in the {side} {brain_lobe} lobe with surrounding vasogenic edema.",
), (
    "{size_cm} enhancing {side} {brain_lobe} mass with vasogenic edema, concerning for neoplasm.",
), modalities="MR")
_abn("head", "parenchyma", "gmh", 4, "germinal matrix hemorrhage", (
    "Echogenic focus in the {side} caudothalamic groove, consistent with germinal matrix hemorrhage.",
), (
    "{Side} grade 1 germinal matrix hemorrhage.",
), modalities="US")
_abn("head", "ventricles", "hydrocephalus", 4, "hydrocephalus", (
    "The lateral and third ventricles are dilated out of proportion to the sulci, consistent with hydrocephalus.",
), (
    "Communicating hydrocephalus.",
    "Hydrocephalus, new since prior.",
))
_abn("head", "extra_axial", "subdural", 5, "subdural", (
    "A {side} subdural hematoma measures {size_mm} in maximal thickness.",
    "There is an acute {side} subdural hematoma measuring {size_mm}.",
), (
    "Acute {side} subdural hematoma measuring {size_mm}.",
    "{Side} subdural hematoma, {size_mm} thick.",
))
_abn("head", "sinuses", "sinusitis", 1, "sinus", (
    "Mucosal thickening in the {side} maxillary sinus.",
), (
    "Mild {side} maxillary sinus disease.",
))
_abn("head", "calvarium", "fracture", 4, "fracture", (
    "Nondisplaced fracture of the {side} parietal bone.",
), (
    "Nondisplaced {side} parietal bone fracture.",
))
_abn("head", "arteries", "aneurysm", 5, "aneurysm", (
    "A {size_mm} saccular aneurysm arises from the {side} {head_artery}.",
), (
    "{size_mm} {side} {head_artery} aneurysm.",
))
_abn("head", "arteries", "stenosis", 4, "stenosis", (
    "Approximately {stenosis_pct}% stenosis of the {side} internal carotid artery origin.",
), (
    "{stenosis_pct}% {side} internal carotid artery stenosis.",
))
_incidental("head", "Incidental {side} maxillary sinus mucous retention cyst.", "CT MR")
_incidental("head", "Age-appropriate parenchymal volume.", "CT MR")
_incidental("head", "Calcification of the cavernous carotid arteries.", "CT")

# --- spine ------------------------------------------------------------------------------------
_organ("spine", "alignment", "Alignment", "XR CT MR", (
    "Vertebral alignment is maintained.",
    "Normal alignment.",
    "Alignment is anatomic without listhesis.",
))
_organ("spine", "vertebrae", "Vertebrae", "XR CT MR", (
    "Vertebral body heights are preserved.",
    "No acute fracture. Vertebral body heights are maintained.",
    ("Marrow signal is normal.", "MR"),
))
_organ("spine", "discs", "Discs", "CT MR", (
    "No significant disc herniation or spinal canal stenosis.",
    "Mild disc desiccation at {level} without canal stenosis.",
    "Intervertebral disc heights are preserved.",
))
_organ("spine", "disc_spaces", "Disc spaces", "XR", (
    "The disc spaces are preserved.",
    "Mild disc space narrowing at {level}.",
))
_organ("spine", "cord", "Spinal cord", "MR", (
    "The spinal cord is normal in signal and caliber.",
    "The conus terminates normally at {vertebra}.",
))
_organ("spine", "soft_tissues", "Paraspinal soft tissues", "CT MR XR", (
    "Paraspinal soft tissues are unremarkable.",
    "No prevertebral soft tissue swelling.",
))
_organ("spine", "procedure", "Procedure", "FL", (
    "Under fluoroscopic guidance, a {gauge}-gauge spinal needle was advanced into the thecal sac at {level}.",
    "Using sterile technique and fluoroscopic guidance, the thecal sac was accessed at {level} with a {gauge}-gauge needle.",
))
_organ("spine", "csf", "CSF", "FL", (
    "Clear cerebrospinal fluid was obtained and sent for the requested studies.",
    "Opening pressure was normal and {contrast_ml} mL of clear fluid was collected.",
    "{contrast_ml} mL of clear cerebrospinal fluid was collected.",
))
_organ("spine", "complications", "Complications", "FL", (
    "There were no immediate complications.",
    "The patient tolerated the procedure well.",
))
_abn("spine", "alignment", "listhesis", 2, "anterolisthesis", (
    "Grade 1 anterolisthesis at {level}.",
), (
    "Grade 1 anterolisthesis at {level}.",
))
_abn("spine", "vertebrae", "compression", 4, "compression fracture", (
    "{Acuity} compression fracture of {vertebra} with approximately {pct}% height loss.",
), (
    "{Acuity} {vertebra} compression fracture with {pct}% height loss.",
    "{vertebra} compression fracture, {acuity}.",
))
_abn("spine", "vertebrae", "burst", 5, "burst fracture", (
    "Burst fracture of {vertebra} with {size_mm} of retropulsion into the spinal canal.",
), (
    "{vertebra} burst fracture with {size_mm} retropulsion.",
), modalities="CT MR")
_abn("spine", "discs", "protrusion", 3, "disc protrusion", (
    "At {level}, a {side} paracentral disc protrusion causes moderate {side} neural foraminal narrowing.",
    "At {level} there is a {side} paracentral disc protrusion which may contact the traversing nerve root.",
), (
    "{level} {side} paracentral disc protrusion with moderate foraminal narrowing.",
    "{Side} paracentral disc protrusion at {level}.",
))
_abn("spine", "discs", "stenosis", 4, "canal stenosis", (
    "At {level}, disc bulge and facet hypertrophy result in severe spinal canal stenosis.",
), (
    "Severe spinal canal stenosis at {level}.",
))
_abn("spine", "cord", "compression", 5, "cord compression", (
    "Cord compression at {level} with T2 hyperintense signal in the cord.",
), (
    "Cord compression at {level} with myelomalacia or edema.",
))
_abn("spine", "disc_spaces", "ddd", 1, "degenerative", (
    "Degenerative disc space narrowing and endplate osteophytes at {level}.",
), (
    "Degenerative changes, most pronounced at {level}.",
))
_abn("spine", "csf", "bloody_tap", 2, "blood-tinged", (
    "Blood-tinged cerebrospinal fluid was obtained, clearing with subsequent tubes.",
), (
    "Blood-tinged CSF, clearing, likely traumatic tap.",
))
_incidental("spine", "Incidental vertebral body hemangioma at {vertebra}.", "CT MR")
_incidental("spine", "Mild facet arthropathy at {level}.", "CT MR XR")

# --- cardiac ----------------------------------------------------------------------------------
_organ("cardiac", "coronaries", "Coronary arteries", "CT FL", (
    ("No coronary artery calcification. Agatston score is 0.", "CT"),
    ("The coronary arteries are patent without significant stenosis.", "CT FL"),
    ("The left main, LAD, circumflex, and right coronary arteries are without significant stenosis.", "FL"),
))
_organ("cardiac", "lv", "Left ventricle", "MR US FL", (
    "Left ventricular size and systolic function are normal, with an ejection fraction of {ef_normal}%.",
    "Normal left ventricular wall thickness and systolic function (LVEF {ef_normal}%).",
))
_organ("cardiac", "rv", "Right ventricle", "MR US", (
    "Normal right ventricular size and function.",
    "The right ventricle is normal in size with normal systolic function.",
))
_organ("cardiac", "valves", "Valves", "MR US", (
    "No significant valvular abnormality.",
    "The cardiac valves are structurally normal without significant regurgitation.",
))
_organ("cardiac", "pericardium", "Pericardium", "CT MR US", (
    "No pericardial effusion.",
    "The pericardium is normal.",
))
_organ("cardiac", "aorta", "Aorta", "CT MR US", (
    "The aortic root and ascending aorta are normal in caliber.",
    "Normal caliber thoracic aorta measuring {aorta_normal}.",
))
_organ("cardiac", "lung_bases", "Lungs", "CT", (
    "The visualized lungs are clear.",
    "No suspicious pulmonary nodule in the visualized lungs.",
))
_organ("cardiac", "hemodynamics", "Hemodynamics", "FL", (
    "Right heart pressures measured with a [[Swan-Ganz catheter]] were within normal limits.",
    "Hemodynamic measurements were within normal limits.",
))
_abn("cardiac", "coronaries", "calcium", 3, "calcium score", (
    "Coronary artery calcium score of {agatston}, predominantly in the {coronary}.",
), (
    "Coronary artery calcium score {agatston}, indicating at least moderate atherosclerotic plaque burden.",
    "Agatston coronary artery calcium score of {agatston}.",
), modalities="CT")
_abn("cardiac", "coronaries", "stenosis", 5, "stenosis", (
    "Severe ({stenosis_pct}%) stenosis of the {coronary}.",
    "There is approximately {stenosis_pct}% stenosis in the {coronary}.",
), (
    "Severe {coronary} stenosis ({stenosis_pct}%).",
    "{stenosis_pct}% stenosis of the {coronary}; consider revascularization.",
), modalities="CT FL")
_abn("cardiac", "lv", "dysfunction", 4, "ejection fraction", (
    "The left ventricle is dilated with global hypokinesis and an ejection fraction of {ef_low}%.",
), (
    "Dilated left ventricle with reduced systolic function, ejection fraction {ef_low}%.",
    "Severely reduced left ventricular ejection fraction ({ef_low}%).",
))
_abn("cardiac", "lv", "lge", 4, "late gadolinium enhancement", (
    "Subendocardial late gadolinium enhancement in the LAD territory, consistent with prior infarct.",
), (
    "Late gadolinium enhancement in the LAD territory indicating prior myocardial infarction.",
), modalities="MR")
_abn("cardiac", "valves", "regurgitation", 3, "regurgitation", (
    "Moderate {valve} regurgitation.",
    "There is moderate {valve} valve regurgitation.",
), (
    "Moderate {valve} regurgitation.",
))
_abn("cardiac", "pericardium", "effusion", 4, "pericardial effusion", (
    "A {amount} pericardial effusion without signs of tamponade.",
), (
    "{Amount} pericardial effusion without tamponade physiology.",
))
_abn("cardiac", "aorta", "dilatation", 3, "dilated", (
    "The ascending aorta is dilated to {aorta_cm}.",
), (
    "Dilated ascending aorta, {aorta_cm}.",
))
_abn("cardiac", "lung_bases", "nodule", 3, "nodule", (
    "A {size_mm} nodule in the {side} lower lobe.",
), (
    "Incidental {size_mm} {side} lower lobe nodule. Recommend dedicated chest CT.",
))
_incidental("cardiac", "Small hiatal hernia.", "CT")
_incidental("cardiac", "Trace physiologic tricuspid regurgitation.", "US MR")

# --- limbs ------------------------------------------------------------------------------------
for _limb, _region in (("upper", "upper_limb"), ("lower", "lower_limb")):
    _organ(_region, "bones", "Bones", "XR CT MR", (
        "No acute fracture or dislocation.",
        "No fracture, dislocation, or destructive osseous lesion.",
        "The osseous structures of the {side} {joint} are intact.",
        ("Bone mineralization is normal. No fracture.", "XR CT"),
        ("No bone marrow edema or fracture.", "MR"),
    ))
    _organ(_region, "joint", "Joint", "XR CT MR FL", (
        ("The {joint} joint space is preserved.", "XR CT MR"),
        ("Joint spaces are preserved without significant arthropathy.", "XR CT MR"),
        ("Contrast is confined to the {side} {joint} joint without extravasation.", "FL"),
        ("No joint effusion.", "XR CT MR"),
    ))
    _organ(_region, "alignment", "Alignment", "XR CT", (
        "Alignment is anatomic.",
        "Normal alignment of the {joint}.",
        "No malalignment.",
    ))
    _organ(_region, "soft_tissues", "Soft tissues", "XR CT MR", (
        "The soft tissues are unremarkable.",
        "No soft tissue swelling or radiopaque foreign body.",
        "Soft tissues are within normal limits.",
    ))
    _organ(_region, "procedure", "Procedure", "FL", (
        "Under fluoroscopic guidance, a {gauge}-gauge needle was advanced into the {side} {joint} joint and {contrast_ml} mL of dilute contrast was injected.",
        "The {side} {joint} joint was accessed under fluoroscopy with a {gauge}-gauge needle and {contrast_ml} mL of contrast was instilled for MR arthrography.",
    ))
    _organ(_region, "complications", "Complications", "FL", (
        "There were no immediate complications.",
        "The patient tolerated the procedure well without complication.",
    ))
    _organ(_region, "veins", "Deep veins", "US", (
        f"The {{side}} {_limb} extremity deep veins are compressible with normal color flow and augmentation.",
        f"Normal compressibility, flow, and phasicity of the {{side}} {_limb} extremity deep veins.",
        f"The deep veins of the {{side}} {_limb} extremity are patent and fully compressible.",
        "No intraluminal thrombus is identified in the deep venous system.",
    ), sites="veins")
    _organ(_region, "waveforms", "Doppler", "US", (
        "Spectral Doppler waveforms show normal respiratory phasicity.",
        "Augmentation is normal.",
        "The contralateral proximal vein shows normal phasic flow.",
        "Color Doppler demonstrates complete filling of the vessel lumens.",
    ), sites="veins")
    _organ(_region, "superficial", "Superficial veins", "US", (
        "The superficial veins are patent.",
        "No superficial venous thrombosis.",
        "The great saphenous and cephalic-basilic systems are unremarkable.",
    ), sites="veins")
    _abn(_region, "bones", "fracture", 4, "fracture", (
        "There is a nondisplaced fracture of the {side} {bone}.",
        "Acute mildly displaced fracture of the {bone}.",
    ), (
        "Nondisplaced {side} {bone} fracture.",
        "Acute {bone} fracture.",
    ), modalities="XR CT MR")
    _abn(_region, "bones", "salter_harris", 4, "Salter-Harris", (
        "[[Salter-Harris]] type II fracture of the {side} {bone}.",
    ), (
        "[[Salter-Harris]] II fracture of the {bone}.",
    ), modalities="XR CT", sites="wrist hand ankle knee elbow")
    _abn(_region, "bones", "dislocation", 5, "dislocation", (
        "Anterior dislocation of the {side} {joint}.",
    ), (
        "{Side} {joint} dislocation. Recommend reduction and post-reduction films.",
    ), modalities="XR CT", sites="shoulder elbow hip")
    _abn(_region, "joint", "osteoarthritis", 1, "osteoarthritis", (
        "Moderate joint space narrowing with osteophytes, consistent with osteoarthritis of the {joint}.",
    ), (
        "Moderate {joint} osteoarthritis.",
    ), modalities="XR CT MR")
    _abn(_region, "joint", "effusion", 2, "effusion", (
        "There is a {amount} {joint} joint effusion.",
    ), (
        "{Amount} {joint} joint effusion.",
    ), modalities="XR CT MR")
    _abn(_region, "soft_tissues", "foreign_body", 3, "foreign body", (
        "A {size_mm} radiopaque foreign body in the soft tissues of the {side} {joint}.",
    ), (
        "{size_mm} radiopaque foreign body in the {side} {joint} soft tissues.",
    ), modalities="XR CT")
    _abn(_region, "veins", "dvt", 5, "thrombus", (
        f"Occlusive thrombus in the {{side}} {{{_limb[0]}e_vein}} vein, noncompressible.",
        f"Nonocclusive thrombus is seen in the {{side}} {{{_limb[0]}e_vein}} vein.",
    ), (
        f"Acute deep venous thrombus in the {{side}} {{{_limb[0]}e_vein}} vein.",
    ))
    _abn(_region, "superficial", "sth", 2, "superficial thrombophlebitis", (
        "Thrombus in a superficial vein, consistent with superficial thrombophlebitis.",
    ), (
        "Superficial thrombophlebitis without deep venous thrombosis.",
    ))
    _incidental(_region, "Mild vascular calcifications.", "XR CT")
    _incidental(_region, "Small enthesophyte near the {joint}.", "XR")

_organ("upper_limb", "rotator_cuff", "Rotator cuff", "MR", (
    "The rotator cuff tendons are intact.",
    "Mild supraspinatus tendinosis without tear.",
), sites="shoulder")
_organ("upper_limb", "labrum", "Labrum", "MR", (
    "The glenoid labrum is intact.",
    "No labral tear.",
), sites="shoulder")
_abn("upper_limb", "rotator_cuff", "tear", 3, "tear", (
    "Full-thickness tear of the supraspinatus tendon measuring {size_mm} in anteroposterior dimension.",
), (
    "{size_mm} full-thickness supraspinatus tendon tear.",
))
_abn("upper_limb", "labrum", "slap", 2, "labral tear", (
    "Superior labral tear extending from anterior to posterior.",
), (
    "Superior labral tear (SLAP lesion).",
))
_organ("lower_limb", "menisci", "Menisci", "MR", (
    "The medial and lateral menisci are intact.",
    "Normal menisci.",
), sites="knee")
_organ("lower_limb", "ligaments", "Ligaments", "MR", (
    "The cruciate and collateral ligaments are intact.",
    "The ACL, PCL, MCL, and lateral collateral ligament complex are intact.",
), sites="knee")
_organ("lower_limb", "popliteal", "Popliteal fossa", "MR US", (
    "No [[Baker cyst]].",
    "No popliteal fossa fluid collection or [[Baker cyst]].",
    ("The popliteal artery and vein are patent.", "US"),
    ("The {side} popliteal fossa is unremarkable.", "US"),
), sites="knee")
_organ("lower_limb", "knee_soft_tissues", "Soft tissues", "US", (
    "The subcutaneous soft tissues are normal.",
    "No soft tissue fluid collection or mass.",
    "The visualized tendons are intact.",
), sites="knee")
_organ("lower_limb", "knee_effusion", "Joint", "US", (
    "No suprapatellar joint effusion.",
    "No knee joint effusion is seen sonographically.",
), sites="knee")
_abn("lower_limb", "menisci", "tear", 3, "meniscus", (
    "Oblique tear of the posterior horn of the medial meniscus.",
    "Complex tear of the body and posterior horn of the medial meniscus.",
), (
    "Tear of the posterior horn of the medial meniscus.",
    "Medial meniscus tear.",
))
_abn("lower_limb", "ligaments", "acl", 4, "ACL", (
    "Complete tear of the ACL with a pivot shift bone contusion pattern.",
), (
    "Complete ACL tear.",
))
_abn("lower_limb", "popliteal", "baker", 2, "Baker cyst", (
    "A {size_cm} [[Baker cyst]] is present in the popliteal fossa.",
    "There is a {size_cm} [[Baker cyst]] without evidence of rupture.",
), (
    "{size_cm} [[Baker cyst]].",
    "[[Baker cyst]] measuring {size_cm}, intact.",
))

# --- breast -----------------------------------------------------------------------------------
_organ("breast", "parenchyma", "Breast tissue", "US MR", (
    ("Targeted ultrasound of the {side} breast at {clock} o'clock demonstrates normal fibroglandular tissue.", "US"),
    ("No suspicious solid or cystic mass in the {side} breast.", "US"),
    ("Scanning of the {side} breast in the area of concern shows fatty and fibroglandular tissue only.", "US"),
    ("The palpable area at {clock} o'clock corresponds to normal fibroglandular tissue.", "US"),
    ("Background parenchymal enhancement is minimal. No suspicious enhancement.", "MR"),
    ("No suspicious mass, non-mass enhancement, or architectural distortion.", "MR"),
    ("Scattered fibroglandular tissue with mild background parenchymal enhancement.", "MR"),
    ("Heterogeneously dense fibroglandular tissue without suspicious enhancement.", "MR"),
))
_organ("breast", "ducts", "Ducts", "US MR", (
    "No ductal dilatation.",
    "The retroareolar ducts are not dilated.",
    ("No intraductal mass.", "US"),
))
_organ("breast", "axilla", "Axilla", "US MR", (
    "No axillary lymphadenopathy.",
    "Normal appearing axillary lymph nodes.",
))
_organ("breast", "skin", "Skin and nipple", "US MR", (
    "The skin and nipple are unremarkable.",
    "No skin thickening.",
))
_abn("breast", "parenchyma", "benign_mass", 3, "mass", (
    "{size_mm} oval circumscribed hypoechoic mass at {clock} o'clock in the {side} breast, {nipple_cm} from the nipple, likely fibroadenoma.",
), (
    "{size_mm} probably benign {side} breast mass at {clock} o'clock. [[BI-RADS]] 3: Probably benign; recommend short-interval follow-up.",
))
_abn("breast", "parenchyma", "suspicious_mass", 5, "mass", (
    "Irregular hypoechoic mass with spiculated margins at {clock} o'clock in the {side} breast measuring {size_mm}.",
    "A {size_mm} irregular enhancing mass in the {side} breast at {clock} o'clock.",
), (
    "Suspicious {size_mm} {side} breast mass at {clock} o'clock. [[BI-RADS]] 4: Suspicious; ultrasound-guided biopsy recommended.",
))
_abn("breast", "parenchyma", "cyst", 1, "cyst", (
    "Simple cyst at {clock} o'clock in the {side} breast measuring {size_mm}.",
), (
    "Benign simple cyst in the {side} breast. [[BI-RADS]] 2: Benign.",
))
_abn("breast", "axilla", "node", 4, "lymph node", (
    "Abnormal {side} axillary lymph node with cortical thickening to {size_mm}.",
), (
    "Abnormal {side} axillary lymph node. [[BI-RADS]] 4: Suspicious; recommend biopsy.",
))
_incidental("breast", "Benign-appearing {side} intramammary lymph node.")


# Every fluoroscopic exam records its dose; barium studies record the contrast given.
for _region in ("chest", "abdomen_pelvis", "spine", "cardiac", "upper_limb", "lower_limb"):
    _organ(_region, "fluoro", "Fluoroscopy", "FL", (
        "Fluoroscopy time: {fl_minutes} minutes.",
        "Total fluoroscopy time was {fl_minutes} minutes; air kerma {kerma} mGy.",
        "Fluoroscopy time {fl_minutes} min, cumulative air kerma {kerma} mGy.",
    ))
for _region, _sites in (("chest", "esophagus"), ("abdomen_pelvis", "ugi sbft colon")):
    _organ(_region, "contrast", "Contrast", "FL", (
        "{barium_ml} mL of thin barium was administered.",
        "The patient ingested {barium_ml} mL of barium without difficulty.",
    ), sites=_sites)

# fmt: on

# ---------------------------------------------------------------------------------------------
# Report-level text: impressions for normal studies, history, technique, PHI-bearing lines
# ---------------------------------------------------------------------------------------------

_SLOTS["spine_name"] = lambda rng, ctx: (
    {"C": "cervical", "T": "thoracic", "L": "lumbar"}[ctx.segment],
    None,
)
_SLOTS["modality"] = lambda rng, ctx: (ctx.modality, None)
_SLOTS["contrast"] = lambda rng, ctx: (_CONTRAST[ctx.contrast], None)

# fmt: off
# (region, modality, site) -> (region, modality) -> (region,) -> () fallbacks
_NORMAL_IMPRESSIONS: dict[tuple[str, ...], tuple[Template, ...]] = {
    k: _variants(*v)
    for k, v in {
        ("chest", "XR"): (
            "No acute cardiopulmonary process.",
            "No acute cardiopulmonary abnormality.",
            "No radiographic evidence of acute cardiopulmonary disease.",
        ),
        ("chest", "CT"): (
            "No acute intrathoracic abnormality.",
            "No acute findings in the chest. No suspicious pulmonary nodule.",
        ),
        ("chest", "CT", "pe"): (
            "No pulmonary embolism.",
            "No evidence of pulmonary embolism. No acute intrathoracic abnormality.",
        ),
        ("chest", "MR"): ("Normal MRI of the chest.", "No acute intrathoracic abnormality."),
        ("chest", "US"): (
            "No pleural effusion.",
            "No sonographic evidence of pleural effusion or pneumothorax.",
        ),
        ("chest", "FL"): ("Normal esophagram.", "No stricture, aspiration, or reflux."),
        ("abdomen_pelvis", "CT"): (
            "No acute abnormality in the abdomen or pelvis.",
            "No acute intra-abdominal or pelvic process.",
        ),
        ("abdomen_pelvis", "MR"): ("Normal MRI of the abdomen.", "No acute abnormality."),
        ("abdomen_pelvis", "US"): ("Normal abdominal ultrasound.", "No sonographic abnormality."),
        ("abdomen_pelvis", "XR"): (
            "Nonobstructive bowel gas pattern.",
            "No acute abdominal radiographic abnormality.",
        ),
        ("abdomen_pelvis", "FL"): (
            "Normal fluoroscopic examination.",
            "No stricture, mass, or ulcer.",
        ),
        ("head", "CT"): (
            "No acute intracranial abnormality.",
            "No acute intracranial hemorrhage, mass effect, or territorial infarct.",
        ),
        ("head", "MR"): (
            "Normal MRI of the brain.",
            "No acute intracranial abnormality. No evidence of acute infarct.",
        ),
        ("head", "CT", "vessels"): (
            "No large vessel occlusion, significant stenosis, or aneurysm.",
        ),
        ("head", "MR", "vessels"): ("Normal MRA of the head. No aneurysm.",),
        ("head", "US"): (
            "Normal head ultrasound.",
            "No intracranial hemorrhage or hydrocephalus.",
        ),
        ("head", "XR"): ("No skull fracture.", "Normal skull radiographs."),
        ("spine",): (
            "No acute fracture or malalignment.",
            "No acute osseous abnormality of the {spine_name} spine.",
        ),
        ("spine", "MR"): (
            "No significant spinal canal or neural foraminal stenosis.",
            "Unremarkable MRI of the {spine_name} spine.",
        ),
        ("spine", "FL"): (
            "Technically successful fluoroscopically guided lumbar puncture at {level}.",
        ),
        ("cardiac", "CT", "calcium"): (
            "Coronary artery calcium score of 0.",
            "No coronary artery calcification.",
        ),
        ("cardiac", "CT", "coronary"): ("No coronary artery stenosis.",),
        ("cardiac", "MR"): (
            "Normal cardiac MRI.",
            "Normal biventricular size and function without late gadolinium enhancement.",
        ),
        ("cardiac", "US"): (
            "Normal echocardiogram.",
            "Normal left ventricular size and systolic function.",
        ),
        ("cardiac", "FL"): ("Normal coronary arteries and hemodynamics.",),
        ("upper_limb",): ("No acute fracture or dislocation.", "Normal radiographs of the {side} {joint}."),
        ("lower_limb",): ("No acute fracture or dislocation.", "Normal radiographs of the {side} {joint}."),
        ("upper_limb", "MR"): ("Normal MRI of the {side} {joint}.", "No internal derangement."),
        ("lower_limb", "MR"): ("Normal MRI of the {side} {joint}.", "No internal derangement."),
        ("upper_limb", "US", "veins"): ("No deep venous thrombosis in the {side} upper extremity.",),
        ("lower_limb", "US", "veins"): ("No deep venous thrombosis in the {side} lower extremity.",),
        ("lower_limb", "US", "knee"): ("No [[Baker cyst]] or joint effusion.",),
        ("upper_limb", "FL"): ("Technically successful fluoroscopically guided {side} {joint} arthrogram.",),
        ("lower_limb", "FL"): ("Technically successful fluoroscopically guided {side} {joint} arthrogram.",),
        ("breast", "US"): ("No sonographic evidence of malignancy. [[BI-RADS]] 1: Negative.",),
        ("breast", "MR"): ("No MRI evidence of malignancy. [[BI-RADS]] 1: Negative.",),
        (): ("No acute abnormality.", "Normal examination."),
    }.items()
}

_INDICATIONS: dict[str, tuple[Template, ...]] = {
    k: _variants(*v)
    for k, v in {
        "chest": (
            "Cough and fever.", "Shortness of breath.", "Chest pain.", "Evaluate for pneumonia.",
            "Follow-up pulmonary nodule.", "Preoperative evaluation.", "Hypoxia.", "Line placement.",
        ),
        "abdomen_pelvis": (
            "Abdominal pain.", "Right lower quadrant pain, evaluate for appendicitis.",
            "{Side} flank pain, evaluate for stone.", "Elevated liver enzymes.", "Nausea and vomiting.",
            "Weight loss.",
        ),
        "head": (
            "Headache.", "Fall with head strike.", "Altered mental status.", "Dizziness.",
            "Stroke symptoms, {side}-sided weakness.", "Seizure.",
        ),
        "spine": (
            "Low back pain radiating to the {side} leg.", "Neck pain after motor vehicle collision.",
            "Numbness and tingling.", "Back pain after fall.", "Evaluate for cord compression.",
        ),
        "cardiac": (
            "Chest pain.", "Dyspnea on exertion.", "Evaluate left ventricular function.",
            "Murmur.", "Risk stratification.",
        ),
        "upper_limb": (
            "{Side} {joint} pain after fall.", "Trauma, evaluate for fracture.",
            "{Side} arm swelling.", "Limited range of motion.",
        ),
        "lower_limb": (
            "{Side} {joint} pain.", "Twisting injury.", "{Side} leg swelling, evaluate for DVT.",
            "Pain with weight bearing.",
        ),
        "breast": (
            "Palpable {side} breast lump.", "Follow-up of probably benign finding.",
            "High-risk screening.",
        ),
    }.items()
}
_EPONYM_HISTORY = _variants(
    "History of [[Hodgkin lymphoma]].",
    "History of non-[[Hodgkin]] lymphoma, restaging.",
    "History of [[Crohn disease]].",
    "History of [[Graves disease]].",
    "Status post [[Whipple procedure]].",
    "Prior [[Salter-Harris]] fracture.",
)
_TECHNIQUES: dict[str, tuple[Template, ...]] = {
    k: _variants(*v)
    for k, v in {
        "CT": (
            "Axial CT images of the {part} were obtained {contrast}. Multiplanar reformats were reviewed.",
            "CT of the {part} {contrast}. DLP: {dlp} mGy-cm.",
        ),
        "MR": (
            "Multiplanar multisequence MR images of the {part} were obtained {contrast}.",
            "MRI of the {part} {contrast}, using standard departmental protocol.",
        ),
        "XR": ("Radiographs of the {part}.", "Two or more views of the {part} were obtained."),
        "US": (
            "Grayscale and color Doppler images of the {part} were obtained.",
            "Real-time sonography of the {part} was performed.",
        ),
        "FL": (
            "Fluoroscopic examination of the {part}. Fluoroscopy time: {fl_minutes} minutes.",
            "Fluoroscopy was used for guidance. Fluoroscopy time {fl_minutes} min.",
        ),
    }.items()
}
_COMPARISONS = _variants(
    "None.",
    "None available.",
    "{modality} of the {part} dated {prior_date}.",
    "Prior study from {prior_date}.",
    "{prior_date}.",
    "Outside {modality} from {prior_date} (report only).",
)
_HEADER_LINES: tuple[tuple[float, tuple[Template, ...]], ...] = tuple(
    (p, _variants(*v))
    for p, v in (
        (0.55, ("Patient: {pt_lf_upper}", "Patient Name: {pt_name}", "Name: {pt_lf}", "PATIENT: {pt_lf_upper}")),
        (0.55, ("MRN: {mrn}", "MR#: {mrn}", "Medical Record Number: {mrn}", "MRN {mrn}")),
        (0.35, ("DOB: {dob}", "Date of Birth: {dob}", "D.O.B. {dob}")),
        (0.5, ("Accession #{acc}", "Accession Number: {acc}", "ACC: {acc}", "Acc# {acc}")),
        (0.45, ("Exam Date: {exam_date} {time}", "Date of Service: {exam_date}", "Study Date: {exam_date} at {time}")),
        (0.35, ("Referring Physician: {ref_lf_upper}", "Ordering Provider: Dr. {ref_name}", "Referring: {ref_lf}, MD", "cc: Dr. {ref_last}")),
        (0.06, ("Address: {street}, {state} {zip}", "Home address: {street} {state} {zip}")),
        (0.04, ("SSN: {ssn}", "SSN {ssn}", "Social Security Number: {ssn}")),
        (0.08, ("Account #: {account}", "Insurance ID: {plan_id}", "Acct {account}")),
        (0.05, ("Home phone: {pt_phone}", "Patient phone {pt_phone}", "Contact: {pt_phone}")),
    )
)
_SIGNATURES = _variants(
    "Electronically signed by: {rad_name}, MD on {exam_date} at {later_time}",
    "Signed by {rad_lf_upper} M.D. {exam_date} {later_time}",
    "Attending radiologist: Dr. {rad_last}",
    "I have personally reviewed the images and agree with the findings. {rad_name_mi}, MD",
    "Dictated by: {rad_initials}  Transcribed: {exam_date}",
    "Read by: {rad_name}, M.D.",
    "Radiologist: {rad_lf}",
    "{rad_initials_bare}/dictated {exam_date} {later_time}",
)
_CONTACTS = _variants(
    "Reading room: {rr_phone}  Fax: {fax}",
    "Questions? Call {rr_phone} or e-mail {email}",
    "Fax results to {fax}",
    "Contact: {email}",
)
_FOOTERS = _variants(
    "Images available at {url}",
    "Report generated on workstation {ip}",
    "PACS: {url} (node {ip})",
)
_FINDINGS_PHI = _variants(
    "Compared with prior from {prior_date}.",
    "Comparison is made to the outside study of {prior_date}.",
    "Preliminary findings were reviewed at {time} with Dr. {ref_last}.",
    "Images reviewed with dr {ref_last_lower}.",
)
_DISCUSSIONS = _variants(
    "Findings discussed with Dr. {ref_last} by telephone at {time} on {exam_date}.",
    "These results were communicated at {time} to dr {ref_last_lower}.",
    "Discussed at {time} with {ref_name}, NP.",
    "Critical result called by {rad_initials} to Dr. {ref_name} at {later_time} on {exam_date}.",
    "Results conveyed at {time} to {ref_lf}.",
)
_ADDENDA = _variants(
    "Comparison was made with the outside study from {prior_date}; the findings are unchanged.",
    "The above findings were communicated to Dr. {ref_last} at {later_time} on {exam_date}.",
    "Please note the accession number is {acc}. Addendum signed by {rad_name}, MD.",
    "Additional images were reviewed; no change to the impression.",
)
_SHORT_FINDINGS = (
    "Unremarkable.",
    "See impression.",
    "No change from prior.",
    "Normal study.",
    "Stable.",
    "As above.",
    "Limited study, see impression.",
)
_FILLER = "No other significant abnormality is identified."
_EXAM_HEADERS = ("EXAM:", "EXAMINATION:", "PROCEDURE:", "STUDY:")
_HISTORY_HEADERS = ("CLINICAL HISTORY:", "HISTORY:", "INDICATION:", "CLINICAL INDICATION:", "REASON FOR EXAM:")
_COMPARISON_HEADERS = ("COMPARISON:", "COMPARISONS:")
_FINDINGS_MISSPELT = ("FINDNGS:", "FINIDNGS:", "FINDIGS:")
_IMPRESSION_MISSPELT = ("IMPRESSON:", "IMPRESION:", "IMPRESSIN:")
_CONTRAST = {
    "wo": "without intravenous contrast",
    "w": "with intravenous contrast",
    "wwo": "before and after intravenous contrast",
    "cta": "with intravenous contrast in the arterial phase",
    "": "as per protocol",
}
# fmt: on


# ---------------------------------------------------------------------------------------------
# Per-exam plans (precomputed once) and the text builder that tracks spans
# ---------------------------------------------------------------------------------------------


def _contrast_kind(description: str) -> str:
    """Key of `_CONTRAST` from an exam description ("CT HEAD W/O CONTRAST" -> "wo")."""
    for marker, kind in (("W/WO", "wwo"), ("W/O", "wo"), ("W/ ", "w"), ("CTA ", "cta")):
        if marker in description:
            return kind
    return ""


class _Plan:
    """What can be written for one exam code: its organ lines, observations, impressions."""

    __slots__ = ("code", "description", "modality", "region", "site", "segment", "contrast")
    __slots__ += ("organs", "abnormal_organs", "normal_impressions", "incidentals")

    def __init__(self, code: str):
        description, modality, region = EXAM_CODES[code]
        site = _EXAM_SITE[code]
        self.code, self.description, self.modality = code, description, modality
        self.region, self.site = region, site
        self.segment = (
            site if region == "spine" else ("T" if region in ("chest", "cardiac") else "L")
        )
        self.contrast = _contrast_kind(description)
        organs = []
        for organ in _ORGANS:
            if organ.region != region or modality not in organ.modalities:
                continue
            if organ.sites is not None and site not in organ.sites:
                continue
            normals = tuple(t for t, mods in organ.normals if mods is None or modality in mods)
            abnormal = tuple(
                obs
                for obs in OBSERVATIONS.values()
                if obs.region == region
                and obs.organ == organ.name
                and (obs.modalities is None or modality in obs.modalities)
                and (obs.sites is None or site in obs.sites)
            )
            if normals or abnormal:
                organs.append((organ.label, normals, abnormal))
        self.organs = tuple(organs)
        self.abnormal_organs = tuple(i for i, organ in enumerate(organs) if organ[2])
        for key in ((region, modality, site), (region, modality), (region,), ()):
            if key in _NORMAL_IMPRESSIONS:
                self.normal_impressions = _NORMAL_IMPRESSIONS[key]
                break
        self.incidentals = tuple(
            t for t, mods in _INCIDENTALS.get(region, ()) if mods is None or modality in mods
        )

    def part(self, side: str | None) -> str:
        """The anatomy named in technique/comparison lines ("right knee", "lumbar spine")."""
        region, modality = self.region, self.modality
        if region in ("upper_limb", "lower_limb"):
            limb = "upper" if region == "upper_limb" else "lower"
            return f"{side} {limb} extremity" if self.site == "veins" else f"{side} {self.site}"
        if region == "breast":
            return "bilateral breasts" if modality == "MR" else f"{side} breast"
        if region == "spine":
            return {"C": "cervical", "T": "thoracic", "L": "lumbar"}[self.segment] + " spine"
        if region == "abdomen_pelvis":
            return "abdomen and pelvis" if modality in ("CT", "MR") else "abdomen"
        if region == "head":
            return "brain" if modality == "MR" else "head"
        return {"chest": "chest", "cardiac": "heart"}[region]


_PLANS = {code: _Plan(code) for code in EXAM_CODES}


def _spread(text: str) -> str:
    """The extra-white-space defect: doubled spaces, tabs and blank lines in plain text."""
    return text.replace(". ", ".   ").replace("\n", "  \n\n").replace(", ", ",\t")


class _Doc:
    """A report under construction: a list of string pieces. Tagged pieces (PHI, kept terms)
    and section marks remember their piece index; `finish` turns indices into character
    offsets with one C-level cumulative sum, so appending stays a bare `list.append`."""

    __slots__ = ("parts", "add", "tags", "marks", "spread")

    def __init__(self, spread: bool):
        self.parts: list[str] = []
        self.add = self.parts.append
        self.tags: list[tuple[int, str]] = []  # (piece index, PHI type or KEEP)
        self.marks: dict[str, list[int]] = {}  # section -> [first piece, end piece]
        self.spread = spread  # extra-white-space defect, applied to untagged pieces at the end

    def tagged(self, text: str, tag: str) -> None:
        self.tags.append((len(self.parts), tag))
        self.parts.append(text)

    def mark(self) -> int:
        return len(self.parts)

    def render(self, template: Template, rng: random.Random, ctx: _Ctx, values: dict) -> None:
        """Append a compiled template; `values` caches slot values so that a finding and its
        impression item (rendered with the same dict) agree on side, size, level..."""
        if type(template) is str:
            self.parts.append(template)
            return
        for kind, value, base in template:
            if kind == _TEXT:
                self.parts.append(value)
            elif kind == _KEEP_TERM:
                self.tagged(value, KEEP)
            else:
                found = values.get(value)
                if found is None:
                    found = _fill(value, base, rng, ctx, values)
                text, tag = found
                if tag is None:
                    self.parts.append(text)
                else:
                    self.tagged(text, tag)

    def finish(self) -> tuple[str, list[dict], list[dict], dict[str, list[int] | None]]:
        """(text, PHI spans, kept terms, section offsets) with exact character offsets."""
        parts = self.parts
        if self.spread:
            tagged = {index for index, _ in self.tags}
            parts = [p if i in tagged else _spread(p) for i, p in enumerate(parts)]
        offsets = list(accumulate(map(len, parts), initial=0))
        spans, keep = [], []
        for index, tag in self.tags:
            start, end, text = offsets[index], offsets[index + 1], parts[index]
            if tag == KEEP:
                keep.append({"start": start, "end": end, "text": text})
            else:
                spans.append({"start": start, "end": end, "type": tag, "text": text})
        sections = {
            name: (None if mark is None else [offsets[mark[0]], offsets[mark[1]]])
            for name, mark in self.marks.items()
        }
        return "".join(parts), spans, keep, sections


def _fill(
    name: str, base: str, rng: random.Random, ctx: _Ctx, values: dict
) -> tuple[str, str | None]:
    """Draw a slot value (or reuse the uncapitalised one) and cache it in `values`."""
    found = values.get(base)
    if found is None:
        found = values[base] = _SLOTS[base](rng, ctx)
    if base != name:
        found = values[name] = (found[0][:1].upper() + found[0][1:], found[1])
    return found


# ---------------------------------------------------------------------------------------------
# Composing one report
# ---------------------------------------------------------------------------------------------


def _choose_abnormal(rng: random.Random, cfg: SynthConfig, plan: _Plan) -> list[tuple]:
    """0-3 abnormal observations from distinct organ lines; each with its own slot values."""
    if not plan.abnormal_organs or rng.random() >= cfg.abnormal_rate:
        return []
    draw = rng.random()
    count = min(1 if draw < 0.55 else 2 if draw < 0.85 else 3, len(plan.abnormal_organs))
    organ_indices = rng.sample(plan.abnormal_organs, count)
    return [(i, _pick(rng, plan.organs[i][2]), {}) for i in organ_indices]


def _write_header(doc: _Doc, rng: random.Random, ctx: _Ctx, plan: _Plan) -> None:
    lines = [variants for p, variants in _HEADER_LINES if rng.random() < p]
    for i, variants in enumerate(lines):
        doc.render(_pick(rng, variants), rng, ctx, {})
        doc.add("    " if i + 1 < len(lines) and rng.random() < 0.3 else "\n")
    doc.add(f"{_pick(rng, _EXAM_HEADERS)} {plan.description}")
    if rng.random() < 0.2:
        doc.add(" ")
        doc.render(_pick(rng, _HEADER_LINES[4][1]), rng, ctx, {})


def _write_history(doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: _Ctx, plan: _Plan) -> None:
    doc.add(f"{_pick(rng, _HISTORY_HEADERS)} ")
    if rng.random() < 0.02:
        doc.add("Patient ")
        doc.tagged(f"{ctx.pt.first} {ctx.pt.last}", "NAME")
        doc.add(" is a ")
    if ctx.age > 89:
        doc.tagged(str(ctx.age), "AGE")
    else:
        doc.add(str(ctx.age))
    sex = "female" if plan.region == "breast" else ctx.pt.sex
    doc.add(_pick(rng, ("-year-old ", " year old ", " y/o ", " yo ")) + sex + ". ")
    doc.render(_pick(rng, _INDICATIONS[plan.region]), rng, ctx, {})
    if rng.random() < cfg.eponym_history_rate:
        doc.add(" ")
        doc.render(_pick(rng, _EPONYM_HISTORY), rng, ctx, {})


def _write_findings(
    doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: _Ctx, plan: _Plan, chosen, shared
) -> None:
    """Organ lines in anatomical order: an abnormal observation replaces its organ's normal
    sentence (never "lungs are clear" next to a lung mass)."""
    structured = rng.random() < 0.35
    joiner = "\n" if structured else " "
    if rng.random() < cfg.phi_in_findings_rate:
        doc.render(_pick(rng, _FINDINGS_PHI), rng, ctx, {})
        doc.add(joiner)
    first_part = len(doc.parts)  # words are counted after the PHI sentence, which de-id shortens
    # Reports do not all mention every organ: drop a few normal lines, keeping at least 3.
    spare = sum(1 for _, normals, _ in plan.organs if normals) - 3
    abnormal = {index: (obs, values) for index, obs, values in chosen}
    separate = False
    for index, (label, normals, _) in enumerate(plan.organs):
        hit = abnormal.get(index)
        if hit is None:
            if not normals:
                continue
            if spare > 0 and rng.random() < 0.1:
                spare -= 1
                continue
        if separate:
            doc.add(joiner)
        separate = True
        if structured:
            doc.add(label + ": ")
        if hit is None:
            doc.render(_pick(rng, normals), rng, ctx, shared)
        else:
            doc.render(_pick(rng, hit[0].findings), rng, ctx, hit[1])
    if plan.incidentals and rng.random() < cfg.incidental_rate:
        doc.add(joiner + ("Other: " if structured else ""))
        doc.render(_pick(rng, plan.incidentals), rng, ctx, {})
    words = len("".join(doc.parts[first_part:]).split())
    if words < 10:  # the paper drops findings under 10 words: only planted defects may be
        doc.add(joiner + _FILLER)
        if words < 3:
            doc.add(" The remaining structures are unremarkable.")


def _write_impression(
    doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: _Ctx, plan: _Plan, items, shared
) -> None:
    """Abnormal items most severe first (numbered or run-on); a normal line otherwise."""
    if items:
        lines = [(_pick(rng, obs.impressions), values) for _, obs, values in items]
    else:
        lines = [(_pick(rng, plan.normal_impressions), shared)]
    numbered = rng.random() < (cfg.numbered_impression_rate if len(lines) > 1 else 0.15)
    for number, (template, values) in enumerate(lines, start=1):
        if number > 1:
            doc.add("\n" if numbered else " ")
        if numbered:
            doc.add(f"{number}. ")
        doc.render(template, rng, ctx, values)
    critical = bool(items) and items[0][1].severity >= 5
    if rng.random() < (cfg.critical_discussion_rate if critical else cfg.phi_in_impression_rate):
        doc.add("\n" if numbered else " ")
        doc.render(_pick(rng, _DISCUSSIONS), rng, ctx, {})


def _section_header(rng: random.Random, cfg: SynthConfig, which: str) -> str:
    draw = rng.random() - cfg.misspelled_header_rate
    if which == "findings":
        name = _pick(rng, _FINDINGS_MISSPELT)[:-1] if draw < 0 else "FINDINGS"
    elif draw < 0:
        name = _pick(rng, _IMPRESSION_MISSPELT)[:-1]
    elif draw < cfg.conclusion_header_rate:
        name = "CONCLUSION"
    elif draw < cfg.conclusion_header_rate + cfg.impression_recommendation_rate:
        name = "IMPRESSION/RECOMMENDATION"
    else:
        name = "IMPRESSION"
    return name.title() if rng.random() < 0.08 else name


def _write_trailer(doc: _Doc, rng: random.Random, ctx: _Ctx) -> None:
    """Signature, contact and footer lines (most of the PHI outside the header)."""
    if rng.random() < 0.9:
        doc.render(_pick(rng, _SIGNATURES), rng, ctx, {})
        doc.add("\n")
    if rng.random() < 0.3:
        doc.render(_pick(rng, _CONTACTS), rng, ctx, {})
        doc.add("\n")
    if rng.random() < 0.15:
        doc.render(_pick(rng, _FOOTERS), rng, ctx, {})
        doc.add("\n")


def _compose(
    rng: random.Random, cfg: SynthConfig, ctx: _Ctx, plan: _Plan, defect: str | None
) -> tuple[str, dict[str, Any]]:
    """One report text and its sidecar record (spans, keep, sections, headers, labels)."""
    doc = _Doc(spread=defect == "extra_whitespace")
    if doc.spread:
        doc.add("  \t")
    sep = "\n\n" if rng.random() < 0.6 else "\n"
    own_line = rng.random() < 0.7
    _write_header(doc, rng, ctx, plan)
    doc.add(sep)
    _write_history(doc, rng, cfg, ctx, plan)
    if rng.random() < 0.85:
        doc.add(sep + "TECHNIQUE: ")
        doc.render(_pick(rng, _TECHNIQUES[plan.modality]), rng, ctx, {})
    doc.add(f"{sep}{_pick(rng, _COMPARISON_HEADERS)} ")
    doc.render(_COMPARISONS[0 if rng.random() < 0.35 else 1 + int(rng.random() * 5)], rng, ctx, {})
    doc.add(sep)

    chosen = _choose_abnormal(rng, cfg, plan)
    items = sorted(chosen, key=lambda c: -c[1].severity)  # stable: ties keep draw order
    shared: dict = {}  # slot values shared by normal sentences and the normal impression
    doc.marks = {"findings": None, "impression": None, "addendum": None}
    headers: dict[str, str | None] = {"findings": None, "impression": None}
    combined = defect is None and rng.random() < cfg.combined_section_rate
    colon = ":\n" if own_line else ": "
    if defect != "missing_findings":
        header = "FINDINGS AND IMPRESSION" if combined else _section_header(rng, cfg, "findings")
        headers["findings"] = header
        doc.add(header + colon)
        start = doc.mark()
        if defect == "short_findings":
            doc.add(_pick(rng, _SHORT_FINDINGS))
        else:
            _write_findings(doc, rng, cfg, ctx, plan, chosen, shared)
        doc.marks["findings"] = [start, doc.mark()]
        doc.add("\n\n" if combined else sep)
    if defect != "missing_impression":
        if combined:
            headers["impression"] = "FINDINGS AND IMPRESSION"
        else:
            headers["impression"] = _section_header(rng, cfg, "impression")
            doc.add(headers["impression"] + colon)
        start = doc.mark()
        _write_impression(doc, rng, cfg, ctx, plan, items, shared)
        doc.marks["impression"] = [start, doc.mark()]
        doc.add(sep)
    if rng.random() < cfg.addendum_rate:
        doc.add("ADDENDUM:" + ("\n" if own_line else " "))
        start = doc.mark()
        doc.render(_pick(rng, _ADDENDA), rng, ctx, {})
        doc.marks["addendum"] = [start, doc.mark()]
        doc.add(sep)
    _write_trailer(doc, rng, ctx)
    if doc.spread:
        doc.add("\t \n\n")
    text, spans, keep, sections = doc.finish()
    if not doc.spread:  # one final newline whichever block came last (offsets are unaffected)
        text = text.rstrip() + "\n"
    record = {
        "spans": spans,
        "keep": keep,
        "sections": sections,
        "headers": headers,
        "labels": [obs.key for _, obs, _ in items],
    }
    return text, record


# ---------------------------------------------------------------------------------------------
# Config, chunks, public API
# ---------------------------------------------------------------------------------------------


def _rate(default: float, description: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class SynthConfig(StrictModel):
    """How the synthetic corpus is drawn. Same config + seed -> byte-identical files."""

    missing_findings_rate: float = _rate(0.02, "Share of reports without a FINDINGS section.")
    missing_impression_rate: float = _rate(0.02, "Share of reports without an IMPRESSION section.")
    short_findings_rate: float = _rate(0.02, "Share of reports whose findings have under 10 words.")
    duplicate_rate: float = _rate(
        0.02, "Share of rows that repeat an earlier report's text exactly (new report_id)."
    )
    extra_whitespace_rate: float = _rate(
        0.02, "Share of reports with extra spaces, tabs and blank lines."
    )
    empty_row_rate: float = _rate(0.02, "Share of rows with an empty report_text.")
    abnormal_rate: float = _rate(0.6, "Share of studies with 1-3 abnormal observations.")
    over89_age_rate: float = _rate(0.04, "Share of patients aged 90+ (an identifier under HIPAA).")
    phi_in_findings_rate: float = _rate(
        0.08, "Share of findings that carry PHI (prior dates, 'reviewed with Dr. X')."
    )
    phi_in_impression_rate: float = _rate(
        0.05, "Share of non-critical impressions with a 'discussed with Dr. X at TIME' line."
    )
    critical_discussion_rate: float = _rate(
        0.5, "Share of impressions with a critical (severity 5) finding that name who was called."
    )
    combined_section_rate: float = _rate(0.03, "Share under one 'FINDINGS AND IMPRESSION' header.")
    conclusion_header_rate: float = _rate(0.05, "Share titled 'CONCLUSION' instead of IMPRESSION.")
    impression_recommendation_rate: float = _rate(0.03, "Share titled 'IMPRESSION/RECOMMENDATION'.")
    misspelled_header_rate: float = _rate(0.01, "Share of headers misspelt (IMPRESSON, FINDNGS).")
    numbered_impression_rate: float = _rate(
        0.5, "Share of multi-item impressions written as '1. ... 2. ...'."
    )
    addendum_rate: float = _rate(0.05, "Share of reports with an ADDENDUM after the impression.")
    eponym_history_rate: float = _rate(
        0.08, "Share of histories naming an eponym (Hodgkin, Crohn, Graves...)."
    )
    incidental_rate: float = _rate(
        0.2, "Share of findings with a minor incidental remark that the impression leaves out."
    )
    max_reports_per_patient: int = Field(
        5, ge=1, le=50, description="Patients have 1..this many reports (patient-level splits)."
    )
    chunk_size: int = Field(
        5000,
        ge=100,
        description="Reports per independently seeded chunk (part of the output's identity).",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: CPU count). Never changes the output."
    )

    @model_validator(mode="after")
    def _defects_fit(self) -> SynthConfig:
        total = sum(getattr(self, f"{kind}_rate") for kind in DEFECT_KINDS)
        if total > 1.0:
            raise ValueError(f"defect rates sum to {total:.3f}; they must sum to at most 1")
        return self


class SynthSummary(BaseModel):
    """What `synthesize` wrote, with the exact planted counts."""

    csv_path: Path
    phi_path: Path
    meta_path: Path
    n_reports: int
    n_patients: int
    seed: int
    defect_counts: dict[str, int]
    expected_drops: dict[str, int]
    phi_counts: dict[str, int]
    keep_count: int
    seconds: float
    reports_per_second: float

    def line(self) -> str:
        defects = ", ".join(f"{k}={v}" for k, v in self.defect_counts.items())
        return (
            f"wrote {self.n_reports} reports ({self.n_patients} patients) to {self.csv_path} in "
            f"{self.seconds:.1f} s ({self.reports_per_second:,.0f} reports/s); "
            f"{sum(self.phi_counts.values())} PHI spans -> {self.phi_path.name}; defects: {defects}"
        )


def synth_paths(out_csv: str | Path) -> tuple[Path, Path, Path]:
    """(FILE.csv, FILE.phi.jsonl, FILE.synth.json) for an output path."""
    out_csv = Path(out_csv)
    stem = out_csv.name[: -len(out_csv.suffix)] if out_csv.suffix else out_csv.name
    return out_csv, out_csv.with_name(f"{stem}.phi.jsonl"), out_csv.with_name(f"{stem}.synth.json")


def _draw_defect(rng: random.Random, thresholds: tuple[tuple[float, str], ...]) -> str | None:
    draw = rng.random()
    for threshold, kind in thresholds:
        if draw < threshold:
            return kind
    return None


def _make_ctx(
    rng: random.Random,
    cfg: SynthConfig,
    patient: _Patient,
    plan: _Plan,
    day: int,
    prior: int | None,
) -> _Ctx:
    ctx = _Ctx()
    ctx.pt = patient
    ctx.rad, ctx.ref = _Person(rng), _Person(rng)
    ctx.exam_date = date.fromordinal(day)
    ctx.prior_date = date.fromordinal(prior if prior is not None else day - _randint(rng, 30, 2000))
    ctx.minutes = _randint(rng, 0, 1439)
    ctx.acc = (
        f"A{_randint(rng, 1000000, 9999999)}"
        if rng.random() < 0.6
        else str(_randint(rng, 10**7, 10**9))
    )
    ctx.modality, ctx.region, ctx.site = plan.modality, plan.region, plan.site
    ctx.segment, ctx.contrast = plan.segment, plan.contrast
    lateral = plan.region in ("upper_limb", "lower_limb", "breast")
    ctx.side = ("right" if rng.random() < 0.5 else "left") if lateral else None
    ctx.part = plan.part(ctx.side)
    ctx.age = (
        _randint(rng, 90, 104) if rng.random() < cfg.over89_age_rate else _randint(rng, 18, 89)
    )
    return ctx


def _iter_chunk(
    seed: int, chunk_index: int, start: int, count: int, cfg: SynthConfig
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Reports start..start+count-1 from their own RNG (seed, chunk index)."""
    rng = random.Random(f"radllama-synth/{seed}/{chunk_index}")
    thresholds, total = [], 0.0
    for kind in DEFECT_KINDS:
        total += getattr(cfg, f"{kind}_rate")
        thresholds.append((total, kind))
    thresholds_t = tuple(thresholds)
    produced, last_clean = 0, None
    while produced < count:
        patient = _Patient(rng, f"P{start + produced:09d}")
        day = _randint(rng, _FIRST_EXAM_DAY, _LAST_EXAM_DAY - 1000)
        prior = None
        for _ in range(min(_randint(rng, 1, cfg.max_reports_per_patient), count - produced)):
            report_id = f"R{start + produced:09d}"
            produced += 1
            defect = _draw_defect(rng, thresholds_t)
            if defect == "duplicate" and last_clean is not None:
                row, record = last_clean
                yield (
                    {**row, "report_id": report_id},
                    {
                        **record,
                        "report_id": report_id,
                        "defect": defect,
                        "duplicate_of": row["report_id"],
                    },
                )
                continue
            if defect == "duplicate":
                defect = None  # nothing clean to copy yet in this chunk: counted as clean
            code = rng.choices(_EXAM_LIST, cum_weights=_EXAM_CUM_WEIGHTS)[0]
            plan = _PLANS[code]
            ctx = _make_ctx(rng, cfg, patient, plan, day, prior)
            if defect == "empty_row":
                text, record = "", {"spans": [], "keep": [], "labels": []}
                record["sections"] = {"findings": None, "impression": None, "addendum": None}
                record["headers"] = {"findings": None, "impression": None}
            else:
                text, record = _compose(rng, cfg, ctx, plan, defect)
            row = {
                "report_id": report_id,
                "patient_id": patient.patient_id,
                "exam_code": code,
                "exam_description": plan.description,
                "report_date": ctx.exam_date.isoformat(),
                "report_text": text,
            }
            record = {"report_id": report_id, **record, "defect": defect, "duplicate_of": None}
            yield row, record
            if defect is None:
                last_clean = (row, record)
            prior, day = day, day + _randint(rng, 1, 200)


def _chunks(n_reports: int, seed: int, cfg: SynthConfig) -> list[tuple]:
    return [
        (seed, index, start, min(cfg.chunk_size, n_reports - start), cfg)
        for index, start in enumerate(range(0, n_reports, cfg.chunk_size))
    ]


def iter_reports(
    n_reports: int, seed: int, config: SynthConfig | None = None
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Yield (CSV row dict, sidecar record) for each report, exactly as `synthesize` writes them."""
    cfg = config or SynthConfig()
    for args in _chunks(n_reports, seed, cfg):
        yield from _iter_chunk(*args)


# Defects that `radllama prepare` drops before it looks for duplicate pairs (its rule order:
# empty_row, no_findings, no_impression, short_findings, duplicate).
_DROPPED_BEFORE_DEDUP = frozenset(
    {"empty_row", "missing_findings", "missing_impression", "short_findings"}
)


def _deidentified_section(text: str, bounds: list[int], spans: list[dict]) -> str:
    """A section as perfect de-identification (`radllama.deid` placeholders, e.g. MRN and SSN
    both become "[ID]") followed by white space collapse would leave it."""
    from radllama.deid import PLACEHOLDERS

    start, end = bounds
    pieces, cursor = [], start
    for span in spans:  # spans are in text order
        if start <= span["start"] and span["end"] <= end:
            pieces += (text[cursor : span["start"]], PLACEHOLDERS[span["type"]])
            cursor = span["end"]
    pieces.append(text[cursor:end])
    return " ".join("".join(pieces).split())


def pair_key(text: str, record: dict[str, Any]) -> int:
    """64-bit key of a report's de-identified (findings, impression) pair (duplicate check)."""
    findings = _deidentified_section(text, record["sections"]["findings"], record["spans"])
    impression = _deidentified_section(text, record["sections"]["impression"], record["spans"])
    digest = hashlib.blake2b(f"{findings}\x00{impression}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _render_chunk(args: tuple) -> tuple[str, str, dict[str, Any]]:
    """Worker: one chunk -> (CSV text, JSONL text, counts and pair keys)."""
    csv_buffer, lines = io.StringIO(), []
    writer = csv.writer(csv_buffer, lineterminator="\n")
    defects, phi, modalities, regions = Counter(), Counter(), Counter(), Counter()
    patients, keep, keys = set(), 0, []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row, record in _iter_chunk(*args):
        writer.writerow([row[c] for c in CSV_COLUMNS])
        lines.append(dumps(record))
        defects[record["defect"] or "none"] += 1
        phi.update(span["type"] for span in record["spans"])
        keep += len(record["keep"])
        patients.add(row["patient_id"])
        modalities[EXAM_CODES[row["exam_code"]][1]] += 1
        regions[EXAM_CODES[row["exam_code"]][2]] += 1
        if record["defect"] not in _DROPPED_BEFORE_DEDUP:
            keys.append(pair_key(row["report_text"], record))
    lines.append("")
    stats = {
        "defects": defects,
        "phi": phi,
        "keep": keep,
        "patients": len(patients),
        "modalities": modalities,
        "regions": regions,
        "pair_keys": [np.array(keys, np.uint64)],
    }
    return csv_buffer.getvalue(), "\n".join(lines), stats


def _map_chunks(chunks: list[tuple], workers: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Render chunks in order, in worker processes when there is more than one chunk."""
    if workers <= 1 or len(chunks) <= 1:
        yield from map(_render_chunk, chunks)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(min(workers, len(chunks))) as pool:
        yield from pool.imap(_render_chunk, chunks)


def _check_output(path: Path) -> None:
    """Fail early, in one line, when the output cannot be written."""
    if path.is_dir():
        raise DataError(
            f"--out {path} is a directory; pass a file name such as {path / 'reports.csv'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".tmp"), "w"):
            pass
    except OSError as error:
        raise DataError(
            f"cannot write {path} ({error.strerror or error}); choose a writable --out path"
        ) from None


def _write_corpus(
    chunks: list[tuple], workers: int, tmp_csv: Path, tmp_phi: Path, progress: bool
) -> dict[str, Any]:
    """Render every chunk in order into the two temp files; returns the summed counts.

    On any failure (or Ctrl-C) the temp files are removed: nothing half-written is left that
    could be mistaken for a corpus.
    """
    from rich.console import Console
    from rich.progress import Progress

    totals: dict[str, Any] = {
        "defects": Counter(),
        "phi": Counter(),
        "keep": 0,
        "patients": 0,
        "modalities": Counter(),
        "regions": Counter(),
        "pair_keys": [],
    }
    n_reports = sum(chunk[3] for chunk in chunks)
    try:
        with (
            open(tmp_csv, "w", encoding="utf-8", newline="") as csv_file,
            open(tmp_phi, "w", encoding="utf-8", newline="") as phi_file,
            Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar,
        ):
            task = bar.add_task("synthesising reports", total=n_reports)
            csv.writer(csv_file, lineterminator="\n").writerow(CSV_COLUMNS)
            for csv_text, jsonl_text, stats in _map_chunks(chunks, workers):
                csv_file.write(csv_text)
                phi_file.write(jsonl_text)
                for key, value in stats.items():
                    totals[key] += value
                bar.advance(task, sum(stats["defects"].values()))
    except BaseException:
        tmp_csv.unlink(missing_ok=True)
        tmp_phi.unlink(missing_ok=True)
        raise
    return totals


def synthesize(
    n_reports: int,
    seed: int,
    out_csv: str | Path,
    *,
    config: SynthConfig | None = None,
    progress: bool = True,
) -> SynthSummary:
    """Write FILE.csv, FILE.phi.jsonl and FILE.synth.json; returns the planted counts."""
    cfg = config or SynthConfig()
    if n_reports < 1:
        raise ConfigError(f"--reports must be at least 1 (got {n_reports}); pass a positive count")
    csv_path, phi_path, meta_path = synth_paths(out_csv)
    for path in (csv_path, phi_path, meta_path):
        _check_output(path)
    tmp_csv, tmp_phi, tmp_meta = (p.with_name(p.name + ".tmp") for p in synth_paths(csv_path))
    tmp_meta.unlink(missing_ok=True)  # only probed by _check_output; write_json makes its own
    started = time.perf_counter()
    workers = cfg.workers or os.cpu_count() or 1
    totals = _write_corpus(_chunks(n_reports, seed, cfg), workers, tmp_csv, tmp_phi, progress)
    tmp_csv.replace(csv_path)
    tmp_phi.replace(phi_path)
    seconds = time.perf_counter() - started
    defect_counts = {kind: totals["defects"][kind] for kind in DEFECT_KINDS}
    keys = np.concatenate(totals.pop("pair_keys"))
    expected_drops = {
        "empty_row": defect_counts["empty_row"],
        "no_findings": defect_counts["missing_findings"],
        "no_impression": defect_counts["missing_impression"],
        "short_findings": defect_counts["short_findings"],
        # planted duplicates plus normal studies whose templated text happens to coincide
        "duplicate": int(len(keys) - len(np.unique(keys))),
    }
    summary = SynthSummary(
        csv_path=csv_path,
        phi_path=phi_path,
        meta_path=meta_path,
        n_reports=n_reports,
        n_patients=totals["patients"],
        seed=seed,
        defect_counts=defect_counts,
        expected_drops=expected_drops,
        phi_counts={kind: totals["phi"][kind] for kind in PHI_TYPES},
        keep_count=totals["keep"],
        seconds=seconds,
        reports_per_second=n_reports / max(seconds, 1e-9),
    )
    _write_meta(summary, cfg, totals)
    return summary


def _write_meta(summary: SynthSummary, cfg: SynthConfig, totals: dict[str, Any]) -> None:
    """FILE.synth.json: deterministic (no timings, relative file names), so reruns compare equal."""
    from radllama.provenance import write_json

    write_json(
        summary.meta_path,
        {
            "generator": "radllama.synth",
            "n_reports": summary.n_reports,
            "seed": summary.seed,
            # `workers` never changes the output, so it is not part of the corpus's identity
            "config": cfg.model_dump(exclude={"workers"}),
            "files": {"csv": summary.csv_path.name, "phi": summary.phi_path.name},
            "n_patients": summary.n_patients,
            "defect_counts": summary.defect_counts,
            "clean_reports": summary.n_reports - sum(summary.defect_counts.values()),
            "expected_drops": summary.expected_drops,
            "expected_drops_note": (
                "what `radllama prepare` drops given exact sections and perfect "
                "de-identification (radllama.deid placeholders); duplicate = repeated (findings, impression) pair after "
                "de-identification and white space collapse, first occurrence kept"
            ),
            "phi_counts": summary.phi_counts,
            "keep_count": summary.keep_count,
            "modality_counts": dict(sorted(totals["modalities"].items())),
            "region_counts": dict(sorted(totals["regions"].items())),
        },
    )
