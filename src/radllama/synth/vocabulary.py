"""The synthetic corpus's vocabulary: what the reports of `radllama.synth.corpus` are made of.

Data, kept apart from the generator logic in `radllama.synth.corpus` so that each reads on its own:

- templates: ``"{slot}"`` is filled per report, ``"[[term]]"`` is a clinical term that
  de-identification must keep; `_compile` splits them once at import;
- slot fillers (measurements, sides, levels, bones) and the PHI vocabulary (people,
  addresses, dates, phone numbers, identifiers), each slot returning (text, tag);
- clinical vocabulary: per-organ normal sentences and abnormal observations (one FINDINGS
  sentence + one IMPRESSION item from the same slot values, with a severity);
- report-level text: normal impressions per region, histories, techniques, comparisons,
  signatures, PHI-bearing lines, addenda.

Changing anything here changes the corpus (the bytes `radllama synth` writes for a seed).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date
from typing import Any

KEEP = "KEEP"  # tag of a planted clinical term (not PHI) in the span tracker

# ---------------------------------------------------------------------------------------------
# Templates: "{slot}" is filled per report, "[[term]]" is a clinical term to keep
# ---------------------------------------------------------------------------------------------

_TEMPLATE_RE = re.compile(r"\{(\w+)\}|\[\[(.+?)\]\]")
TEXT, KEEP_TERM, _SLOT = 0, 1, 2
Template = str | tuple[tuple[int, str, str], ...]  # (kind, text or slot, slot base)
SlotFn = Callable[[random.Random, "Ctx"], tuple[str, str | None]]
SLOTS: dict[str, SlotFn] = {}


def _compile(template: str) -> Template:
    """Split a template into (kind, value) parts once; a plain string stays a string.

    >>> _compile("A [[Baker cyst]] on the {Side}.")
    ((0, 'A ', ''), (1, 'Baker cyst', ''), (0, ' on the ', ''), (2, 'Side', 'side'), (0, '.', ''))
    """
    parts: list[tuple[int, str]] = []
    position = 0
    for match in _TEMPLATE_RE.finditer(template):
        if match.start() > position:
            parts.append((TEXT, template[position : match.start()], ""))
        if match.group(1):
            slot = match.group(1)
            if _slot_base(slot) not in SLOTS:
                raise KeyError(f"unknown template slot {{{slot}}} in {template!r}")
            parts.append((_SLOT, slot, _slot_base(slot)))
        else:
            parts.append((KEEP_TERM, match.group(2), ""))
        position = match.end()
    if position < len(template):
        parts.append((TEXT, template[position:], ""))
    if all(part[0] == TEXT for part in parts):
        return template
    return tuple(parts)


def randint(rng: random.Random, low: int, high: int) -> int:
    """Uniform integer in [low, high]; ~4x cheaper than `Random.randint` in the hot path."""
    return low + int(rng.random() * (high - low + 1))


def _slot_base(name: str) -> str:
    """Slot names with a capital first letter ("Side") reuse the lower-case slot, capitalised."""
    return name[0].lower() + name[1:]


def _variants(*templates: str) -> tuple[Template, ...]:
    return tuple(_compile(t) for t in templates)


def _slot(name: str) -> Callable[[SlotFn], SlotFn]:
    def register(fn: SlotFn) -> SlotFn:
        SLOTS[name] = fn
        return fn

    return register


def _choice_slot(name: str, options: tuple[str, ...], tag: str | None = None) -> None:
    SLOTS[name] = lambda rng, ctx: (options[int(rng.random() * len(options))], tag)


def _keep_number_slot(name: str, low: int, high: int, unit: str, tenths: bool = False) -> None:
    """A measurement slot ("8 mm", "2.4 cm"): measurements are kept by de-identification."""

    def fill(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
        value = randint(rng, low, high)
        text = f"{value // 10}.{value % 10} {unit}" if tenths else f"{value} {unit}"
        return text, KEEP

    SLOTS[name] = fill


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
SLOTS["pct"] = lambda rng, ctx: (str(randint(rng, 20, 60)), None)
SLOTS["stenosis_pct"] = lambda rng, ctx: (str(randint(rng, 70, 95)), None)
SLOTS["agatston"] = lambda rng, ctx: (str(randint(rng, 11, 950)), None)
SLOTS["ef_normal"] = lambda rng, ctx: (str(randint(rng, 55, 70)), None)
SLOTS["ef_low"] = lambda rng, ctx: (str(randint(rng, 20, 40)), None)
SLOTS["clock"] = lambda rng, ctx: (str(randint(rng, 1, 12)), None)
SLOTS["fl_minutes"] = lambda rng, ctx: (f"{randint(rng, 3, 60) / 10:.1f}", None)
SLOTS["transit_min"] = lambda rng, ctx: (str(randint(rng, 4, 24) * 5), None)
SLOTS["dlp"] = lambda rng, ctx: (str(randint(rng, 80, 1400)), None)
SLOTS["kerma"] = lambda rng, ctx: (str(randint(rng, 5, 400)), None)
SLOTS["gauge"] = lambda rng, ctx: (pick(rng, ("20", "22", "25")), None)
SLOTS["contrast_ml"] = lambda rng, ctx: (str(randint(rng, 3, 20)), None)
SLOTS["barium_ml"] = lambda rng, ctx: (str(randint(rng, 10, 60) * 10), None)
SLOTS["gad_ml"] = lambda rng, ctx: (str(randint(rng, 5, 15)), None)

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
def _side(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    # Limb exams have one side per report; elsewhere each observation draws its own.
    return (ctx.side or ("right" if rng.random() < 0.5 else "left")), None


@_slot("level")
def _level(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    return rng.choice(_SPINE_LEVELS[ctx.segment]), KEEP


@_slot("vertebra")
def _vertebra(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    return rng.choice(_VERTEBRAE[ctx.segment]), KEEP


@_slot("bone")
def _bone(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    return rng.choice(_LIMB_BONES.get(ctx.site or "", ("distal radius",))), None


@_slot("joint")
def _joint(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    return ctx.site if ctx.site in _LIMB_BONES else "knee", None


@_slot("part")
def _part(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
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
FIRST_EXAM_DAY = date(2012, 1, 1).toordinal()
LAST_EXAM_DAY = date(2023, 12, 31).toordinal()

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


def pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    # int(random() * n) is ~3x faster than rng.choice and equally uniform for small n.
    return options[int(rng.random() * len(options))]


class Person:
    __slots__ = ("first", "last", "middle")

    def __init__(self, rng: random.Random):
        self.first = pick(rng, _FIRST_NAMES)
        self.last = pick(rng, _LAST_NAMES)
        self.middle = "ABCDEFGHJKLMNPRSTW"[int(rng.random() * 18)]


class Patient(Person):
    """Identifiers that stay the same across a patient's reports."""

    __slots__ = ("patient_id", "mrn", "ssn", "dob", "street", "zip", "phone", "account", "sex")

    def __init__(self, rng: random.Random, patient_id: str):
        super().__init__(rng)
        self.patient_id = patient_id
        self.mrn = str(randint(rng, 1000000, 99999999))
        self.ssn = (randint(rng, 100, 899), randint(rng, 10, 99), randint(rng, 1000, 9999))
        self.dob = date.fromordinal(
            randint(rng, date(1920, 1, 1).toordinal(), date(2005, 12, 31).toordinal())
        )
        number = randint(rng, 1, 9999)
        apartment = f", Apt {randint(rng, 1, 40)}" if rng.random() < 0.2 else ""
        self.street = (
            f"{number} {pick(rng, _STREETS)} {pick(rng, _STREET_TYPES)}{apartment}, "
            f"{pick(rng, _CITIES)}"
        )
        self.zip = f"{randint(rng, 1001, 99950):05d}" + (
            f"-{randint(rng, 1000, 9999)}" if rng.random() < 0.2 else ""
        )
        self.phone = (
            pick(rng, _AREA_CODES),
            str(randint(rng, 200, 999)),
            f"{randint(rng, 0, 9999):04d}",
        )
        self.account = str(randint(rng, 10000000, 999999999))
        self.sex = "male" if rng.random() < 0.5 else "female"


class Ctx:
    """Everything a report's templates may refer to."""

    __slots__ = ("pt", "rad", "ref", "exam_date", "prior_date", "minutes", "acc", "modality")
    __slots__ += ("region", "site", "segment", "side", "part", "age", "contrast")


def _person_slots(prefix: str, attr: str) -> None:
    """Register the surface forms of one person's name ("Jane Smith", "SMITH, JANE", "J.S."...)."""
    forms: dict[str, Callable[[Person], str]] = {
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
        SLOTS[f"{prefix}_{form}"] = lambda rng, ctx, render=render: (
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
    return pick(rng, _AREA_CODES), str(randint(rng, 200, 999)), f"{randint(rng, 0, 9999):04d}"


def _fmt_ssn(rng: random.Random, ssn: tuple[int, int, int]) -> str:
    a, b, c = ssn
    return f"{a}-{b}-{c}" if rng.random() < 0.7 else f"{a}{b}{c}"


SLOTS["exam_date"] = lambda rng, ctx: (_fmt_date(rng, ctx.exam_date), "DATE")
SLOTS["prior_date"] = lambda rng, ctx: (_fmt_date(rng, ctx.prior_date), "DATE")
SLOTS["dob"] = lambda rng, ctx: (_fmt_date(rng, ctx.pt.dob), "DATE")
SLOTS["time"] = lambda rng, ctx: (_fmt_time(rng, ctx.minutes), "TIME")
SLOTS["later_time"] = lambda rng, ctx: (
    _fmt_time(rng, ctx.minutes + randint(rng, 15, 180)),
    "TIME",
)
SLOTS["mrn"] = lambda rng, ctx: (ctx.pt.mrn, "MRN")
SLOTS["acc"] = lambda rng, ctx: (ctx.acc, "ACCESSION")
SLOTS["ssn"] = lambda rng, ctx: (_fmt_ssn(rng, ctx.pt.ssn), "SSN")
SLOTS["account"] = lambda rng, ctx: (ctx.pt.account, "ID")
SLOTS["plan_id"] = lambda rng, ctx: (f"HP{ctx.pt.account[::-1]}", "ID")
SLOTS["device_id"] = lambda rng, ctx: (f"PM{randint(rng, 1000000, 9999999)}", "ID")
SLOTS["pt_phone"] = lambda rng, ctx: (_fmt_phone(rng, ctx.pt.phone), "PHONE")
SLOTS["rr_phone"] = lambda rng, ctx: (_fmt_phone(rng, _random_phone(rng)), "PHONE")
SLOTS["fax"] = lambda rng, ctx: (_fmt_phone(rng, _random_phone(rng)), "FAX")
SLOTS["street"] = lambda rng, ctx: (ctx.pt.street, "ADDRESS")
SLOTS["zip"] = lambda rng, ctx: (ctx.pt.zip, "ZIP")
SLOTS["state"] = lambda rng, ctx: (pick(rng, _STATES), None)  # a state is not PHI
SLOTS["age90"] = lambda rng, ctx: (str(ctx.age), "AGE")


@_slot("email")
def _email(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    person = ctx.rad
    user = f"{person.first[0]}{person.last}".lower().replace(" ", "").replace("'", "")
    return f"{user}@{pick(rng, _DOMAINS)}", "EMAIL"


@_slot("url")
def _url(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    domain = pick(rng, _DOMAINS)
    if rng.random() < 0.5:
        return f"https://pacs.{domain}/viewer?accession={ctx.acc}", "URL"
    return f"www.{domain}/patients/{ctx.pt.mrn}/images", "URL"


@_slot("ip")
def _ip(rng: random.Random, ctx: Ctx) -> tuple[str, str | None]:
    if rng.random() < 0.5:
        return f"10.{randint(rng, 0, 255)}.{randint(rng, 0, 255)}.{randint(rng, 1, 254)}", "IP"
    return f"192.168.{randint(rng, 0, 255)}.{randint(rng, 1, 254)}", "IP"


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


ORGANS: list[_Organ] = []
OBSERVATIONS: dict[str, Observation] = {}
"""Observation key ("chest/lungs/nodule") -> Observation; sidecar `labels` use these keys."""
INCIDENTALS: dict[str, list[tuple[Template, frozenset[str] | None]]] = {}


def _organ(
    region: str,
    name: str,
    label: str,
    modalities: str,
    normals: tuple[NormalSpec, ...],
    sites: str | None = None,
) -> None:
    """Register a findings line; `modalities`/`sites` are space-separated allow-lists."""
    ORGANS.append(_Organ(region, name, label, modalities, normals, sites))


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
    INCIDENTALS.setdefault(region, []).append((_compile(template), mods))


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

SLOTS["spine_name"] = lambda rng, ctx: (
    {"C": "cervical", "T": "thoracic", "L": "lumbar"}[ctx.segment],
    None,
)
SLOTS["modality"] = lambda rng, ctx: (ctx.modality, None)
SLOTS["contrast"] = lambda rng, ctx: (_CONTRAST[ctx.contrast], None)

# fmt: off
# (region, modality, site) -> (region, modality) -> (region,) -> () fallbacks
NORMAL_IMPRESSIONS: dict[tuple[str, ...], tuple[Template, ...]] = {
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

INDICATIONS: dict[str, tuple[Template, ...]] = {
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
EPONYM_HISTORY = _variants(
    "History of [[Hodgkin lymphoma]].",
    "History of non-[[Hodgkin]] lymphoma, restaging.",
    "History of [[Crohn disease]].",
    "History of [[Graves disease]].",
    "Status post [[Whipple procedure]].",
    "Prior [[Salter-Harris]] fracture.",
)
TECHNIQUES: dict[str, tuple[Template, ...]] = {
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
COMPARISONS = _variants(
    "None.",
    "None available.",
    "{modality} of the {part} dated {prior_date}.",
    "Prior study from {prior_date}.",
    "{prior_date}.",
    "Outside {modality} from {prior_date} (report only).",
)
HEADER_LINES: tuple[tuple[float, tuple[Template, ...]], ...] = tuple(
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
SIGNATURES = _variants(
    "Electronically signed by: {rad_name}, MD on {exam_date} at {later_time}",
    "Signed by {rad_lf_upper} M.D. {exam_date} {later_time}",
    "Attending radiologist: Dr. {rad_last}",
    "I have personally reviewed the images and agree with the findings. {rad_name_mi}, MD",
    "Dictated by: {rad_initials}  Transcribed: {exam_date}",
    "Read by: {rad_name}, M.D.",
    "Radiologist: {rad_lf}",
    "{rad_initials_bare}/dictated {exam_date} {later_time}",
)
CONTACTS = _variants(
    "Reading room: {rr_phone}  Fax: {fax}",
    "Questions? Call {rr_phone} or e-mail {email}",
    "Fax results to {fax}",
    "Contact: {email}",
)
FOOTERS = _variants(
    "Images available at {url}",
    "Report generated on workstation {ip}",
    "PACS: {url} (node {ip})",
)
FINDINGS_PHI = _variants(
    "Compared with prior from {prior_date}.",
    "Comparison is made to the outside study of {prior_date}.",
    "Preliminary findings were reviewed at {time} with Dr. {ref_last}.",
    "Images reviewed with dr {ref_last_lower}.",
)
DISCUSSIONS = _variants(
    "Findings discussed with Dr. {ref_last} by telephone at {time} on {exam_date}.",
    "These results were communicated at {time} to dr {ref_last_lower}.",
    "Discussed at {time} with {ref_name}, NP.",
    "Critical result called by {rad_initials} to Dr. {ref_name} at {later_time} on {exam_date}.",
    "Results conveyed at {time} to {ref_lf}.",
)
ADDENDA = _variants(
    "Comparison was made with the outside study from {prior_date}; the findings are unchanged.",
    "The above findings were communicated to Dr. {ref_last} at {later_time} on {exam_date}.",
    "Please note the accession number is {acc}. Addendum signed by {rad_name}, MD.",
    "Additional images were reviewed; no change to the impression.",
)
SHORT_FINDINGS = (
    "Unremarkable.",
    "See impression.",
    "No change from prior.",
    "Normal study.",
    "Stable.",
    "As above.",
    "Limited study, see impression.",
)
FILLER = "No other significant abnormality is identified."
EXAM_HEADERS = ("EXAM:", "EXAMINATION:", "PROCEDURE:", "STUDY:")
HISTORY_HEADERS = ("CLINICAL HISTORY:", "HISTORY:", "INDICATION:", "CLINICAL INDICATION:", "REASON FOR EXAM:")
COMPARISON_HEADERS = ("COMPARISON:", "COMPARISONS:")
FINDINGS_MISSPELT = ("FINDNGS:", "FINIDNGS:", "FINDIGS:")
IMPRESSION_MISSPELT = ("IMPRESSON:", "IMPRESION:", "IMPRESSIN:")
_CONTRAST = {
    "wo": "without intravenous contrast",
    "w": "with intravenous contrast",
    "wwo": "before and after intravenous contrast",
    "cta": "with intravenous contrast in the arterial phase",
    "": "as per protocol",
}
# fmt: on
