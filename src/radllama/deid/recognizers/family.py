"""Family members named in the history: "Per sister Romina", "his mother Sa'adatu Chatterjee",
"Karla (mother) is at the bedside", "daughter latoya clements, who reports", "the patient's
sister and health care proxy, Marʼyana Atroshchenko". The relation word is the cue; the name
after it (or before "(mother)") is taken up to the first clinical or common word."""

from __future__ import annotations

import re

from radllama.deid.lexicons import WORD_SURNAMES, word_set
from radllama.deid.recognizers.patterns import _LO, _LOWER_PARTICLES, _UP
from radllama.deid.spans import Span

FAMILY_WORDS = word_set("family_words")
_WORD = rf"[{_UP}{_LO}][{_UP}{_LO}'’ʼ-]*"
_WT = rf"[{_UP}{_LO}'’ʼ-]*"  # the rest of a word after its first letter
# after the relation word (found by the keyword scan): optional "and health care proxy" /
# "(hcp)", optional comma, then the name
_AFTER_RELATION_RE = re.compile(
    r"(?:[ ]and[ ]health[ ]care[ ]proxy|[ ]\(?(?:and[ ])?(?:hcp|poa|proxy)\)?)?,?[ ]"
    rf"(?P<n>{_WORD}(?:[ ]{_WORD}){{0,2}})"
)
# before "(mother)": "Karla (mother)", "Yin, Hui (son)"
_BEFORE_RELATION_RE = re.compile(rf"(?P<n>{_WORD}(?:,?[ ]{_WORD})?)[ ]$")


class FamilyRules:
    """Mixin of `Deidentifier` (uses its `allow`)."""

    def _family_at(self, text: str, start: int, end: int, found: list[Span]) -> None:
        """The relation word at text[start:end] (a keyword hit): the name after it, or before
        it when it is in parentheses."""
        after = _AFTER_RELATION_RE.match(text, end)
        if after is not None:
            span = self._family_name(text, after.start("n"), after.group("n").split(" "))
            if span is not None:
                found.append(span)
        if start >= 3 and text[start - 1] == "(" and text.startswith(")", end):
            before = _BEFORE_RELATION_RE.search(text, max(0, start - 48), start - 1)
            if before is not None:
                words = before.group("n").replace(",", "").split(" ")
                while words and words[0].lower() in self.allow:  # "History Karla (mother)"
                    words.pop(0)
                if words and not any(w.lower() in self.allow for w in words):
                    stop = before.end("n")
                    value = before.group("n")
                    while value.replace(",", "").split(" ") != words:
                        value = value.split(" ", 1)[1]
                    found.append(Span(stop - len(value), stop, "NAME"))

    def _family_name(self, text: str, start: int, words: list[str]) -> Span | None:
        taken: list[str] = []
        for word in words:
            bare = word.rstrip("'’ʼ-").lower()
            if bare in _LOWER_PARTICLES and not taken:
                taken.append(word)  # "partner colm ó hinnéirghe", "ó hinnéirghe"
                continue
            if bare in self.cue_stop or len(bare) < 2:  # an eponym is a name here ("Mallory")
                if taken and bare in WORD_SURNAMES and word[:1].isupper() and word[1:2].islower():
                    taken.append(word)  # "niece Jerotich Stone": a given name, then a surname
                break
            if (
                taken
                and taken[0].lower() not in _LOWER_PARTICLES
                and (word[:1].isupper() != taken[0][:1].isupper())
            ):
                break  # "Romina Symptoms": a case change ends the name
            taken.append(word)
        if not taken:
            return None
        return Span(start, start + len(" ".join(taken)), "NAME")
