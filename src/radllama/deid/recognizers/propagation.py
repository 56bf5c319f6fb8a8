"""Report-level propagation: a name or hospital acronym found once is PHI wherever it recurs.

A report that names its patient in the header ("PID|...|ROWE^PRECIOUS", "Patient: Nanami
Ishikawa") often repeats the surname with no cue at all ("Rowe reports...", "Ishikawa was
last imaged here", "Tech notes: Orlova: claustrophobic"). After every other rule has run, each
word of a found NAME (and each acronym found as a HOSPITAL) is looked up again in the same
report, case-insensitively and on word boundaries. Words on the clinical/common allow-list
are never propagated ("Baker" the patient does not take "Baker cyst" with it), nor particles,
titles, credentials or single letters. Initials in parentheses right after a name ("Juan Lu,
RDMS (JL)") are the same person.
"""

from __future__ import annotations

import re

from radllama.deid.recognizers.names import _with_particles
from radllama.deid.recognizers.patterns import _CREDENTIAL_WORDS, _LO, _LOWER_PARTICLES, _UP
from radllama.deid.spans import Span

_NAME_WORD_RE = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_TITLE_WORDS = frozenset("dr mr mrs ms miss prof drs".split())
_ACRONYM_RE = re.compile(r"[A-Z]{2,6}")
_ACRONYM_AFTER_RE = re.compile(r"[ ]\((?P<a>[A-Z][A-Za-z]{1,7})\)")
_INITIALS_AFTER_RE = re.compile(rf"(?:,[ ][A-Za-z()]+)?[ ]\((?P<i>[{_UP}]{{2,3}})\)")
_CREDENTIAL_TAIL_RE = re.compile(r",[ ][A-Z()]{2,}$")  # "Mai May, RDMS": no initial of hers
# Gaelic surnames: "Mac an Ghirr", "Mac Giolla an Átha", "Ó hÉadhnú", "Mac mBriartaigh"
_GAELIC_PREFIXES = r"(?:Mac|Mhic|Nic|Ó|Ní|Uí|Giolla)"
_GAELIC_TAIL_RE = re.compile(
    rf"(?:[ ]{_GAELIC_PREFIXES})*(?:[ ](?:an|a|na))*[ ](?:[bcdfghmnt]-?)?[{_UP}][{_LO}'’-]+"
)
_GAELIC_NEXT_RE = re.compile(rf"[ ]{_GAELIC_PREFIXES}[ ]")
_GAELIC_END_RE = re.compile(rf"(?:^|[ ]){_GAELIC_PREFIXES}$")


class PropagationRules:
    """Mixin of `Deidentifier` (uses its `allow`)."""

    def _gaelic_tails(self, text: str, found: list[Span]) -> None:
        """A name that stops at a Gaelic surname prefix ("Donagh Mac", "Vivian Mac Giolla")
        or before one ("Dolores" + " Mac a Deise") takes the rest of the surname: particles
        (an, a, na) and the surname with its initial mutation ("mBriartaigh", "hÉadhnú")."""
        for n, (start, end, kind) in enumerate(found):
            if kind != "NAME" or end >= len(text) or text[end] != " ":
                continue
            if _GAELIC_END_RE.search(text, max(start, end - 7), end) or _GAELIC_NEXT_RE.match(
                text, end
            ):
                tail = _GAELIC_TAIL_RE.match(text, end)
                if tail is not None:
                    found[n] = Span(start, tail.end(), kind)

    def _propagate(self, text: str, low: str, found: list[Span]) -> None:
        self._gaelic_tails(text, found)
        words: dict[str, str] = {}  # lower-cased word -> PHI type
        taken: list[Span] = []
        for start, end, kind in found:
            if kind == "NAME":
                value = text[start:end]
                for m in _NAME_WORD_RE.finditer(low, start, end):
                    word = m.group().lower()
                    if (
                        len(word) > 1
                        and word not in self.allow
                        and word not in _LOWER_PARTICLES
                        and word not in _TITLE_WORDS
                        and word not in _CREDENTIAL_WORDS
                    ):
                        words.setdefault(word, "NAME")
                if text.startswith(" (", end) or text.startswith(", ", end):
                    initials = _INITIALS_AFTER_RE.match(text, end)
                    if initials is not None:
                        person = _CREDENTIAL_TAIL_RE.sub("", value)
                        letters = "".join(w[0] for w in _NAME_WORD_RE.findall(person)).upper()
                        if initials.group("i") in (letters, letters[:1] + letters[-1:]):
                            taken.append(Span(initials.start("i"), initials.end("i"), "NAME"))
            if kind == "HOSPITAL" and text.startswith(" (", end):
                acronym = _ACRONYM_AFTER_RE.match(text, end)  # "Lynn Imaging Associates (LIA)"
                if acronym is not None:
                    taken.append(Span(acronym.start("a"), acronym.end("a"), "HOSPITAL"))
                    words.setdefault(low[acronym.start("a") : acronym.end("a")], "HOSPITAL")
            if kind == "HOSPITAL" and _ACRONYM_RE.fullmatch(text[start:end]):
                word = low[start:end]
                if word not in self.allow:
                    words.setdefault(word, "HOSPITAL")
        for word, kind in words.items():
            size = len(word)
            at = low.find(word)
            while at >= 0:
                stop = at + size
                if (at == 0 or not low[at - 1].isalnum()) and (
                    stop == len(low) or not low[stop].isalnum()
                ):
                    if kind == "NAME":  # "de la Garza Arguello:" keeps its particles
                        taken.append(_with_particles(text, Span(at, stop, kind)))  # type: ignore[arg-type]
                    elif text[at:stop].isupper():  # acronyms: capitals only
                        taken.append(Span(at, stop, kind))
                at = low.find(word, stop)
        found.extend(taken)
