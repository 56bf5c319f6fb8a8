"""Ages over 89 (Safe Harbor keeps younger ages): "92-year-old", "age 93", "in her 90s"."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import _LEADING_DIGITS
from radllama.deid.spans import Span

_AGE_WORDS = (
    r"(?:[- ]?(?:years?|yrs?|yr|YEARS?|YRS?|YR)(?:[- ](?:old|OLD)|[- ]of[- ]age)?"
    r"|[- ]?(?:y/o|y\.o\.|yo|y|Y/O|Y\.O\.|YO|Y)(?![A-Za-z]))"
)
# Ages over 89 written out: "ninety-three-year-old", "one hundred four-year-old".
_AGE_KEYWORDS = ["ninety", "one hundred", "one-hundred"]
_AGE_AFTER_RE = re.compile(
    r"(?:[ -]and)?(?:[ -](?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?"
    r"(?=[ -](?:years?|yrs?|yo|y/o)(?![a-z]))"
)
_AGE_AFTER_NAME_RE = re.compile(
    r",[ ](?:[0-9]{1,3}[- ]?|[a-z]+(?:-[a-z]+)*[- ])(?:years?|yrs?|yo|y/o)(?![a-z])", re.IGNORECASE
)
_AGE_IN_PARENS_RE = re.compile(r"[ ]\((?P<a>[0-9]{2,3})\)")


def _over_89_digits(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    """ "102f", "94F", "104M": an age with a sex letter; only the digits are the age."""
    digits = _LEADING_DIGITS.match(match.group()).group()  # type: ignore[union-attr]
    return (
        Span(match.start(), match.start() + len(digits), "AGE") if 89 < int(digits) < 130 else None
    )


def _over_89_tail(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """ "F/92": the digits at the end of the match are the age."""
    digits = re.search(r"[0-9]+$", match.group()).group()  # type: ignore[union-attr]
    if not 89 < int(digits) < 130:
        return None
    return Span(match.end() - len(digits), match.end(), "AGE")


def _over_89(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    number = int(_LEADING_DIGITS.match(match.group()).group())  # type: ignore[union-attr]
    return Span(match.start(), match.end(), "AGE") if 89 < number < 130 else None


RECOGNIZERS = [
    Recognizer(
        "age",
        "AGE",
        "digit",
        r"[0-9]{1,2}" + _AGE_WORDS,
        order=150,
        validate=_over_89,
        example="92-year-old",
    ),
    Recognizer(
        "age_cue",
        "AGE",
        "digit_after_word",
        r"[0-9]{1,2}(?![0-9])",
        order=30,
        validate=_over_89,
        cues=(
            r"\b[Aa]ge ",
            r"\b[Aa]ged ",
            "AGE ",
            "[Aa]ge: ",
            "AGE: ",
            "[Aa]ge of ",
            "[Aa]ge/[Ss]ex: ",
            "AGE/SEX: ",
        ),
        example="age 93",
    ),
    Recognizer(
        "age_sex",
        "AGE",
        "digit",
        r"[0-9]{1,2}(?:[ ]?/[ ]?|[ ])?[FMfm](?![A-Za-z0-9])",
        order=155,
        validate=_over_89_digits,
        example="HISTORY: 104M with inversion injury",
    ),
    Recognizer(
        "age_is",
        "AGE",
        "digit_after_word",
        r"[0-9]{1,2}(?![0-9%.,])(?![ ]?(?:mm|cm|%|percent))",
        order=35,
        validate=_over_89,
        cues=(
            r"\b[Pp]t is ",
            r"\b[Pp]atient is ",
            "PT IS ",
            "PATIENT IS ",
            r"\bShe is ",
            r"\bHe is ",
        ),
        example="Pt is 94 and lives alone",
    ),
    # "Sex/Age: F/92"
    Recognizer(
        "sex_age",
        "AGE",
        "capital",
        r"(?<=[FM])[ ]?/[ ]?[0-9]{2,3}(?![0-9])",
        order=90,
        validate=_over_89_tail,
        example="Sex/Age: F/92",
    ),
    Recognizer(
        "decade",
        "AGE",
        "digit_after_word",
        r"0'?s(?![a-z])",
        order=40,
        cues=("his ", "her ", "their ", "late ", "mid ", "early "),
        example="in her 90s",
    ),
]
