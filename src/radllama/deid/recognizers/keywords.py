"""Keyword-led families: one scan of a lower-cased copy of the text for ~150 plain keywords
(ID and device words, logins, typists, spelled-out ages, lower-case name cues, facility words,
months, phrases that follow a name), then the value after each keyword."""

from __future__ import annotations

import itertools
import re

from radllama.deid.lexicons import (
    CLINICAL_ACRONYMS,
    CLINICAL_SET,
    COMMON_SET,
    FACILITY_WORDS,
    FIRST_NAMES,
    WORD_SURNAMES,
)
from radllama.deid.recognizers.ages import (
    _AGE_AFTER_RE,
    _AGE_KEYWORDS,
    _AGE_PLAIN_KEYWORDS,
    _AGE_PLAIN_RE,
)
from radllama.deid.recognizers.contact import (
    _EMAIL_LOCAL,
    _SCHEME,
    _URL_TRAIL,
    BARE_URL_RE,
    EMAIL_RE,
    TLD_RE,
    URL_RE,
    WWW_RE,
)
from radllama.deid.recognizers.family import FAMILY_WORDS
from radllama.deid.recognizers.ids import (
    _BED_LETTER_END_RE,
    _ID_KEYWORDS,
    _ID_VALUE_AFTER_RE,
    _USER_AFTER_RE,
    _USER_KEYWORDS,
)
from radllama.deid.recognizers.locations import (
    _CITY_STATE_RE,
    _LOWER_ACRONYM_HEADS,
    _LOWER_ACRONYM_RE,
)
from radllama.deid.recognizers.names import (
    _DRS_AND_LOWER_RE,
    _INITIAL_SURNAME_RE,
    _LOWER_CREDENTIAL_RE,
    _LOWER_NEXT_WORD_RE,
    _SIGNOFF_END_RE,
    DR_LOWER_RE,
)
from radllama.deid.recognizers.patterns import (
    _LO,
    _UP,
    _is_lower_report,
    _month_words,
    _plain_trie,
    _walk_back,
)
from radllama.deid.spans import Span

# "Transcribed by: rm"
_TYPIST_KEYWORDS = ["transcribed by", "typed by"]
_TYPIST_AFTER_RE = re.compile(r"[ ]?:?[ ](?P<v>[a-zß-öø-ÿ]{2,3})(?![a-zß-öø-ÿ.])")
# Lower-case names after a cue: "dictated by: smith, john md", "dr. fatima abu-rahma".
# Strong cues apply in any report; weak ones ("by", "per", "contact") only in a report written
# in lower case, where a capital letter cannot mark a name.
_LOWER_STRONG = (
    """dr dr. drs drs. cc: son, daughter, wife, husband, nurse, sonographer technologist
dictated -- transcriptionist d/w""".split()
    + [
        "dictated by",
        "signed by",
        "performed with",
        "reviewed with",
        "discussed with",
        "spoke with",
        "left with",
        "given to",
        "called to",
        "routed to",
        "system to",
        "forwarded to",
        "copied to",
    ]
)
_LOWER_WEAK = ["by", "per", "contact", "final by", "report by", "read by", "results with"]
# Label cues ("pt: romano, marco w", "rad: graves"): the value is a name even if it is an
# eponym, as after "Dr."
_LOWER_LABELS = (
    """pt: name: patient: rad: resident: referring: attending: radiologist: fellow:
technologist: ordering: physician: transcriptionist:""".split()
    + ["pt name:", "patient name:", "ordering physician:", "notified:", "signed:"]
)
_LOWER_NAME_AFTER_RE = re.compile(
    r":?[ ]+(?:dr\.?[ ]+)?"
    r"(?P<v>[a-zß-öø-ÿĀ-ž][a-zß-öø-ÿĀ-ž'.-]*(?:,?[ ][a-zß-öø-ÿĀ-ž][a-zß-öø-ÿĀ-ž'.-]*){0,5})"
)
# Phrases that follow a person's name: the words before them are walked back as a name
# ("Pieter van der Berg was informed", "patient li t. hodgkin (mrn ...", "FOR SANNE DE VRIES,
# DOB", "referring physician Seo-yeon Zhang notified of", "zhang, niamh m.d.").
_ANCHOR_KEYWORDS = [
    "was informed",
    "was notified",
    "was paged",
    "was contacted",
    "was told",
    "notified of",
    "mrn",
    "dob",
    "m.d.",
]
# ID keywords that also close a name when they follow it: "svetlana graves (beeper 52458)",
# "-- april nowak, pgr #87885".
_NAME_CLOSING_IDS = frozenset({"pager", "beeper", "pgr", "ext", "extension", "job"})
# Words that only switch on a later rule (`NameContextRules._names_in_context`), so that rule
# costs nothing on a report without them: the keyword scan already visits every word.
TRIGGERS = {
    **dict.fromkeys(["hi", "hello", "hey", "thanks", "thank you"], "greet"),
    "-": "dash",
    "/": "slash",
    "x": "ext",
    **dict.fromkeys(
        ["following up on", "follow up on", "section chief", "routed to", "by attending"]
        + ["discussed with", "shown to"],
        "cue",
    ),
    **dict.fromkeys(["attendees:", "present:", "participants:"], "people"),
    **dict.fromkeys(
        "returns comes presents reports states denies underwent arrives".split()
        + ["was last", "was seen", "is a", "is an"],
        "opening",
    ),
}
_KEYWORD_KIND: dict[str, str] = {}
for _kind, _words in (
    ("ID", _ID_KEYWORDS),
    ("USER", _USER_KEYWORDS),
    ("AGEWORD", _AGE_KEYWORDS),
    ("AGEPLAIN", _AGE_PLAIN_KEYWORDS),
    ("POBOX", ["po box", "p.o. box"]),
    ("FROM", ["from"]),
    ("TYPIST", _TYPIST_KEYWORDS),
    ("LOWER", _LOWER_STRONG),
    ("LOWERWEAK", _LOWER_WEAK),
    ("LOWERLABEL", _LOWER_LABELS),
    ("MONTH", sorted({m.lower() for m in _month_words()})),
    ("FACILITY", [w.lower() for w in FACILITY_WORDS]),
    ("ANCHOR", _ANCHOR_KEYWORDS),
    ("FAMILY", sorted(FAMILY_WORDS)),
    ("TRIGGER", sorted(TRIGGERS)),
):
    for _word in _words:
        _KEYWORD_KIND.setdefault(_word, _kind)


# Run on the lower-cased text: the lead is the blank or "(" before a keyword (a charset
# prefix, so ``re`` jumps between blanks in C: ~1.5x faster than any non-letter as the lead),
# the keyword is a trie behind it; the text's first word is matched separately.
_KEYWORD_TRIE = _plain_trie(_KEYWORD_KIND)
_KEYWORD_RE = re.compile(r"[ \t\n(](?P<k>" + _KEYWORD_TRIE + r")(?![a-z])")
_KEYWORD_AT_START_RE = re.compile(r"(?P<k>" + _KEYWORD_TRIE + r")(?![a-z])")
_KEYWORD_AFTER = {
    "ID": _ID_VALUE_AFTER_RE,
    "USER": _USER_AFTER_RE,
    "AGEWORD": _AGE_AFTER_RE,
    "AGEPLAIN": _AGE_PLAIN_RE,
    "POBOX": re.compile(r"[ ]?#?(?P<v>[0-9]+)"),
    "FROM": re.compile(r"(?!)"),  # handled before the value match (initial + surname)
    "TYPIST": _TYPIST_AFTER_RE,
    "LOWER": _LOWER_NAME_AFTER_RE,
    "LOWERWEAK": _LOWER_NAME_AFTER_RE,
    "LOWERLABEL": _LOWER_NAME_AFTER_RE,
    "MONTH": re.compile(
        r"(?P<v>\.?[ ]?(?:[0-9]{1,2}(?:st|nd|rd|th)?(?![0-9])(?:,?[ ][0-9]{4}(?![0-9]))?"
        r"|[0-9]{4}(?![0-9])))"
    ),
}
# Typist initials alone on a line: "TA/nc", "GW/HH", "kz/rp", "GR/KÓ".
_TYPIST_LINE_RE = re.compile(rf"/(?P<b>[{_UP}{_LO}]{{2,3}})[ \t]*(?:\n|$)")
_LAST_FIRST_LINE_RE = re.compile(
    r"[ ][a-zß-öø-ÿ'-]+(?:[ ][a-zß-öø-ÿ'-]+)?,[ ][a-zß-öø-ÿ'-]+(?:[ ][a-z]\.?)?[ ]*(?:\n|$)"
)
_TYPIST_PAIR_RE = re.compile(rf"[{_UP}{_LO}]{{2,3}}")
# A lower-case name alone at a line start before an age: "shreya willis, 104 year old woman".
_LOWER_NAME_AGE_RE = re.compile(
    r"(?m)^(?P<n>[a-zß-öø-ÿĀ-ž'-]+(?:[ ][a-zß-öø-ÿĀ-ž.'-]+){1,3})"
    r"(?=, (?:[0-9]{1,3}[- ]?|[a-z]+(?:-[a-z]+)*[- ])(?:years?|yrs?|yo|y/o)(?![a-z]))"
)


class KeywordRules:
    """Mixin of `Deidentifier` (uses its `allow`, `cue_stop` and the other rule methods)."""

    def _rare(self, text: str, low: str, found: list[Span]) -> None:
        """Families behind cheap substring checks: e-mail, URL, lower-case "dr smith", an
        initial + surname closing the report. `low`: `text` lower-cased, same offsets."""
        if "@" in text:
            for m in EMAIL_RE.finditer(text):
                start = _walk_back(text, m.start(), _EMAIL_LOCAL)
                if start < m.start():
                    found.append(Span(start, m.end(), "EMAIL"))
        urls = list(URL_RE.finditer(text)) if "://" in text else []
        if "www." in text or "WWW." in text:
            urls += WWW_RE.finditer(text)
        if TLD_RE.search(low) is not None:
            urls += (
                m
                for m in BARE_URL_RE.finditer(text)
                if "/" in m.group() or m.start() == 0 or text[m.start() - 1] in " \t\n(:"
            )
        for m in urls:
            start = (
                _walk_back(text, m.start(), _SCHEME) if m.group().startswith("://") else m.start()
            )
            end = m.end()
            while end > start and text[end - 1] in _URL_TRAIL:
                end -= 1
            found.append(Span(start, end, "URL"))
        # "...questions. H. de Vries": the regex is tried only where ". X. " starts in the last
        # 40 characters (str.find runs in C; a regex search there tried every position)
        dot = text.find(". ", max(0, len(text) - 42))
        while dot >= 0:
            if text.startswith(". ", dot + 3):
                tail = _SIGNOFF_END_RE.match(text, dot + 2)
                if tail is not None:
                    if tail.group("s").lower() not in CLINICAL_SET:
                        found.append(Span(tail.start("n"), tail.end("n"), "NAME"))
                    break
            dot = text.find(". ", dot + 1)
        has_dr = "dr " in low or "dr." in low or "drs" in low  # DR_LOWER_RE needs one of them
        for m in DR_LOWER_RE.finditer(text) if has_dr else ():  # "with dr smith", "dr hill"
            last = m.group().rsplit(None, 1)[-1]
            # after a capital "Dr" even a clinical word is a surname ("Notified Dr stone")
            if last not in CLINICAL_SET or (text[m.start()] == "D" and last not in COMMON_SET):
                end = m.end()
                more = _LOWER_NEXT_WORD_RE.match(text, end)  # "dr. april kennedy"
                if more is not None and (
                    more.group("w") not in self.cue_stop
                    # "dr. wei ng": after a given name a short clinical word is the surname;
                    # "dr. kavya stone": after a given name that is no word, a word surname
                    or (last in FIRST_NAMES and more.group("w") not in COMMON_SET)
                    or (last not in self.allow and more.group("w") in WORD_SURNAMES)
                ):
                    end = more.end()
                found.append(Span(m.start("lower_name"), end, "NAME"))
                if m.group()[:3].lower() == "drs":  # "drs. nguyen-tran and cushing"
                    other = _DRS_AND_LOWER_RE.match(text, end)
                    if other is not None and other.group("w") not in self.cue_stop:
                        found.append(Span(other.start("w"), other.end("w"), "NAME"))
        if ", md" in text or ", m.d." in text or ", rn" in text or ", do" in text:
            # "reviewed by dorothy hill, md": a lower-case name before md/rn (substring checks
            # first: `in` is a C memchr scan, ~10x cheaper than running the regex on every text)
            for m in _LOWER_CREDENTIAL_RE.finditer(text):
                span = self._lower_name_before(text, m.start())
                if span is not None:
                    found.append(span)

    def _keyword_families(
        self, text: str, low: str, found: list[Span], triggers: set[str] | None = None
    ) -> None:
        """Identifiers found by a keyword: short IDs, logins, typists, spelled-out ages,
        lower-case names, facilities and cities. Collects the `TRIGGERS` seen into
        `triggers` (and "ext", "id_comma", "drs" for the rules that need them)."""
        triggers = set() if triggers is None else triggers
        lower_report = None
        covered_to = -1
        first = _KEYWORD_AT_START_RE.match(low)
        for m in itertools.chain([first] if first else [], _KEYWORD_RE.finditer(low)):
            start, end = m.span("k")
            if start < covered_to:
                continue  # inside a value already taken
            word = m.group("k")
            kind = _KEYWORD_KIND[word]
            if kind == "TRIGGER":
                triggers.add(TRIGGERS[word])
                continue
            if word in ("ext", "extension"):
                triggers.add("ext")
            elif word in ("mrn", "dob") and text[start - 2 : start] == ", ":
                triggers.add("id_comma")
            elif word in ("drs", "drs."):
                triggers.add("drs")
            if kind == "FAMILY":  # "per sister Romina", "Karla (mother)"
                self._family_at(text, start, end, found)
                continue
            if kind == "FACILITY":
                upper = text[start].isupper()  # "Hospital", "HOSPITAL"; not "the device clinic"
                if not upper and lower_report is None:
                    lower_report = _is_lower_report(text)
                if upper or lower_report:
                    span = self._facility(text, start, end, lower=not upper)
                    if span is not None:
                        found.append(span)
                continue
            if word.endswith(("by", "from")):  # "obtained from J. BEST:", "report by W. STONE;"
                initial = _INITIAL_SURNAME_RE.match(text, end)
                if initial is not None:
                    surname = initial.group("s")
                    bare = surname.lower()
                    # "BY W. STONE;", "by J. Stone at": a capitalised surname after an initial
                    # may be a word; in lower case it may not ("by e. coli" stays either way)
                    if surname[:1].isupper() or (
                        bare not in self.cue_stop and bare not in CLINICAL_SET
                    ):
                        found.append(Span(initial.start("n"), initial.end("n"), "NAME"))
                if kind == "FROM":
                    continue
            if kind == "ANCHOR" or (
                word in _NAME_CLOSING_IDS
                and (text[start - 1 : start] == "(" or text[start - 2 : start] == ", ")
            ):
                if lower_report is None:
                    lower_report = _is_lower_report(text)
                # "was informed" needs capitals in a mixed-case report; "(mrn", ", dob",
                # "(pager" after a lower-case phrase is evidence enough
                needs_caps = word.startswith(("was ", "notified"))
                span = self._name_before_anchor(text, start, lower_report, needs_caps)
                if span is not None:
                    found.append(span)
                if word == "was paged":  # "was paged (#2208)": the number after it is a pager
                    kind = "ID"
                elif kind == "ANCHOR":
                    continue
            if word == "--" and start and text[start - 1] != "\n":
                if not _LAST_FIRST_LINE_RE.match(text, end):
                    continue  # "-- jane doe, pgr 123" at a line start; "x -- pre op" is none
                # "final report -- rossi, marco\n": a "last, first" closing the line is a name
            tail = _KEYWORD_AFTER[kind].match(low, end)
            if tail is None:
                continue
            if kind == "LOWERWEAK" and text[tail.start("v") : tail.end("v")].islower():
                if lower_report is None:  # a report written in lower case
                    lower_report = _is_lower_report(text)
                if not lower_report:
                    continue
            if kind == "AGEWORD" or kind == "AGEPLAIN":
                found.append(Span(start, tail.end(), "AGE"))
                continue
            if kind == "POBOX":  # "po box 564" (capitalised "PO Box" is in CAP_RE)
                found.append(Span(start, tail.end(), "ADDRESS"))
                continue
            v_start, v_end = tail.span("v")
            value = text[v_start:v_end]
            if kind == "ID":
                if value.isalpha() and not value.isupper():
                    if not _BED_LETTER_END_RE.match(text, v_end):
                        continue  # "bed a few" in prose; "micu bed a." / "ed bed d\n" are beds
                found.append(Span(v_start, v_end, "ID"))
                covered_to = v_end  # "order 123 bed 4": the value is not another keyword
            elif kind == "USER":
                if value.lower() not in self.cue_stop and (
                    value.islower() or any(c.isdigit() for c in value) or len(value) >= 3
                ):
                    found.append(Span(v_start, v_end, "NAME"))
            elif kind == "TYPIST":
                found.append(Span(v_start, v_end, "NAME"))
            elif kind == "MONTH":
                if text[start].islower():  # "feb. 16, 2010", "june 2003"; capitals: CAP_RE
                    found.append(Span(start, v_end, "DATE"))
            elif value.islower() or value.isdigit() is False and value == value.lower():
                label = kind == "LOWERLABEL" or word == "--"  # "-- jane graves, pgr": a name
                span = self._lower_name(text, v_start, v_end, label=label)
                if span is not None:
                    found.append(span)
                    if word in ("drs", "drs."):  # "drs. nguyen-tran and cushing"
                        other = _DRS_AND_LOWER_RE.match(text, span[1])
                        if other is not None and other.group("w") not in self.cue_stop:
                            found.append(Span(other.start("w"), other.end("w"), "NAME"))
        if "/" in text:
            for m in _TYPIST_LINE_RE.finditer(text):
                slash = m.start()
                line_start = text.rfind("\n", 0, slash) + 1
                initials, second = text[line_start:slash], m.group("b")
                if not _TYPIST_PAIR_RE.fullmatch(initials):
                    continue
                # "TA/nc", "kz/rp", "ap/bk", "MD/ML": at most one half may be a clinical
                # abbreviation ("AP/LAT", "pa/lat" are views, not typists)
                if not (initials.lower() in CLINICAL_SET and second.lower() in CLINICAL_SET):
                    found.append(Span(line_start, slash, "NAME"))
                    found.append(Span(m.start("b"), m.end("b"), "NAME"))
        # "performed at: ucmc", "from svh, warren": lower-case hospital acronyms, only in a
        # report written in lower case; the capital count (~1.3 us) runs only for texts whose
        # first letters are lower case
        if lower_report is None and text[:40].islower():
            lower_report = _is_lower_report(text)
        if lower_report:
            for m in _LOWER_NAME_AGE_RE.finditer(text):  # "shreya willis, 104 year old woman"
                span = self._column_name(text, m.start("n"), m.end("n"))
                if span is not None:
                    found.append(span)
            for m in _LOWER_ACRONYM_RE.finditer(text):
                token = m.group("a")
                if token in self.allow or token.upper() in CLINICAL_ACRONYMS:
                    continue
                head = text[max(0, m.start() - 5) : m.start() + 1]
                if (
                    m.start() == 0
                    or head.endswith(_LOWER_ACRONYM_HEADS)
                    or text.startswith(" pacs", m.end("a"))
                ):
                    found.append(self._with_city(text, m.start("a"), m.end("a")))
        if ", " in text:
            for m in _CITY_STATE_RE.finditer(text):
                span = self._city(text, m.start(), m.end())
                if span is not None:
                    found.append(span)
