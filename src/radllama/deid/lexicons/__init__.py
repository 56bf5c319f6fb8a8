"""Word lists and gazetteers of the de-identifier, as data files beside this module.

Each ``NAME.txt`` holds one entry per line (an entry may contain blanks: "new york", "medical
center"); lines starting with ``#`` are comments. Edit a file to change what the rules know;
`radllama.deid.registry` compiles the rules from these lists once per process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def words(name: str) -> tuple[str, ...]:
    """The entries of ``lexicons/NAME.txt`` in file order.

    >>> words("surrogate_streets")[:3]
    ('Elm', 'Oak', 'Maple')
    """
    text = resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def word_set(name: str) -> frozenset[str]:
    """The entries of ``lexicons/NAME.txt`` as a set (membership tests)."""
    return frozenset(words(name))


EPONYMS = words("eponyms")
CLINICAL = words("clinical")
COMMON = words("common")
# Words that are never a name, even capitalised after a cue ("discussed with Radiology") or
# in a capitalised pair ("Morison Pouch"): clinical eponyms, anatomy, report vocabulary and
# common English words. Only consulted for name *candidates*, so its size costs nothing on
# ordinary prose.
ALLOW_TERMS = frozenset(EPONYMS + CLINICAL + COMMON)
COMMON_SET = frozenset(COMMON)
CLINICAL_SET = frozenset(CLINICAL)
# After a cue ("discussed with", "Dr.") a word is a name even if it is also an eponym: many
# eponyms are common surnames (Baker, Jones, Murphy, Wilson), so only these words are trimmed.
CUE_STOP_TERMS = frozenset(CLINICAL + COMMON)
# Common given names: a capitalised pair that starts with one of these ("John Smith") is a name
# even without a cue. Also used to pick given-name surrogates.
FIRST_NAMES = word_set("first_names")
GIVEN_WORDS = word_set("given_words")
WORD_SURNAMES = word_set("word_surnames")
ROLE_WORDS = word_set("role_words")
EPONYM_HEADS = word_set("eponym_heads")
CLINICAL_ACRONYMS = word_set("clinical_acronyms")
FACILITY_WORDS = list(words("facility_words"))
STATE_CODES = list(words("state_codes"))
STATE_NAMES = list(words("state_names"))
US_CITIES = word_set("us_cities")
SURROGATE_FAMILY = list(words("surrogate_family"))
SURROGATE_STREETS = list(words("surrogate_streets"))
# Clinical phrases of name-shaped words ("Austin Moore prosthesis"): redactions never cut in.
KEEP_PHRASES = words("keep_phrases")
HOSPITAL_NAMES = list(words("hospital_names"))
