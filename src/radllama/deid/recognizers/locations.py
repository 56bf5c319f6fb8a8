"""Places: street addresses, ZIP codes, PO boxes, cities (before a state, after an address) and
hospital names and acronyms."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.lexicons import (
    CLINICAL_ACRONYMS,
    COMMON_SET,
    HOSPITAL_NAMES,
    STATE_CODES,
    STATE_NAMES,
    US_CITIES,
)
from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import _plain_trie, _trie
from radllama.deid.spans import Span

_STREET_WORDS = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|"
    "Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Plaza|Trail|Pike|Row"
)
# Title case or ALL CAPS ("2113 NW HIGHLAND AVENUE", "8751 CHURCH DR").
_STREET = rf"(?:{_STREET_WORDS}|{_STREET_WORDS.upper()})\.?(?![A-Za-z])"
_ADDRESS_TAIL = (
    r"(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|Floor|Fl|APT|SUITE|STE|UNIT|ROOM|RM)\.?"
    r"[ ]?#?[0-9A-Za-z-]+|,?[ ]#[0-9A-Za-z-]+)?"
    r"(?:,[ ]?(?:[A-Z][a-z]+|[A-Z]{3,})(?:[ ](?:[A-Z][a-z]+|[A-Z]{3,})){0,2}"
    r"(?:,?[ ][A-Z]{2}(?![A-Za-z]))?"
    r"(?:,?[ ][0-9]{5}(?:-[0-9]{4})?(?![0-9]))?)?"
)

_IN_CITY_RE = re.compile(r"[ ](?:in|IN)[ ](?P<c>[A-Z][A-Za-z]+(?:[ ][A-Z][A-Za-z]+)?)(?![A-Za-z])")
_FACILITY_LINK = frozenset({"of", "the", "and", "&"})
_FACILITY_WORD_RE = re.compile(r"[^\s,;:()|/\[\]]+")
# One trie of all spellings (not ~250 alternatives tried after every ", ").
_CITY_STATE_RE = re.compile(
    r",[ ]"
    + _plain_trie(
        STATE_CODES
        + [s.lower() for s in STATE_CODES]
        + STATE_NAMES
        + [s.upper() for s in STATE_NAMES]
        + [s.lower() for s in STATE_NAMES]
    )
    + r"(?![A-Za-z])(?![ ][A-Z][a-z])"
)
# State codes that are also words or credentials (", or", ", IN", ", MD").
_WORD_STATES = frozenset("OR IN ME HI OK OH PA MA DE LA AL CO ID IA MD MO NE AR".split())
_ZIP_AFTER_RE = re.compile(r"[ ][0-9]{5}")
_CITY_WORD_RE = re.compile(r"(?:[A-Z][A-Za-z.'-]*|[a-z][a-z'-]+)$")
# Words that open a facility's name before its capitalised words ("Our Lady of Lourdes").
_FACILITY_HEAD_RE = re.compile(r"(?:[Oo]ur|OUR|[Tt]he|THE)[ ]$")
# A lower-case hospital acronym where a place is expected: three letters ending in h with no
# vowel ("mgh", "svh") or one ending in "mc" ("ucmc", "pmc").
_LOWER_ACRONYM_RE = re.compile(
    r"(?:[ (\n]|^)(?P<a>[b-df-hj-np-tv-z]{2}h|[a-z]{1,2}mc)(?=[ ,.;)\n]|$)"
)
_LOWER_ACRONYM_HEADS = ("from ", "at ", "at: ", ", ", "(", "\n")
_CITY_AFTER_ADDRESS_RE = re.compile(
    r",[ ](?P<c>[A-Za-z][A-Za-z'-]*\.?(?:[ ][A-Za-z][A-Za-z'-]*){0,2})(?=\.?(?:\n|$)|[.;)][ ]|;|\))"
)
_ABBREVIATED_CITY_RE = re.compile(r"\.[ ][A-Z][a-z]+(?:[ ][A-Z][a-z]+)?(?=[.,;)]|\n|$)")
_IN_ANY_CITY_RE = re.compile(r"[ ](?:in|IN)[ ](?P<c>[A-Za-z.]+(?:[ ][A-Za-z.-]+){0,2})")


def _known_city(text: str, comma: int) -> int | None:
    """Length of the gazetteer city (one to three words) that ends at `comma`, or None."""
    head = text[max(0, comma - 30) : comma]
    cut = max(head.rfind(c) for c in "\n,(|;:")
    words = head[cut + 1 :].lstrip().split(" ")
    for n in (3, 2, 1):
        if len(words) >= n:
            name = " ".join(words[-n:])
            if name.lower() in US_CITIES:
                return len(name)
    return None


# "Brought by New Haven EMS", "Dayton Fire": a gazetteer city names the service that brought
# the patient (the service word itself is no identifier)
_CITY_SERVICE_RE = re.compile(r"[ ](?:EMS|Fire|Police|PD|Ambulance|Rescue)\b")


class LocationRules:
    """Mixin of `Deidentifier` (uses its `allow`, `cue_stop` and the other rule methods)."""

    def _city_services(self, text: str, found: list[Span]) -> None:
        """A known city right before EMS/Fire/Police/PD: a CITY span; a name-shaped span
        inside the city and the service word ("Haven EMS") is dropped, one that reaches
        outside them ("John Reno" before "Reno PD") is kept."""
        for service in _CITY_SERVICE_RE.finditer(text):
            end = service.start()
            size = _known_city(text, end)
            if size is None:
                continue
            start = end - size
            found[:] = [
                span
                for span in found
                if not (span.kind == "NAME" and start <= span.start and span.end <= service.end())
            ]
            found.append(Span(start, end, "CITY"))

    def _facility(self, text: str, start: int, end: int, lower: bool = False) -> Span | None:
        """Walk back over the capitalised words before a facility word ("Valley Spine
        Institute", "University of New Mexico Medical Center"); in a report written in lower
        case (`lower`) over lower-case words too ("fairview regional medical center")."""
        line_start = text.rfind("\n", 0, start) + 1
        words = list(_FACILITY_WORD_RE.finditer(text, max(line_start, start - 80), start))
        kept: list[re.Match[str]] = []
        for word in reversed(words):
            value = word.group()
            if text[word.end() : kept[-1].start() if kept else start].strip():
                break  # punctuation between the words: another phrase
            if value.lower() in _FACILITY_LINK:
                kept.append(word)
                continue
            if value.lower() in COMMON_SET and (lower or not value[:1].isupper()):
                break
            if not (value[:1].isupper() or lower):
                break
            kept.append(word)
            if len(kept) >= 6:
                break
        # leading links and common or clinical words are not part of the name ("FROM", "THE")
        while kept and (
            kept[-1].group().lower() in _FACILITY_LINK
            or kept[-1].group().lower().strip(".'’") in self.cue_stop
        ):
            lead = " ".join(w.group() for w in reversed(kept[-3:])).lower()
            if any(" ".join(lead.split()[:n]) in US_CITIES for n in (2, 3)):
                break  # "New Haven Cancer Institute": a city opens the name
            kept.pop()
        if not kept:
            return None
        names = [
            w.group().strip(".'’").lower() for w in kept if w.group().lower() not in _FACILITY_LINK
        ]
        names = [n[:-2] if n.endswith("'s") else n for n in names]
        if all(n in self.cue_stop for n in names):
            return None  # "Department of Radiology"; eponym place names ("Greenfield") count
        first = kept[-1].start()
        head = _FACILITY_HEAD_RE.search(text, max(line_start, first - 8), first)
        if head is not None and (lower or text[head.start()].isupper()):
            first = head.start()  # "Our Lady of Lourdes ...", "The Willows Assisted Living"
        return self._with_city(text, first, end)

    def _with_city(self, text: str, start: int, end: int) -> Span:
        """A facility span, extended over " in Toledo" (the city it is in) when that follows."""
        if text.startswith((" of ", " OF "), end):
            place = _OF_PLACE_RE.match(text, end)
            if place is not None:
                words = place.group().split()[1:]
                if not any(w.lower() in self.cue_stop for w in words if w != "the"):
                    end = place.end()
        city = _IN_ANY_CITY_RE.match(text, end)  # "... medical center in savannah dated"
        if city is not None:
            words = city.group("c").split(" ")
            for n in (3, 2, 1):
                if len(words) >= n and " ".join(words[:n]).lower() in US_CITIES:
                    return Span(start, city.start("c") + len(" ".join(words[:n])), "HOSPITAL")
        city = _IN_CITY_RE.match(text, end)
        if city and not any(w.lower() in self.allow for w in city.group("c").split()):
            return Span(start, city.end(), "HOSPITAL")
        return Span(start, end, "HOSPITAL")

    def _hospital_acronym(self, text: str, start: int, end: int) -> Span | None:
        """ "SJMC" anywhere; "MGH", "SVH" only where a place is expected (after "from", "at", a
        comma, or at the start of a header line), never a clinical abbreviation (SAH, ICH)."""
        token = text[start:end]
        if len(token) < 3 or token.lower() in self.allow or token in CLINICAL_ACRONYMS:
            return None
        if text.startswith("|", end) and (start == 0 or text[start - 1] == "\n"):
            return None  # an HL7 segment name ("MSH|"), not a hospital
            return None
        if not token.endswith("MC"):
            head = text[max(0, start - 6) : start]
            line_start = start == 0 or text[start - 1] == "\n"
            if not (
                line_start
                or head.endswith(
                    (", ", "from ", "FROM ", "at ", "AT ", "AT: ", "at: ", "site: ", "SITE: ")
                )
                or (head.endswith("(") and text.startswith(", ", end))  # "(MGH, Ann Arbor, MI"
                or text.startswith((" PACS", " pacs"), end)  # "Images pushed to MGH PACS"
                # a header column: "RIS WORKLIST  MR1  JRH  11/08/2014"
                or (head.endswith("  ") and text.startswith("  ", end))
            ):
                return None
        return self._with_city(text, start, end)

    def _city(self, text: str, comma: int, state_end: int) -> Span | None:
        """The one to three words before ", ST" ("Fort Wayne, IN"); None if they are clinical."""
        state = text[comma + 2 : state_end]
        known = _known_city(text, comma)
        if len(state) == 2 and not _ZIP_AFTER_RE.match(text, state_end):
            # Without a ZIP after it, a code that is also a word or a credential ("..., or
            # pneumothorax", "NO FRACTURES, OR", "June Black, MD") is not a state; a lower-case
            # code never is. Full state names and other codes stand on their own.
            if state.islower() and len(text) > comma + 4 and not text[comma + 4].isalpha():
                if known is None or text[comma + 4] not in ")\n;|":
                    return None  # "(el paso, tx)" stays: a known city, closed like a place
            if state.upper() in _WORD_STATES and text[comma + 4 : comma + 5] not in (
                "",
                ")",
                "\n",
                ";",
            ):
                return None
        if known is not None:  # "St. Louis, MO", "Salem, OR": the gazetteer knows them
            return Span(comma - known, comma, "CITY")
        head = text[max(0, comma - 40) : comma]
        cut = max(head.rfind(c) for c in "\n,(|;:")
        words = head[cut + 1 :].split(" ")
        words = [w for w in words if w]
        taken: list[str] = []
        for word in reversed(words[-3:]):
            if not _CITY_WORD_RE.match(word) or word.lower() in COMMON_SET:
                break
            taken.append(word)
        if not taken or any(w.lower().strip(".") in self.cue_stop for w in taken):
            return None  # "no displaced rib fractures, or ...": clinical words are no city
        length = len(" ".join(reversed(taken)))
        return Span(comma - length, comma, "CITY")


# "... Hospital of Providence", "Internal Medicine Associates of Las Vegas": the place after
# "of" belongs to the facility's name
_OF_PLACE_RE = re.compile(
    r"[ ](?:of|OF)[ ](?:the[ ]|THE[ ])?[A-Z][A-Za-z.'-]+(?:[ ][A-Z][A-Za-z.'-]+){0,2}"
)
# A facility acronym where a facility is expected: "performed at LIA.", "Site: PCI",
# "Thank you for choosing UHC", "BH MRN: 203072898", "fax correspondence to DMWHC Radiology".
_FACILITY_CUES = (
    "at ",
    "AT ",
    "choosing ",
    "[Ss]ite: ",
    "SITE: ",
    "[Ll]ocation: ",
    "LOCATION: ",
    "[Ff]acility: ",
    "FACILITY: ",
    "[Ii]nstitution: ",
    "INSTITUTION: ",
    "[Ff]rom ",
    "FROM ",
    "[Tt]ransferred from ",
)
_FACILITY_ACRONYM = (
    "(?=[A-Z])(?:(?:"
    + "|".join(rf"(?<=\b{cue}[A-Z])" for cue in _FACILITY_CUES)
    + r")[A-Z]{1,6}(?![A-Za-z0-9])"
    + r"|[A-Z]{1,6}(?=[ ](?:MRN|Radiology|RADIOLOGY|Imaging)(?![A-Za-z])))"
)
_NOT_FACILITIES = frozenset(
    "CT MR MRI US XR PET NM CR DX MG RF IR CTA MRA ED ER ICU OR PACU".split()
)


def _facility_acronym(deid: Any, text: str, match: re.Match[str]) -> Span | None:
    token = match.group()
    if "XXX" in token:
        return None  # Open-i's placeholder: "at XXXXPM"
    if token in _NOT_FACILITIES or token in CLINICAL_ACRONYMS or token.lower() in deid.allow:
        return None
    if token in STATE_CODES:
        return None  # "from TX"
    return deid._with_city(text, match.start(), match.end())


def _known_hospital(deid: Any, text: str, match: re.Match[str]) -> Span:
    """A gazetteer hospital, with " in Lowell" after it."""
    return deid._with_city(text, match.start(), match.end())


def _hospital_or_surname(deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """ "SJMC", "MGH" where a place is expected; otherwise the acronym shape may be a surname
    ("CASE REVIEWED WITH OH, MEI")."""
    start, end = match.span()
    span = deid._hospital_acronym(text, start, end)
    if span is None and text[start:end].lower() not in deid.allow:
        from radllama.deid.recognizers.names import NAMEISH_RE

        name = NAMEISH_RE.match(text, start)
        if name is not None:
            return deid._nameish_candidate(text, start, name.end("name_rest"))
    return span


RECOGNIZERS = [
    Recognizer(
        "street_address",
        "ADDRESS",
        "digit",
        r"[0-9]{0,5}[A-Z]?[ ](?:(?:[NSEW]\.?|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST"
        r"|WEST)[ ])?(?:[0-9]+(?:st|nd|rd|th|ST|ND|RD|TH)[ ]"
        r"|(?:(?:[A-Z][a-z]+|[A-Z]{2,}|del|de|la|DEL|DE|LA)[ ]){1,4}(?:(?:Jr|JR|Sr|SR)\.?[ ])?)"
        + _STREET
        + _ADDRESS_TAIL,
        order=160,
        example="2113 NW Highland Avenue, Apt 4, Macon, GA 31201",
    ),
    # A street in a report written in lower case: "7246 east spring ave"; the number has
    # 2-5 digits and only full street words (not "st", "dr", "ct") end it.
    Recognizer(
        "street_address_lower",
        "ADDRESS",
        "digit",
        r"[0-9]{1,4}[ ](?!(?:mm|cm|ml|mg|kg|views?|images?|series|levels?|days?|weeks?)[ ])"
        r"(?:(?:north|south|east|west|[nsew]\.?|ne|nw|se|sw)[ ])?(?:[a-z][a-z'-]+[ ]){1,3}"
        r"(?:(?:street|avenue|ave|road|boulevard|blvd|drive|lane|court|place|terrace|parkway"
        r"|highway|circle|trail|pike|way)\.?(?![A-Za-z])"
        # abbreviations that are also words ("st", "dr") only where the street name ends
        r"|(?:ln|pkwy|st|dr|rd|ct|pl|ter|hwy|cir)\.?(?=[ ]?(?:,|\n|$|[ ](?:apt|suite|unit)[ ])))"
        r"(?:,?[ ](?:apt|suite|ste|unit|rm|room)\.?[ ]?#?[0-9][0-9a-z-]*(?![a-z0-9]))?",
        order=170,
        example="7246 east spring ave",
    ),
    Recognizer(
        "zip_code",
        "ZIP",
        "digit_after_word",
        r"[0-9]{4}(?:-[0-9]{4})?(?![0-9])",
        order=10,
        cues=("[A-Z][A-Z] ", "[A-Z][A-Z], ", "ZIP: "),
        example="Macon, GA 31201",
    ),
    Recognizer(
        "po_box",
        "ADDRESS",
        "capital",
        _trie(["PO", "P.O.", "P. O."]) + r"[ ]?(?:Box|BOX)[ ]+[0-9]+",
        order=40,
        example="PO Box 4209",
    ),
    Recognizer(
        "facility_acronym",
        "HOSPITAL",
        "capital",
        _FACILITY_ACRONYM,
        order=55,
        validate=_facility_acronym,
        example="performed at LIA.",
    ),
    Recognizer(
        "known_hospital",
        "HOSPITAL",
        "capital",
        _trie(sorted(set(HOSPITAL_NAMES) | {name.upper() for name in HOSPITAL_NAMES}))
        + r"(?![A-Za-z])",
        validate=_known_hospital,
        order=54,  # before facility_acronym: "site: UW Medicine" is more than "UW"
        example="Outside study from Mass General",
    ),
    # Hospital abbreviations: "SJMC", "MGH", "SVH" (checked in Python: context, not clinical).
    Recognizer(
        "hospital_acronym",
        "HOSPITAL",
        "capital",
        r"[A-Z]{0,3}(?:MC|H|HC|HS)(?![A-Za-z0-9])",
        order=60,
        validate=_hospital_or_surname,
        example="transferred from SJMC",
    ),
]
