"""Names known by the words around them, in layouts the cue-word rules do not reach:

- e-mail headers: ``From: Rao, Ananya <ananya_rao76@samcmed.org>`` (the display name before an
  address in angle brackets);
- lists after "Drs.": ``Attendees: Drs. Smith, Voinea, Khorishko;``;
- greetings and sign-offs: ``Hi Teterycz - could you``, ``... if needed. - Calista Salter``;
- a contact in parentheses before an extension: ``(Sylwia Kujda, x59651)``;
- free narrative that opens with the patient: ``Homero Ruby Sauceda returns today for``;
- lower-case teaching notes: ``read w/ banerjee.``, ``ask shira hadad in path``, ``price back
  in clinic``, ``nezize akça, 38f, mrn ...``.
Every candidate word is checked against the clinical/common allow-list.
"""

from __future__ import annotations

import re

from radllama.deid.lexicons import FIRST_NAMES, GIVEN_WORDS
from radllama.deid.recognizers.patterns import _LO, _LOWER_PARTICLES, _UP, _is_lower_report
from radllama.deid.spans import Span

_W = rf"[{_UP}{_LO}][{_UP}{_LO}'’ʼ.-]*"
_WT = rf"[{_UP}{_LO}'’ʼ.-]*"  # the rest of a word after its first letter
_TITLE_WORD = rf"[{_UP}][{_LO}][{_LO}'’ʼ-]*"
_EMAIL_NAME_RE = re.compile(rf"(?m)(?:^|:[ ]|;[ ])(?P<n>{_W}(?:,?[ ]{_W}){{0,4}})[ ]<[^<>@\s]+@")
_DRS_LIST_RE = re.compile(
    rf"(?:Drs|DRS)\.?[ ](?P<l>{_W}(?:[ ]{_W})?(?:(?:,[ ]|[ ]and[ ]){_W}(?:[ ]{_W})?){{1,8}})"
)
_GREETING_RE = re.compile(
    rf"(?<![A-Za-z])(?:Hi|Hello|Hey|Thanks|Thank you),?[ ](?P<n>[{_UP}]{_WT}(?:[ ][{_UP}]{_WT})?)(?=[ ]?[-,:!]|\n)"
)
_SIGNOFF_DASH_RE = re.compile(rf"[.!?][ ]-[ ](?P<n>[{_UP}]{_WT}(?:[ ]{_W}){{1,3}})[ ]*(?:\n|$)")
_CONTACT_EXT_RE = re.compile(
    rf"\((?P<n>[{_UP}]{_WT}(?:[ ]{_W}){{0,3}}),[ ](?:[xX]|[Ee]xt\.?[ ]?|EXT\.?[ ]?|[Ee]xtension[ ])[0-9]"
)
_OPENING_RE = re.compile(
    rf"(?m)(?:^|:[ ])(?P<n>[{_UP}]{_WT}(?:[ ][{_UP}]{_WT}){{1,3}})[ ](?:returns|comes|presents|"
    r"is[ ]a[ ][0-9]|was[ ]last|reports|states|denies|underwent|was[ ]seen|arrives)(?![a-z])"
)
_OPENING_SURNAME_RE = re.compile(
    rf"(?:(?<=[.][ ])|(?<=:[ ])|(?<=^))(?P<n>[{_UP}]{_WT})[ ](?:returns|reports|states|denies|"
    r"was[ ]last|underwent|was[ ]seen|is[ ]an?[ ][0-9]{1,3}[- ]?(?:year|yo|y/o))(?![a-z])",
    re.MULTILINE,
)
# A signature line "Zoltán Sipos / 03/07/2019 23:58", "Padma Nair / 21-Jun-2014 04:09"
_NAME_SLASH_DATE_RE = re.compile(
    rf"(?m)^(?P<n>[{_UP}]{_WT}(?:[ ]{_W}){{1,4}})[ ]/[ ](?=[0-9]|[A-Z][a-z]{{2}}[ ][0-9])"
)
# Lists of people: "Attendees: Drs. A, B; Jane Roe, RN (nurse navigator); Eitan Hadad (tumor
# registry)": every item opens with a name
_PEOPLE_LIST_RE = re.compile(
    r"(?m)^(?:Attendees|ATTENDEES|Present|PRESENT|Participants|PARTICIPANTS):[ ]"
    r"(?P<l>[^\n]+)"
)
_LIST_ITEM_NAME_RE = re.compile(rf"[ ]?(?P<n>[{_UP}]{_WT}(?:[ ]{_W}){{0,3}})(?=,[ ]|[ ]\(|$)")
# lower-case notes: "read w/ banerjee.", "ref by colas", "ask shira hadad in path"
_LOWER_CUE_RE = re.compile(
    rf"(?<![a-z])(?:read[ ]w/|ask|ref[ ]by|cc)[ ](?P<n>[{_LO}][{_LO}'’-]+(?:[ ][{_LO}][{_LO}'’-]+)?)(?=[ .,;:)]|\n|$)"
)
_LOWER_BEFORE_RE = re.compile(
    rf"(?m)(?:^|[.][ ])(?P<n>[{_LO}][{_LO}'’-]+(?:[ ][{_LO}][{_LO}'’-]+)?)[ ](?:back[ ]in[ ]clinic|in[ ]path|to[ ]call)(?![a-z])"
)
_LOWER_NAME_AGE_SEX_RE = re.compile(
    rf"(?m)^(?:patient[ ]|pt:?[ ])?(?P<n>[{_LO}][{_LO}'’-]*(?:[ ][{_LO}][{_LO}'’-]+){{1,2}})(?:,[ ]|[ ]/[ ])(?:[0-9]{{1,3}}[fm](?![a-z])|[0-9][0-9-]{{4,}})"
)
# "visit: 10/09/08 with Fang Graves" closing a line or field: Titlecase words, no full stop
# ("consistent with DISH." is an acronym in a sentence)
_WITH_AT_END_RE = re.compile(
    rf"[ ]with[ ](?P<n>{_TITLE_WORD}(?:[ ]{_TITLE_WORD}){{0,2}})(?=[ ]?\||\n|$)"
)
# Cue phrases the name-shape gates do not see ("on", "chief" end in letters no gate expects):
# "Following up on Halonen, Pekka", "Routed to section chief Sang-ho Kim", "by attending Erika
# Graves", "Discussed with Mao at 1756"
_CUE_NAME_RE = re.compile(
    r"(?:[Ff]ollowing[ ]up[ ]on|[Ff]ollow[ ]up[ ]on|section[ ]chief|[Rr]outed[ ]to|"
    r"by[ ]attending|[Dd]iscussed[ ]with|[Ss]hown[ ]to)[ ]"
    rf"(?P<n>{_TITLE_WORD}(?:,?[ ]{_TITLE_WORD}){{0,3}})"
)
_ID_BEFORE_COMMA_RE = re.compile(rf"(?<=[ ])(?P<n>[{_UP}]{_WT}),[ ](?:MRN|DOB|mrn|dob)(?![A-Za-z])")


_TITLES = frozenset("dr drs mr mrs ms miss prof dear hi".split())


class NameContextRules:
    """Mixin of `Deidentifier` (uses its `allow` and `cue_stop`)."""

    def _names_in_context(self, text: str, low: str, found: list[Span], triggers: set[str]) -> None:
        """`triggers`: the words the keyword scan saw (`keywords.TRIGGERS`); a rule runs only
        when its word occurs."""
        if "@" in text and " <" in text:
            for m in _EMAIL_NAME_RE.finditer(text):  # a display name: eponyms are surnames
                self._take_words(text, m.start("n"), m.group("n"), found, self.cue_stop)
        if "drs" in triggers:
            for m in _DRS_LIST_RE.finditer(text):
                base = m.start("l")
                for item in re.finditer(rf"{_W}(?:[ ]{_W})?", m.group("l")):
                    if item.group() == "and":
                        continue
                    self._take_words(text, base + item.start(), item.group(), found, self.cue_stop)
        regexes = []
        if "greet" in triggers:
            regexes.append(_GREETING_RE)
        if "dash" in triggers:
            regexes.append(_SIGNOFF_DASH_RE)
        if "ext" in triggers:
            regexes.append(_CONTACT_EXT_RE)
        if "id_comma" in triggers:
            regexes.append(_ID_BEFORE_COMMA_RE)
        if " with " in text:
            regexes.append(_WITH_AT_END_RE)
        for regex in regexes:
            # a greeting, a sign-off, a contact: the place itself says "a person", so an
            # eponym is a surname here ("- Calista Salter", "Hi Paget")
            for m in regex.finditer(text):
                self._take_words(text, m.start("n"), m.group("n"), found, self.cue_stop)
        if "slash" in triggers:  # "Radomír Colles / 09-May-2020 19:05"
            for m in _NAME_SLASH_DATE_RE.finditer(text):
                self._take_words(text, m.start("n"), m.group("n"), found, self.cue_stop)
        if "cue" in triggers:
            for m in _CUE_NAME_RE.finditer(text):
                self._take_words(text, m.start("n"), m.group("n"), found, self.cue_stop)
        if "people" in triggers:
            for m in _PEOPLE_LIST_RE.finditer(text):
                base = m.start("l")
                position = 0
                for item in m.group("l").split(";"):
                    name = _LIST_ITEM_NAME_RE.match(item)
                    if name is not None and not item.lstrip().startswith(("Drs", "DRS")):
                        at = base + position + name.start("n")
                        self._take_words(text, at, name.group("n"), found, self.allow)
                    position += len(item) + 1
        if "opening" in triggers:
            for m in _OPENING_RE.finditer(text):
                words = m.group("n").split(" ")
                if words[0].lower() in FIRST_NAMES or not any(
                    w.lower() in self.allow for w in words
                ):
                    self._take_words(text, m.start("n"), m.group("n"), found, self.allow)
            for m in _OPENING_SURNAME_RE.finditer(text):
                word = m.group("n").lower()  # "April is a 72-year-old woman"
                if word not in self.allow or word in GIVEN_WORDS:
                    found.append(Span(m.start("n"), m.end("n"), "NAME"))
        if text[:60].islower() and _is_lower_report(text):
            for m in _LOWER_CUE_RE.finditer(text):  # "ref by wilson": after the cue, a name
                self._take_words(text, m.start("n"), m.group("n"), found, self.cue_stop)
            for regex in (_LOWER_BEFORE_RE, _LOWER_NAME_AGE_SEX_RE):
                for m in regex.finditer(text):
                    self._take_words(text, m.start("n"), m.group("n"), found, self.allow)

    def _take_words(
        self, text: str, start: int, value: str, found: list[Span], stop: frozenset[str]
    ) -> None:
        """`value` (at `start`) as a NAME, trimmed at the first allow-listed word; nothing if
        its first word is allow-listed."""
        words = value.replace(",", " ").split()
        kept = []
        for word in words:
            bare = word.strip(".'’").lower()
            if (
                (bare in stop and bare not in _LOWER_PARTICLES)
                or bare in _TITLES
                or (len(bare) < 2 and not kept and bare not in _LOWER_PARTICLES)
            ):
                break
            kept.append(word)
        while kept and kept[-1].lower() in _LOWER_PARTICLES:
            kept.pop()
        if not kept:
            return
        end = text.find(kept[-1], start) + len(kept[-1])
        if text[end - 1] == "." and len(kept[-1]) > 2:
            end -= 1
        found.append(Span(start, end, "NAME"))
