"""Regex building blocks shared by the recognizers: word tries, month names, letter classes,
surname particles and small text helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_NUMBER: dict[str, int] = {}
for _number, _month in enumerate(_MONTHS, start=1):
    for _form in (_month, _month[:3], "Sept" if _month == "September" else _month):
        _MONTH_NUMBER[_form.lower()] = _number


def _plain_trie(words: Iterable[str]) -> str:
    """One regex for `words` as a character trie (longest match first at each branch)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(root)


def _trie(words: Iterable[str]) -> str:
    """Regex for the rest of `words` after their (already consumed) first character.

    >>> _trie(["Dr", "Doctor", "Mr"])
    '(?:octor(?<=Doctor)|r(?:(?<=Dr)|(?<=Mr)))'
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word[1:]:
            node = node.setdefault(char, {})
        node.setdefault("", set()).add(word)

    def emit(node: dict[str, Any]) -> str:
        branches = []
        for char in sorted(key for key in node if key):
            child, rest = node[char], re.escape(char)
            while len(child) == 1 and "" not in child:  # fold single-child chains
                ((char, child),) = child.items()
                rest += re.escape(char)
            branches.append(rest + emit(child))
        if "" in node:  # a word ends here: check its lead letter; longer words come first
            ends = [f"(?<={re.escape(word)})" for word in sorted(node[""])]
            branches.append(ends[0] if len(ends) == 1 else "(?:" + "|".join(ends) + ")")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root)


def _month_words() -> list[str]:
    words = []
    for month in _MONTHS:
        forms = {month, month[:3]} | ({"Sept"} if month == "September" else set())
        words += [form for word in forms for form in (word, word.upper())]
    return words


_MONTH_ANY = "(?:" + "|".join(sorted(_month_words(), key=len, reverse=True)) + r")\.?(?![A-Za-z])"
# After a day number a lower-case month is a date too ("4 august 2009", "12 mar.").
_MONTH_ANY_OR_LOWER = (
    "(?:"
    + "|".join(
        sorted({w.lower() for w in _month_words()} | set(_month_words()), key=len, reverse=True)
    )
    + r")\.?(?![A-Za-z])"
)

# -- digit-led ----------------------------------------------------------------------------
_LB = r"(?<![A-Za-z0-9.][0-9])"  # the lead digit starts a token: not "C5", "1.5", "12"

# -- capital-led --------------------------------------------------------------------------
# Capital / small letters, Latin-1 and Latin Extended-A included (José, MÜLLER, Wiśniewski,
# DVOŘÁK). Extended-A interleaves cases (Ā ā Ă ă ...), so that block is in both classes.
# Latin Extended-B (ơ ư ș ț) and Latin Extended Additional (Vietnamese ầ ễ ạ) interleave cases
# as well: "Trần", "Nguyễn", "Đặng", "Dương".
_UP = "A-ZÀ-ÖØ-ÞĀ-ɏḀ-ỿ"
_LO = "a-zß-öø-ÿĀ-ɏḀ-ỿ"
_LBC = rf"(?<![A-Za-z{_UP}{_LO}0-9'\[\]^][{_UP}])"  # the lead starts a word (not "[NAME]")
# Surname particles: De la Cruz, Van der Berg, von Trapp, DE LA CRUZ.
_PARTICLE_WORDS = (
    "Ó|[Dd]e|[Dd]el|[Dd]ella|[Dd]er|[Dd]en|[Dd]i|[Dd]a|[Dd]u|[Dd]os|[Dd]as|[Ll]a|[Ll]e|[Ll]o|"
    "[Ll]os|[Ll]as|[Vv]an|[Vv]on|[Tt]er|[Tt]en|bin|al|el|DE|DEL|DEN|DOS|DAS|LA|LO|LOS|LAS|VAN|"
    "VON|DER|TER|TEN|O|Mac|MAC|Nic|Ní|Ui|Ua"  # Irish: O Curnain, Mac a Deise, Ní Bhriain
)


# The same words as a character trie: ``re`` then rejects a word with one comparison of its
# first letter instead of trying ~50 alternatives (gate 9 of _NAME_GATES tries them after
# every capitalised word: 1.2 of CAP_RE's 5 us per findings section, see bench_deid.py).
def _expand_particles(words: str) -> list[str]:
    out = []
    for word in words.split("|"):
        if word.startswith("["):  # "[Dd]e" -> "De", "de"
            out += [word[1] + word[4:], word[2] + word[4:]]
        else:
            out.append(word)
    return out


_PARTICLES = "(?:" + _plain_trie(_expand_particles(_PARTICLE_WORDS)) + "[ ])"
# Particles written before a capitalised surname ("ATTENDING: van den Heuvel, Fatima"): the
# candidate starts at the capital; its start is moved back over them.
_PARTICLES_BEFORE_RE = re.compile(rf"(?:(?<![A-Za-z])(?:{_PARTICLE_WORDS})[ ])+$")
_LOWER_PARTICLES = frozenset(
    "de la los van der den von del da di le lo ten ter bin al el du ó o mac nic ní".split()
)
_CREDENTIAL_WORDS = frozenset("md do rn np pa pa-c phd mbbs rt m.d. d.o. m.d d.o".split())

# -- keyword-led families (one pass each, all rare in ordinary report prose) ---------------
# A short value after a location/contact/device keyword is an identifier even when it is too
# short for LONGID: "bed 14A", "Rm 6W", "ext. 4614", "x8694", "beeper #6058", "(job 602599)",
# "serial no. jnp731817z", "lot #20H2532", "plate 7KGT820", "License: MD.0367003".
# Keyword-led families run on an ASCII-lower-cased copy of the text (same offsets) and start
# from ONE alternation of plain words, so ``re`` scans with a charset prefix; the value after
# each keyword is then matched in Python at that position only.
_ASCII_UPPER_RE = re.compile("[A-Z]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WORD_RE = re.compile(r"[^\W\d_][\w'.-]*")
_LEADING_DIGITS = re.compile("[0-9]+")
_LINE_END_RE = re.compile(r"\.?[ ]*(?:\n|$)")


def _walk_back(text: str, position: int, allowed: frozenset[str]) -> int:
    """Start of the run of `allowed` characters (or any letter) that ends at `position`."""
    while position and (text[position - 1] in allowed or text[position - 1].isalpha()):
        position -= 1
    return position


def _is_lower_report(text: str) -> bool:
    """A report written in lower case (fewer than one capital per 50 characters). Counting
    stops at the limit, so a mixed-case report costs ~len/50 matches, not a list of all its
    capitals."""
    capitals = 0
    for _ in _ASCII_UPPER_RE.finditer(text):
        capitals += 1
        if capitals * 50 >= len(text):
            return False
    return True
