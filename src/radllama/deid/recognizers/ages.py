"""Ages over 89 (Safe Harbor keeps younger ages): "92-year-old", "age 93", "in her 90s"."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import _LEADING_DIGITS
from radllama.deid.spans import Span

# Word joiners between the number and "year": blank, hyphen, and the Unicode hyphens and
# dashes that word processors substitute ("92\u2011year\u2011old", "92\u2013year-old").
_JOIN = "[- \u2010\u2011\u2012\u2013\u2014]"
_AGE_WORDS = (
    rf"(?:{_JOIN}?(?:years?|yrs?|yr|YEARS?|YRS?|YR)(?:{_JOIN}(?:old|OLD)|{_JOIN}of{_JOIN}age)?"
    # "95 y/o", "95yo", and with the sex glued on: "95yof", "95 yoM", "95yF", "95 y.o.f."
    rf"|{_JOIN}?(?:y/o|y\.o\.|yo|y|Y/O|Y\.O\.|YO|Y)(?:[FMfm](?:\.(?![A-Za-z0-9]))?)?(?![A-Za-z]))"
)
# Ages over 89 written out: "ninety-three-year-old", "one hundred four-year-old", "a hundred
# year old"; and words that alone say the age is over 89 ("in her nineties", "nonagenarian").
_AGE_KEYWORDS = ["ninety", "one hundred", "one-hundred", "hundred"]
_AGE_PLAIN_KEYWORDS = ["nineties", "nonagenarian", "nonagenarians", "centenarian"]
_AGE_PLAIN_KEYWORDS += ["centenarians", "supercentenarian"]
_AGE_AFTER_RE = re.compile(
    r"(?:[ -]and)?(?:[ -](?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?"
    r"(?=[- \u2010\u2011\u2012\u2013\u2014](?:years?|yrs?|yo|y/o)(?![a-z]))"
)
_AGE_PLAIN_RE = re.compile("")  # the keyword itself is the age
# Before "98 F" / "102F": a temperature, not an age with a sex letter.
_TEMPERATURE_CUES = ("temp", "temperature", "tmax", "t max", "fever", "febrile", "fever of")
# OCR and typing slips: the letter O for a zero ("9O-year-old", "AGE: 1O2").
_OCR_DIGITS = str.maketrans("Oo", "00")
_AGE_AFTER_NAME_RE = re.compile(
    r",[ ](?:[0-9]{1,3}[- ]?|[a-z]+(?:-[a-z]+)*[- ])(?:years?|yrs?|yo|y/o)(?![a-z])", re.IGNORECASE
)
_AGE_IN_PARENS_RE = re.compile(r"[ ]\((?P<a>[0-9]{2,3})\)")


def _over_89_digits(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """ "102f", "94F", "104M": an age with a sex letter; only the digits are the age. Not a
    temperature: "Tmax 101 F", "fever of 102F"."""
    digits = _LEADING_DIGITS.match(match.group()).group()  # type: ignore[union-attr]
    if not 89 < int(digits) < 130:
        return None
    before = text[max(0, match.start() - 14) : match.start()].rstrip(" :=").lower()
    if before.endswith(_TEMPERATURE_CUES):
        return None
    return Span(match.start(), match.start() + len(digits), "AGE")


def _over_89_tail(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """ "F/92": the digits at the end of the match are the age."""
    digits = re.search(r"[0-9]+$", match.group()).group()  # type: ignore[union-attr]
    if not 89 < int(digits) < 130:
        return None
    return Span(match.end() - len(digits), match.end(), "AGE")


def _over_89(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    number = int(_LEADING_DIGITS.match(match.group()).group())  # type: ignore[union-attr]
    return Span(match.start(), match.end(), "AGE") if 89 < number < 130 else None


_OCR_NUMBER_RE = re.compile("[0-9][0-9Oo]{1,2}")


def _over_89_ocr(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    """ "9O-year-old", "AGE: 1O1": a number typed with the letter O for a zero."""
    number = _OCR_NUMBER_RE.match(match.group()).group()  # type: ignore[union-attr]
    if "O" not in number and "o" not in number:
        return None  # all digits: the plain rules decide
    return (
        Span(match.start(), match.end(), "AGE")
        if 89 < int(number.translate(_OCR_DIGITS)) < 130
        else None
    )


def _decade_90s(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """ "in her 90s", "late 90's": only the nineties are over 89 ("in his 80s" is kept)."""
    return Span(match.start(), match.end(), "AGE") if text[match.start()] == "9" else None


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
            r"[Aa]ge \(years\): ",
            r"[Aa]ge \(yrs\): ",
            r"[Aa]ge \(y\): ",
            r"\b[Aa]ged: ",
            "AGED ",
            r"\b[Aa]t age ",
        ),
        example="age 93",
    ),
    # The same cues written without the blank, or with "=" / " - ": "Age:95", "AGE=101".
    Recognizer(
        "age_cue_tight",
        "AGE",
        "digit",
        r"(?:(?<=[Aa]ge[:=][0-9])|(?<=AGE[:=][0-9])|(?<=[Aa]ge - [0-9])"
        r"|(?<=AGE - [0-9]))[0-9]{1,2}(?![0-9])",
        order=152,
        validate=_over_89,
        example="AGE:101",
    ),
    # OCR / typing slips: "9O-year-old", "AGE: 1O2" (validator: an O present, 90-129).
    Recognizer(
        "age_ocr",
        "AGE",
        "digit",
        r"[0-9Oo]{1,2}" + _AGE_WORDS,
        order=151,
        validate=_over_89_ocr,
        example="9O-year-old",
    ),
    Recognizer(
        "age_cue_ocr",
        "AGE",
        "digit_after_word",
        r"[0-9O]{1,2}(?![0-9A-Za-z])",
        order=31,
        validate=_over_89_ocr,
        cues=(r"\b[Aa]ge ", r"\b[Aa]ged ", "AGE ", "[Aa]ge: ", "AGE: "),
        example="AGE: 9O",
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
        r"(?<![A-Za-z0-9][FM])(?<=[FM])(?:[ ]?/[ ]?|,[ ])[0-9]{2,3}(?![0-9])",
        order=90,
        validate=_over_89_tail,
        example="Sex/Age: F/92, F, 93",
    ),
    Recognizer(
        "decade",
        "AGE",
        "digit_after_word",
        r"0'?s(?![a-z])",
        order=40,
        validate=_decade_90s,
        cues=("his ", "her ", "their ", "late ", "mid ", "early "),
        example="in her 90s",
    ),
    Recognizer(
        "decade_hyphen",
        "AGE",
        "digit",
        r"(?:(?<=[Mm]id-[0-9])|(?<=[Ll]ate-[0-9])|(?<=[Ee]arly-[0-9]))0'?s(?![a-z])",
        order=156,
        validate=_decade_90s,
        example="in her mid-90s",
    ),
]


# A bare age right after a name: "Pavlov, Moisey, 93, CT LIVER", "Mrs. Okafor, 101, presents";
# a number, then a comma or a word that is not a unit ("Smith, 95 mg" is a dose).
_BARE_AGE_AFTER_NAME_RE = re.compile(
    r",[ ](?P<a>[0-9]{2,3})(?![0-9.,%/:-][0-9])(?![0-9%])"
    r"(?![ ]?(?:mm|cm|m|mg|mcg|ml|mL|cc|kg|lbs?|percent|units?|x|mSv|mGy|mCi|MBq)\b)"
)


def ages_after_names(text: str, found: list[Span]) -> None:
    """Add to `found` the ages over 89 written bare after a NAME span ("Last, First, 93,")."""
    for _start, end, kind in list(found):
        if kind != "NAME" or not text.startswith(", ", end):
            continue
        m = _BARE_AGE_AFTER_NAME_RE.match(text, end)
        if m is not None and 89 < int(m.group("a")) < 130:
            found.append(Span(m.start("a"), m.end("a"), "AGE"))
