"""Person names: the capital-led name patterns (titles, credentials, name-shaped words behind
cheap gates), the cue words before a name and the phrases after one, and small helpers."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.lexicons import CLINICAL_SET, CUE_STOP_TERMS, GIVEN_WORDS
from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import (
    _LBC,
    _LO,
    _PARTICLE_WORDS,
    _PARTICLES,
    _PARTICLES_BEFORE_RE,
    _UP,
    _WORD_RE,
    _expand_particles,
    _plain_trie,
    _trie,
)
from radllama.deid.spans import Span

_NOT_CREDENTIAL = r"(?!(?:MD|DO|RN|NP|PA|PhD|MBBS|M\.D\.|D\.O\.|R\.N\.|Ph\.D\.)(?![A-Za-z]))"
# The rest of one name token after its first capital: Smith, McDonald, O'Brien, Smith-Jones,
# SMITH, an initial "J." or initials "J.C."; never Open-i's XXXX, never followed by a digit.
_TOKEN_REST = (
    rf"(?!(?<=X)XXX(?![A-Za-z]))(?>[{_LO}]+(?:['’ʼ](?!s(?![{_LO}]))[{_LO}]+)?(?:[{_UP}][{_LO}]+)?"
    rf"(?:-[{_UP}]?[{_LO}]+)?"
    rf"|'[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?|'[{_UP}]{{2,}}(?:-[{_UP}]+)?|[{_UP}]+(?:['-][{_UP}]+)?"
    rf"|\.(?:[{_UP}]\.)*(?=[ ,\t\n]|$))"
    # not "Series 3", "Grade 2", "T12"; but "Signed T. Bianchi 06.12.2023" and "Signed I.
    # Boateng 26 July 2018" keep their names (a number that starts a date)
    r"(?![ ]?[0-9]{1,3}(?![0-9./-])(?![ ](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
    r"|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)))"
)
_TOKEN = rf"(?:(?!XXXX){_NOT_CREDENTIAL}[{_UP}]{_TOKEN_REST})"
_NAME_REST = (
    _TOKEN_REST
    + r"(?:(?:,[ ]?|[ ]|\^)"
    + _PARTICLES
    + "*"
    + _TOKEN
    + "){0,3}"
    + rf"(?:[ ][{_UP}](?=[ ]?\||[ ]{{2}}|\n|$))?"  # "Okafor, Nia W | DOB"
)
_TITLED = (
    r"\.?[ \t]{1,4}" + _PARTICLES + "*" + _TOKEN + r"(?:[ ]" + _PARTICLES + "*" + _TOKEN + "){0,2}"
)
# "RN" before a name is a title too: "transport with RN Leon Dragicevic"
_TITLES = "Dr|DR|Drs|DRS|Doctor|DOCTOR|Mr|Mrs|Ms|Miss|MR|MRS|MS|MISS|Prof|Professor|PROF|RN"
_CREDENTIALS = (
    "MD|M.D.|RN|R.N.|NP|PA-C|PhD|Ph.D.|MBBS|FRCR|CNP|APRN|FNP|DO|D.O.|RDMS|RVT|RT|CNMT|CRNA|"
    "RTT|RRA|ARNP|DNP|LPN|RDCS|RPA"
)
# A capitalised word is a name *candidate* only behind one of these cheap gates (checked in
# Python afterwards): a cue-like word or colon before it; a Titlecase word after it ("John
# Smith"); or "Last," at the start of a line. Ordinary sentence starts ("The lungs") pass none.
_NAME_GATES = (
    rf"(?:(?<=[:hyodwrtmHYOTW,-] [{_UP}])|(?<=[ ](?:de|la|da|do|du|di|le|lo) [{_UP}])"
    rf"|(?<=[ ](?:van|von|den|der|del|los|las|dos|das|ten|ter) [{_UP}])|(?<=Ó [{_UP}])"
    rf"|(?=\.[ ][{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?(?:\n|$))"
    rf"|(?<![^\n][{_UP}])(?=[{_UP}'-]+[ ][{_UP}'-]+[ ](?:WAS|IS)[ ])|(?<=:[{_UP}])|(?<=:  [{_UP}])|(?<=:\t[{_UP}])"
    rf"|(?=[{_LO}]+(?:-[{_UP}][{_LO}]+)?[ ](?:[{_UP}]\.[ ])?{_PARTICLES}?[{_UP}](?:'[{_UP}])?[{_LO}])"
    rf"|(?<![^\n][{_UP}])(?=[^\n,:.]{{0,30}}+,|(?:[{_LO}]+|[{_UP}]+)(?:-[{_UP}]+)?[ ][{_UP}]+(?:[-'][{_UP}]+)?\n))"
)
# Sentence starters that are never a name ("Kidneys: No hydronephrosis", "IMPRESSION: The
# lungs"): a Titlecase clinical/common word followed by a lower-case word. ~95% of the
# name-shaped candidates in findings text are these; rejecting them inside the regex (a trie
# after the lead capital) saves a Python call each (~2 us per findings section). The Python
# check in `_nameish_candidate` stays the definition; this is only its fast path.
_STOP_STARTERS = _trie(
    sorted(
        {w.capitalize() for w in CUE_STOP_TERMS if len(w) > 1 and re.fullmatch("[a-z][a-z-]*", w)}
        - {w.capitalize() for w in GIVEN_WORDS}
    )
)
_NOT_A_STOP_STARTER = (
    "(?!"
    + _STOP_STARTERS
    + "[ ](?=[a-z])(?!"
    + _plain_trie(_expand_particles(_PARTICLE_WORDS))
    + "[ ]))"
)
# The name-shaped alternative of CAP_RE alone, tried where an acronym-shaped word ("OH") was
# not a hospital.
NAMEISH_RE = re.compile(f"[{_UP}]" + _LBC + _NAME_GATES + "(?=(?P<name_rest>" + _NAME_REST + "))")
# A given name that is also a word, alone after a cue: "d/w April at 09:43", "left with June,".
_GIVEN_ALONE_AFTER_RE = re.compile(r"(?:[ ](?:at|AT)[ ]|[,.;])")
# The name before a credential ("Jane Doe, RN", "J. Smith MD"), searched just before a CRED hit.
NAME_BEFORE_CREDENTIAL_RE = re.compile(
    f"[{_UP}]"
    + _LBC
    + _TOKEN_REST
    + r"(?:(?:,[ ]?|[ ])"
    + _PARTICLES
    + "*"
    + _TOKEN
    + rf"){{0,3}}(?:[ ][{_UP}])?,?[ \t]{{1,3}}$"
)
DR_LOWER_RE = re.compile(
    rf"[Dd]r(?<![A-Za-z][Dd]r)\.?[ ]+(?P<lower_name>(?:[a-z]\.[ ]){{0,2}}"  # "dr. a. r. mackenzie"
    rf"(?:(?:van|von|de|del|della|der|di|da|du|la|le|ter|ten)[ ])*[{_LO}][{_LO}'-]+)"
)
_NOT_NAMES = frozenset("none unknown pending self other na n/a".split())  # "referring: none"

# Cue words before a name. Verb cues end right before the name; label cues end in a colon.
_VERB_CUES = tuple(
    f" {cue}"
    for cue in """discussed with|d/w|spoke with|spoken with|conferred with|reviewed with|
    communicated to|communicated with|called to|conveyed to|relayed to|reported to|given to|
    notified|paged|informed|contacted|called|telephoned|dictated by|signed by|reviewed by|
    read by|interpreted by|transcribed by|approved by|verified by|attested by|performed by|
    electronically signed|seen by|called by|paged by|reported by|contacted by|patient|pt|
    patient name|discussed these results with|discussed the results with|
    discussed these findings with|discussed the findings with|reviewed these results with|
    reviewed the findings with""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# Weaker cues: the name after them must not be an eponym either ("per Fleischner criteria",
# "by Graves disease" are not people), unlike after "Dr." or "discussed with".
_WEAK_CUES = tuple(
    f" {cue}"
    for cue in """by|per|left with|contact|son,|daughter,|wife,|husband,|mother,|father,|
    sister,|brother,|partner,|nurse,|clinician,|physician,|sonographer|technologist|
    transcriptionist|obtained from|referred by|requested by|spoke with|notified:|--|signed|
    section chief|chief|her primary,|his primary,|following up on|follow up on|
    injected by|physician|radiologist""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# After these common words only a name with no eponym in it counts ("WITH HASSAN NASSER"
# yes, "consistent with Paget" no).
_WEAKEST_CUES = (" with", " from", " to", " and")
_LABEL_CUES = tuple(
    f" {cue}"
    for cue in """patient|patient name|name|pt|attending|resident|fellow|radiologist|
    technologist|tech|referring physician|referring|referring provider|ordering physician|
    ordering provider|ordering|physician|provider|pcp|cc|dictated by|signed by|reviewed by|
    read by|interpreted by|transcribed by|electronically signed by|requested by|discussed with|
    attending physician|attending radiologist|reading radiologist|interpreting radiologist|
    verified by|approved by|electronically signed|signed|dictated|transcribed|surgeon|
    clinician|contact|emergency contact|guardian|mother|father|spouse|requesting physician|
    performing physician|sonographer|nurse|transcriptionist|notified|ordering physician|
    referring|ref|rad|reading|cc|ref md|referring md|ordering md|attending md|reading md|
    ordering provider|interpreting physician|minutes recorded by|recorded by|guarantor|
    subscriber|insured|policy holder|emergency contact|next of kin|nok|proxy|
    health care proxy""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
_CREDENTIAL_AFTER_RE = re.compile(r",?[ ](?:MD|M\.D\.|DO|RN|NP|PA-C|PhD|MBBS)(?![A-Za-z])")
_CAPS_ONLY_TERMS = frozenset({"ng"})
# An initial and a surname (with particles) closing the report after a sentence: a signature.
_SIGNOFF_END_RE = re.compile(
    rf"(?<=\.[ ])(?P<n>[{_UP}{_LO}]\.[ ](?:(?:de|van|von|der|den|la|los|del|da|di|le|ten|ter|De|Van|Von|"
    rf"Del|La|Le|Da|Di|Bou|Abu|Al|El|bou|abu|al|el)[ ])*(?P<s>[{_UP}{_LO}][{_UP}{_LO}'-]+))[ ]*$"
)
_LOWER_NEXT_WORD_RE = re.compile(rf"[ ](?P<w>[{_LO}][{_LO}'-]+)(?=[ ,.;:)]|\n|$)")
_DRS_AND_LOWER_RE = re.compile(
    rf"[ ]and[ ](?P<w>(?:(?:{_PARTICLE_WORDS}|lo|bou|abu)[ ])*[{_LO}][{_LO}'-]+)(?=[ ,.;:)]|\n|$)"
)
_LOWER_CREDENTIAL_RE = re.compile(r"(?<=[a-z]),[ ](?:md|m\.d\.|rn|do(?=[ ]*(?:\n|$)))(?![a-z])")
_LOWER_WORD_RE = re.compile(rf"[{_LO}][{_LO}'-]*\.?,?")
_LOWER_CUE_WORDS = frozenset(
    "by with to and from signed electronically reviewed dictated read cc the of at on".split()
)
# An initial and a surname after a cue word, closed by punctuation: "obtained from J. BEST:",
# "requested by a. zhang (", "from r. khoury:".
_INITIAL_SURNAME_RE = re.compile(
    rf"[ ](?P<n>[A-Za-z]\.[ ](?:(?:{_PARTICLE_WORDS}|lo|bou|abu)[ ])?"
    rf"(?P<s>[{_UP}{_LO}][{_UP}{_LO}'-]+))(?=[:;)]|[ ]\(|,[ ]|[ ](?:at|AT)[ ]|\.?[ ]*(?:\n|$))"
)
_ROUTED_TO_RE = re.compile(r"(?i:routed|sent|copied|forwarded|system)[ ](?:to|TO)[ ]$")


def _is_common(word: str, allow: frozenset[str]) -> bool:
    bare = word.rstrip(".").lower()
    if bare in _CAPS_ONLY_TERMS and word[:1].isupper() and word[1:2].islower():
        return False  # "Ng" is a surname; the tube is written "NG" or "ng"
    if len(bare) == 1 and word.endswith("."):
        return False  # an initial ("John A."), not the article "a"
    return bare in allow or set(bare) == {"x"}  # XXXX and its fragments are placeholders


def _cue_before(text: str, start: int) -> bool:
    """Is the name candidate at `start` preceded by a cue ("discussed with", "Patient:")?"""
    head = " " + " ".join(text[max(0, start - 48) : start].lower().split())
    if head.endswith(" dr") or head.endswith(" dr."):
        head = head[: head.rfind(" dr")]
    if head.endswith(":"):
        label = head[:-1].rstrip().replace("/", " ")  # "RESIDENT/FELLOW:"
        return label.endswith(_LABEL_CUES)
    if head.endswith(" and") and _DRS_AND_RE.search(head):
        return True
    return head.endswith(_VERB_CUES)


# What follows a person's name: "X Y was informed of the result", "X Y (pager 1234)".
_AFTER_CUES = (
    " was informed",
    " was notified",
    " was paged",
    " was called",
    " was contacted",
    " was told",
    " (pager",
    " (beeper",
    " (ext",
    " (x",
    " (phone",
    ", dob",
)


def words_of(text: str, start: int, end: int) -> list[str]:
    return text[start:end].replace(",", " ").split()


def _given_word(word: str) -> bool:
    """ "May", "Will" (a given name that is also a word); "WILL" only counts where the caller
    checks the word after it is a capitalised name ("DR. WILL NWOSU")."""
    return word[:1].isupper() and word.lower() in GIVEN_WORDS


_COMMUNICATION_RE = re.compile(
    r"discuss|spoke|spoken|review|communicat|confer|talk|left (?:with|a )|\bcall|phon|"
    r"\bpaged?\b|notif|inform|contacted|relay|convey|\breported\b|given|sent|forward|read back|"
    r"\bmet\b|consult",
    re.IGNORECASE,
)


def _sentence_before(text: str, start: int) -> str:
    """The sentence (at most 80 characters) that ends at `start`: it begins after a line
    break or a full stop followed by a capital ("a.m. to", "Dr. Smith" do not end one)."""
    head = text[max(0, start - 80) : start]
    cut = head.rfind("\n")
    dot = head.rfind(". ")
    while dot > cut and not head[dot + 2 : dot + 3].isupper():
        dot = head.rfind(". ", 0, dot)
    return head[max(cut, dot) + 1 :]


def _with_particles(text: str, span: Span | None) -> Span | None:
    """Move a name's start back over the particles before it ("van der Berg", "Ó Briain")."""
    if span is None:
        return None
    start = span[0]
    # a particle ends in a letter (or is "Ó") right before the blank: most names follow ": "
    # or ". ", and the anchored search below tries every position of its 24-character window
    if start < 3 or text[start - 1] != " " or not text[start - 2].isalpha():
        return span
    particles = _PARTICLES_BEFORE_RE.search(text, max(0, start - 24), start)
    return Span(particles.start(), span[1], span[2]) if particles else span


def _weakest_cue_before(text: str, start: int) -> bool:
    return (" " + text[max(0, start - 6) : start].lower().rstrip()).endswith(_WEAKEST_CUES)


def _weak_cue_before(text: str, start: int) -> bool:
    head = " " + " ".join(text[max(0, start - 32) : start].lower().split())
    return head.endswith(_WEAK_CUES)


_DIGIT_AFTER_RE = re.compile(r"[ ]+[0-9]")
_INITIAL_RE = re.compile(r"[A-Z]\.$")
_NEXT_WORD_RE = re.compile(r"[ ]([A-Za-z]+)")
_DRS_AND_RE = re.compile(r" drs\.? [^ ,;]+(?: [^ ,;]+){0,3} and$")


_TITLE_HEAD_RE = re.compile(r"[A-Za-z]+\.?[ \t]+")


def _titled(deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """The name after "Dr.", "Mrs", "Prof"; after Dr. a common word is a surname too."""
    start, end = match.span()
    head = _TITLE_HEAD_RE.match(match.group())
    span = deid._name_span(text, start + head.end(), end, cue=True, strong=True)  # type: ignore[union-attr]
    if span is None and head.group()[:2].lower() == "dr":  # type: ignore[union-attr]
        # "Dr. Day", "Dr. Hill": after Dr. a common word is a surname (not a clinical one)
        word = _WORD_RE.match(text, start + head.end())  # type: ignore[union-attr]
        if word is not None and word.group().rstrip(".").lower() not in CLINICAL_SET:
            w_end = word.end() - (1 if word.group().endswith(".") else 0)
            if word.group().endswith(("'s", "'S", "’s")):
                w_end = word.end() - 2  # "DR. NG'S OFFICE"
            return Span(word.start(), w_end, "NAME")
    return span


def _before_credential(deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """The name before "MD", "RN", "PhD" ("Jane Doe, RN", "J. Smith MD")."""
    start, end = match.span()
    before = NAME_BEFORE_CREDENTIAL_RE.search(text, max(0, start - 80), start)
    if before is None:  # "Dictated by: D.O." are initials, not a credential
        return Span(start, end, "NAME") if _cue_before(text, start) else None
    span = deid._name_span(text, before.start(), before.end(), cue=True, strong=True)
    return _with_particles(text, span)  # "RESIDENT/FELLOW: van Houten, Anneke, MD"


def _name_shaped(deid: Any, text: str, match: re.Match[str]) -> Span | None:
    return deid._nameish_candidate(text, match.start(), match.end("name_rest"))


RECOGNIZERS = [
    Recognizer(
        "titled_name",
        "NAME",
        "capital",
        _trie(_TITLES.split("|")) + _TITLED,
        order=30,
        validate=_titled,
        example="Dr. Smith",
    ),
    # Typist/dictation initials: "RAB/dictated", "JJK/mk" (but not "W/O").
    Recognizer(
        "typist_initials",
        "NAME",
        "capital",
        rf"[{_UP}]{{1,3}}(?=/(?:dictated|dict|[a-z]{{2,3}})(?![A-Za-z]))",
        order=50,
        example="RAB/dictated",
    ),
    Recognizer(
        "credential",
        "NAME",
        "capital",
        _trie(_CREDENTIALS.split("|")) + r"(?![A-Za-z])",
        order=70,
        validate=_before_credential,
        example="Jane Doe, RN",
    ),
    # Consumes only the first word: the whole name is in the lookahead group, so a rejected
    # candidate ("Patient" in "Patient Richard Nguyen") does not hide the next word.
    Recognizer(
        "name_shaped",
        "NAME",
        "capital",
        _NOT_A_STOP_STARTER + _NAME_GATES + "(?=(?P<name_rest>" + _NAME_REST + "))",
        order=80,
        validate=_name_shaped,
        example="discussed with Hassan Nasser",
    ),
]
