"""Family members named in the history: "Per sister Romina", "his mother Sa'adatu Chatterjee",
"Karla (mother) is at the bedside", "daughter latoya clements, who reports", "the patient's
sister and health care proxy, Marʼyana Atroshchenko". The relation word is the cue; the name
after it (or before "(mother)") is taken up to the first clinical or common word."""

from __future__ import annotations

import re

from radllama.deid.lexicons import word_set
from radllama.deid.recognizers.patterns import _LO, _UP
from radllama.deid.spans import Span

FAMILY_WORDS = word_set("family_words")
_RELATION = "|".join(sorted(FAMILY_WORDS, key=len, reverse=True))
_WORD = rf"[{_UP}{_LO}][{_UP}{_LO}'’ʼ-]*"
_WT = rf"[{_UP}{_LO}'’ʼ-]*"  # the rest of a word after its first letter
# relation word, optional "and health care proxy" / "'s", optional comma, then the name
_AFTER_RELATION_RE = re.compile(
    rf"(?<![A-Za-z])(?i:{_RELATION})(?:[ ]and[ ]health[ ]care[ ]proxy|[ ]\(?(?:and[ ])?"
    rf"(?:hcp|poa|proxy)\)?)?,?[ ](?P<n>{_WORD}(?:[ ]{_WORD}){{0,2}})"
)
_BEFORE_RELATION_RE = re.compile(
    rf"(?P<n>[{_UP}]{_WT}(?:,?[ ][{_UP}]{_WT})?)[ ]\((?i:{_RELATION})\)"
)


class FamilyRules:
    """Mixin of `Deidentifier` (uses its `allow`)."""

    def _family(self, text: str, low: str, found: list[Span]) -> None:
        if not any(word in low for word in FAMILY_WORDS):
            return
        for m in _AFTER_RELATION_RE.finditer(text):
            span = self._family_name(text, m.start("n"), m.group("n").split(" "))
            if span is not None:
                found.append(span)
        if "(" in text:
            for m in _BEFORE_RELATION_RE.finditer(text):
                words = m.group("n").replace(",", "").split(" ")
                while words and words[0].lower() in self.allow:  # "History Karla (mother)"
                    words.pop(0)
                if words and not any(w.lower() in self.allow for w in words):
                    stop = m.end("n")
                    value = m.group("n")
                    while value.replace(",", "").split(" ") != words:
                        value = value.split(" ", 1)[1]
                    found.append(Span(stop - len(value), stop, "NAME"))

    def _family_name(self, text: str, start: int, words: list[str]) -> Span | None:
        taken: list[str] = []
        for word in words:
            bare = word.rstrip("'’ʼ-").lower()
            if bare in self.allow or len(bare) < 2:
                break
            if taken and word[:1].isupper() != taken[0][:1].isupper():
                break  # "Romina Symptoms": a case change ends the name
            taken.append(word)
        if not taken:
            return None
        return Span(start, start + len(" ".join(taken)), "NAME")
