"""Names known by where they sit: header columns next to an identifier already found, a name
alone above a date line, sign-off initials, the words before "was informed" or "(mrn"."""

from __future__ import annotations

import re

from radllama.deid.lexicons import (
    CLINICAL_ACRONYMS,
    COMMON_SET,
    FIRST_NAMES,
    GIVEN_WORDS,
    ROLE_WORDS,
    US_CITIES,
    WORD_SURNAMES,
)
from radllama.deid.recognizers.ages import _AGE_IN_PARENS_RE
from radllama.deid.recognizers.dates import MILITARY_AFTER_DATE_RE
from radllama.deid.recognizers.locations import _ABBREVIATED_CITY_RE, _CITY_AFTER_ADDRESS_RE
from radllama.deid.recognizers.names import _CAPS_ONLY_TERMS
from radllama.deid.recognizers.patterns import (
    _CREDENTIAL_WORDS,
    _LINE_END_RE,
    _LO,
    _LOWER_PARTICLES,
    _UP,
)
from radllama.deid.spans import Span

# Layout: identifiers next to which a name-shaped column is a name (see Deidentifier._layout).
_LAYOUT_ANCHORS = frozenset({"DATE", "MRN", "ACCESSION", "ID", "SSN"})
_COLUMN_GAP_END_RE = re.compile(r"(?:[ ]{2,}|\t+|[ ]?\|[ ]?|[ ]\(|[ ]?\(#?|,[ ])$")
_COLUMN_GAP_RE = re.compile(r"[ ]{2,}|\t|[ ]\|")
_COLUMN_NAME_RE = re.compile(
    rf"[{_UP}{_LO}][{_UP}{_LO}'’-]*\.?,?(?:[ ][{_UP}{_LO}][{_UP}{_LO}'’-]*\.?,?){{1,3}}"
)
_SIGNOFF_INITIALS_RE = re.compile(rf"(?:^|\.[ ]|\n)(?P<i>[{_UP}]{{2,3}}|[a-z]{{2,3}})[ ]$")
_SIGNOFF_HEAD_RE = re.compile(r"(?:(?:SIGNED|Signed|signed):?[ ]+)?")


# "Sent: Saturday, June 25, 2022": the weekday belongs to the date
_WEEKDAY_BEFORE_RE = re.compile(
    r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun|MON|TUES|WEDNES|THURS|FRI|SATUR|SUN)(?:day|DAY),?[ ]$"
)
# "submitted by ksamuelsso 09/23": a month/day right after a name
_MONTH_DAY_AFTER_RE = re.compile(
    r"[ ](?P<d>(?:1[0-2]|0?[1-9])/(?:3[01]|[12][0-9]|0?[1-9]))(?![0-9/])"
)
# "RIS WORKLIST  NM1  BH  09/15/22": a short acronym column right before a date column
_ACRONYM_COLUMN_RE = re.compile(r"(?:^|[ ]{2})(?P<a>[A-Z]{2,6})[ ]{2,}$")
# ", Acc 12-954673, MHB\n": an upper-case site acronym that ends the line after an ID
_SITE_AFTER_ID_RE = re.compile(r", (?P<s>[A-Z]{1,5})(?=\n|$)")
_MODALITIES = frozenset("CT MR US XR PET NM CR DX MG RF IR CTA MRA MRI DEXA".split())
_ANCHOR_WORD_RE = re.compile(rf"[{_UP}{_LO}][{_UP}{_LO}'’-]*\.?")


def line_start_of(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _column_gap_end(text: str, line_start: int, end: int) -> re.Match[str] | None:
    """`_COLUMN_GAP_END_RE.search(text[line_start:end])`, tried on the last 12 characters
    first: every gap shorter than the window that ends at `end` lies inside it, so only a gap
    that reaches the window's start (a long run of blanks) needs the whole line."""
    window = max(line_start, end - 12)
    gap = _COLUMN_GAP_END_RE.search(text[window:end])
    if gap is None or (gap.start() > 0 or window == line_start):
        if gap is None:
            return None
        return _COLUMN_GAP_END_RE.search(text[line_start:end], window - line_start + gap.start())
    return _COLUMN_GAP_END_RE.search(text[line_start:end])


class LayoutRules:
    """Mixin of `Deidentifier` (uses its `allow`, `cue_stop` and the other rule methods)."""

    def _layout(self, text: str, found: list[Span]) -> None:
        """Names known only by where they sit next to identifiers already found: a compact
        header line "22-oct-17  svetlana sullivan  acc 9602986404" or "haddad, willem
        (216239503)" (a name-shaped column between a date/ID and a column gap), and
        sign-off initials before a closing date ("... not left). SG 10-30-2014")."""
        taken = []
        for start, end, kind in found:
            if kind not in _LAYOUT_ANCHORS:
                continue
            line_start = text.rfind("\n", 0, start) + 1
            if kind == "DATE" and line_start == start and start >= 2:
                # "li suzuki\n11/11/15 9:51 pm", "JESÚS DEL RÍO\nNOVEMBER 12, 2005": a name
                # alone on the line above a line that starts with a date signs the report
                above = text.rfind("\n", 0, start - 1) + 1
                span = self._column_name(text, above, start - 1)
                if span is not None:
                    taken.append(span)
                    continue
            before = text[line_start:start]
            gap = _column_gap_end(text, line_start, start)
            if gap is not None:  # "rice, linda   30-oct-1962", "haddad, willem (2162...)"
                seg_end = line_start + gap.start()
                head = text[line_start:seg_end]
                cut = max(head.rfind("  "), head.rfind("\t"), head.rfind("|"))
                seg_start = line_start + cut + 1 if cut >= 0 else line_start
                span = self._column_name(text, seg_start, seg_end)
                if span is not None:
                    taken.append(span)
            elif kind == "DATE" and _LINE_END_RE.match(text, end):
                head = _SIGNOFF_HEAD_RE.match(before)  # "Chiara Esposito 13 October 2016."
                if head is not None and len(before) > head.end() + 4:
                    span = self._column_name(text, line_start + head.end(), start, strict=True)
                    if span is None:  # "Maria Paget Jan 14, 2010.": a given name, then a surname
                        first = before[head.end() :].split(" ", 1)[0].lower()
                        # "Sterling Paget Feb 8, 2004.", "Will Bou Khalil 23.04.2017.": a given
                        # name that is no word (or a given name that is one), then the surname
                        if first in FIRST_NAMES or first in GIVEN_WORDS or first not in self.allow:
                            span = self._column_name(text, line_start + head.end(), start)
                    if span is not None:
                        taken.append(span)
                        continue

            if kind == "DATE" and (end == len(text) or text[end] == "\n"):
                initials = _SIGNOFF_INITIALS_RE.search(text, max(0, start - 6), start)
                letters = initials.group("i") if initials is not None else ""
                if letters and letters.upper() not in _MODALITIES:
                    # lower-case "swc oct 31, 2013" only when it is not a word ("am", "on")
                    if letters not in CLINICAL_ACRONYMS and letters not in self.allow:
                        taken.append(Span(initials.start("i"), initials.end("i"), "NAME"))
            if text.startswith("  ", end) or text.startswith("\t", end):  # "6/2/06  ADA LI  ACC"
                line_end = text.find("\n", end)
                line_end = len(text) if line_end < 0 else line_end
                seg_start = end + len(text[end:line_end]) - len(text[end:line_end].lstrip())
                nxt = _COLUMN_GAP_RE.search(text, seg_start, line_end)
                seg_end = nxt.start() if nxt is not None else line_end
                span = self._column_name(text, seg_start, seg_end)
                if span is not None:
                    taken.append(span)
        for start, end, kind in found:
            if kind == "DATE" and text[start - 2 : start] == "  ":
                column = _ACRONYM_COLUMN_RE.search(
                    text, max(line_start_of(text, start), start - 12), start
                )
                if column is not None:
                    token = column.group("a")
                    if (
                        token not in _MODALITIES
                        and token not in CLINICAL_ACRONYMS
                        and token.lower() not in self.allow
                    ):
                        taken.append(Span(column.start("a"), column.end("a"), "HOSPITAL"))
            if kind == "DATE" and text[start - 3 : start] == " / ":
                # "Karl Lund / January 5, 2023 11:53": a signature line, name / date
                span = self._column_name(text, line_start_of(text, start), start - 3)
                if span is not None:
                    taken.append(span)
            if kind in ("ACCESSION", "ID") and text.startswith(", ", end):
                # "MAMMOGRAM LEFT, 11/14/12, Acc E48134168, WIA": the site closes the header
                site = _SITE_AFTER_ID_RE.match(text, end)
                if site is not None:
                    token = site.group("s")
                    if token not in _MODALITIES and token not in CLINICAL_ACRONYMS:
                        taken.append(Span(site.start("s"), site.end("s"), "HOSPITAL"))
            if kind == "DATE" and start >= 8 and text[start - 1] == " ":
                weekday = _WEEKDAY_BEFORE_RE.search(text, max(0, start - 12), start)
                if weekday is not None:
                    taken.append(Span(weekday.start(), end, "DATE"))  # one span with the date
            if kind == "NAME" and text.startswith(" ", end):
                month_day = _MONTH_DAY_AFTER_RE.match(text, end)
                if month_day is not None:
                    taken.append(Span(month_day.start("d"), month_day.end("d"), "DATE"))
            if kind == "DATE" and text.startswith(" ", end):  # "11/6/2018 1349": 24-hour time
                clock = MILITARY_AFTER_DATE_RE.match(text, end)
                if clock is not None:
                    taken.append(Span(clock.start("t"), clock.end("t"), "TIME"))
            paren = start - 2 if text[start - 2 : start] in ("(x", "(X") else start - 1
            if kind == "ID" and text[paren : paren + 2] in ("(x", "(X"):
                # "acknowledged by june esposito (x38085)": an extension closes a name
                span = self._name_before_anchor(text, paren, False, needs_caps=False)
                if span is not None:
                    taken.append(span)
            if kind == "NAME" and text.startswith(" (", end):  # "Smith, Barbara (93)": an age
                age = _AGE_IN_PARENS_RE.match(text, end)
                if age is not None and 89 < int(age.group("a")) < 130:
                    taken.append(Span(age.start("a"), age.end("a"), "AGE"))
            if kind == "ADDRESS" and text[end - 4 : end] in (", St", ", Ft", ", Mt"):
                # "..., Suite 603, St. Louis.": the street tail took "St" of the city
                saint = _ABBREVIATED_CITY_RE.match(text, end)
                if saint is not None:
                    taken.append(Span(end - 2, saint.end(), "CITY"))
            if kind == "ADDRESS":
                city = _CITY_AFTER_ADDRESS_RE.match(text, end)  # "PO Box 4209, Macon."
                if city is not None:
                    name = city.group("c").rstrip(".")
                    known = name.lower() in US_CITIES
                    shaped = all(w[:1].isupper() for w in name.split(" "))
                    if known or (shaped and name.lower() not in self.cue_stop):
                        taken.append(Span(city.start("c"), city.start("c") + len(name), "CITY"))
            if kind == "ADDRESS" and start >= 2 and text[start - 1] == "\n":
                # "Wei D'Angelo\n4699 NW Cedar Boulevard": the line above a street line
                line_start = text.rfind("\n", 0, start - 1) + 1
                span = self._column_name(text, line_start, start - 1)
                if span is not None:
                    taken.append(span)
        found.extend(taken)

    def _column_name(self, text: str, start: int, end: int, strict: bool = False) -> Span | None:
        """A header column that is a name: 2-4 words, any case, no clinical or common word
        (a given name that is a word may open it: "May Ramírez"; in "Last, First" the surname
        may be a word: "STONE, WILLIAM", "NG, ARJUN")."""
        value = text[start:end].strip()
        if not _COLUMN_NAME_RE.fullmatch(value):
            return None
        words = [w.strip(",.").lower() for w in value.split()]
        stop = self.allow if strict else self.cue_stop  # strict: no eponym either
        last_first = value.split(" ", 1)[0].endswith(",") and len(words) >= 2
        for i, w in enumerate(words):
            if w not in stop or w in _LOWER_PARTICLES:
                continue
            if i == 0 and w in GIVEN_WORDS and len(words) >= 2:
                continue  # "May Ramírez", "Will Bou Khalil"
            if i == 0 and last_first and (words[1] not in self.allow or words[1] in GIVEN_WORDS):
                continue  # "STONE, WILLIAM (333-83-44)", "DAY, ART": a word as the surname
            if w in _CAPS_ONLY_TERMS and value.split()[i][:2].istitle():
                continue  # "Qing Ng": Titlecase Ng is a surname (the tube is NG)
            if i >= 1 and last_first and w in GIVEN_WORDS:
                continue  # "DE JONG, WILL"
            if (
                i == len(words) - 1
                and i >= 1
                and not last_first
                and w in WORD_SURNAMES
                and (words[0] not in self.allow or words[0] in GIVEN_WORDS)
            ):
                continue  # "Marijke Stone 12/21/04.", "Abebe Stone" above a street line
            return None
        if all(w in self.allow or w in GIVEN_WORDS or w in _LOWER_PARTICLES for w in words):
            surname_word = words[0] not in COMMON_SET or words[0] in WORD_SURNAMES
            given_first = (words[0] in FIRST_NAMES or words[0] in GIVEN_WORDS) and any(
                w not in GIVEN_WORDS and w not in _LOWER_PARTICLES for w in words[1:]
            )
            if not (last_first and words[-1] in GIVEN_WORDS and surname_word) and not (
                given_first and not last_first
            ):
                # kept: "FOLEY, MAY (E1681592)", "DAY, ART", "mark parkinson" (a given name,
                # then an eponym surname); not "Baker Graves"
                return None
        if words[-1] in _CREDENTIAL_WORDS:
            return None
        start += len(text[start:end]) - len(text[start:end].lstrip())
        return Span(start, start + len(value), "NAME")

    def _name_before_anchor(
        self, text: str, anchor: int, lower_report: bool, needs_caps: bool = True
    ) -> Span | None:
        """The 2-6 name-shaped words that end right before a phrase that follows a name
        (`anchor`: "was informed", "(mrn", ", dob", "(beeper"). The walk back stops at a line
        start or punctuation, at a clinical/common word or a role noun ("physician",
        "clinician,"), and takes one "Last," comma. With `needs_caps` ("was informed"), in a
        report not written in lower case every word must be capitalised ("the case manager
        was notified" is no name); an ID anchor ("(pager", ", dob") is evidence enough."""
        end = anchor
        while end and text[end - 1] in " ,|(":
            end -= 1  # "Smith, DOB", "li t. hodgkin (mrn", "Brittany A | DOB"
        head = text[max(0, end - 72) : end]
        cut = max(head.rfind(c) for c in "\n:;(|")
        words = head[cut + 1 :].split(" ")
        taken: list[str] = []  # right to left
        word_surname = False  # the surname is a word: "Natasha Stone (job", "Maeve Day (job"
        for word in reversed(words):
            if not word or len(taken) >= 6:
                break
            comma = word.endswith(",")
            if comma and (not taken or len(taken) > 2 or any(w.endswith(",") for w in taken)):
                break  # "clinician, aditya l. sharma": this comma ends a phrase
            bare = word.rstrip(",")
            if not _ANCHOR_WORD_RE.fullmatch(bare) or bare.endswith(("'s", "’s")):
                break
            low = bare.rstrip(".").lower()
            if low in ROLE_WORDS:
                break
            initial = len(low) == 1 and (bare.isupper() or bare.endswith("."))  # "A", "a."
            if bare.endswith(".") and not initial:
                break  # a sentence ends here: "Dr. Smith agreed. MRN 123" has no name before MRN
            if (
                low in self.cue_stop
                and low not in _LOWER_PARTICLES
                and low not in GIVEN_WORDS
                and not initial
            ):
                if taken or not bare[:1].isupper() or bare.isupper():
                    break
                word_surname = True  # kept only if a given name that is no word precedes
            taken.append(word)
        if word_surname:
            if len(taken) < 2 or taken[1].rstrip(",.").lower() in self.allow:
                return None  # "Mild Stone (mrn": no given name before the word
        names = [w.rstrip(",.") for w in taken]
        core = [w for w in names if len(w) > 1 and w.lower() not in _LOWER_PARTICLES]
        if len(taken) < 2 or not core:
            return None
        if all(w.lower() in self.allow or w.lower() in GIVEN_WORDS for w in core):
            return None  # "Baker Graves", "May June": no word that is only a name
        if needs_caps and not lower_report:
            if not all(w[:1].isupper() for w in names if w.lower() not in _LOWER_PARTICLES):
                return None
        length = len(" ".join(reversed(taken)))
        stop = end
        if text[stop - 1] == "." and len(taken[0]) > 2:
            stop -= 1  # "Sharma." closing a sentence; "J." stays an initial
            length -= 1
        return Span(stop - length, stop, "NAME")
