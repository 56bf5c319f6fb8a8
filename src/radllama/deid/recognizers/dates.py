"""Dates and times: ISO and numeric dates, day-month and month-day dates, clock times."""

from __future__ import annotations

import re
from typing import Any

from radllama.deid.recognizers.base import Recognizer
from radllama.deid.recognizers.patterns import _MONTH_ANY_OR_LOWER, _month_words, _trie
from radllama.deid.spans import Span

_AMPM = r"(?:[AaPp]\.[Mm]\.|[AaPp][Mm](?![A-Za-z]))"


def _plausible_numeric_date(value: str) -> bool:
    parts = [int(p) for p in re.findall(r"[0-9]+", value)]
    if len(parts) >= 2 and parts[0] <= 12 and 1 <= parts[1] <= 31:
        return parts[0] >= 1 or len(parts) == 2
    if len(parts) == 3 and 1 <= parts[0] <= 31 and 1 <= parts[1] <= 12:
        return True  # day/month/year
    return len(parts) == 2 and 1 <= parts[0] <= 12 and parts[1] > 31  # month/year


def _plausible_clock(value: str) -> bool:
    digits = re.match(r"[0-9]+", value).group()  # type: ignore[union-attr]
    hour = int(digits[:-2]) if len(digits) == 4 else int(digits)
    has_ampm = re.search(r"[AaPp]\.?[Mm]", value) is not None
    return hour <= 12 if has_ampm else hour <= 24


def _military(_deid: Any, text: str, match: re.Match[str]) -> Span | None:
    """0559, 1430 after a time cue: hours 00-23, minutes 00-59, no unit after it."""
    value = match.group()
    if int(value[:2]) > 23 or int(value[2:]) > 59:
        return None
    if _UNIT_AFTER_RE.match(text[match.end() : match.end() + 8].lstrip(" ").lower()):
        return None  # "at 1200 mg", "to 1000 mL"
    return Span(match.start(), match.end(), "TIME")


# A month/day and a 24-hour time stamp in parentheses: "ADDENDUM (09/11 1644):"
STAMP_RE = re.compile(
    r"\((?P<d>(?:1[0-2]|0?[1-9])/(?:3[01]|[12][0-9]|0?[1-9]))[ ]"
    r"(?P<t>(?:[01][0-9]|2[0-3])[0-5][0-9])\)"
)
# Military times after a date ("11/6/2018 1349", "June 4, 2019 2006"): see _layout.
MILITARY_AFTER_DATE_RE = re.compile(
    r"[ ]{1,2}(?:at[ ])?(?P<t>(?:[01][0-9]|2[0-3])[0-5][0-9])(?![0-9A-Za-z]|[.,:/-][0-9])"
)
_UNIT_AFTER_RE = re.compile(
    r"(?:mm|cm|ml|mgy|msv|hu|kg|g|cc|mcg|mg|units?|cgy|gy|mci|mbq)(?![a-z])|%"
)


def _numeric_date(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    """12/03/2019 yes; 13/45/2019 no (month and day in range)."""
    return (
        Span(match.start(), match.end(), "DATE") if _plausible_numeric_date(match.group()) else None
    )


def _clock(_deid: Any, _text: str, match: re.Match[str]) -> Span | None:
    """14:30 or 2:38 pm; not 27:10."""
    return Span(match.start(), match.end(), "TIME") if _plausible_clock(match.group()) else None


# Patterns are the rest after the lead digit (or capital): "[0-9]{2,4}" is written "[0-9]{1,3}".
RECOGNIZERS = [
    Recognizer(
        "iso_date",
        "DATE",
        "digit",
        r"[0-9]{3}(?P<iso_sep>[-/.])[0-9]{1,2}(?P=iso_sep)[0-9]{1,2}(?![0-9])"
        r"(?:T[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?",
        order=50,
        example="2019-03-12",
    ),
    Recognizer(
        "numeric_date",
        "DATE",
        "digit",
        r"[0-9]?(?P<num_sep>[-/.])[0-9]{1,2}(?P=num_sep)(?:[0-9]{4}|[0-9]{2})(?![0-9])",
        order=60,
        validate=_numeric_date,
        example="03/12/2019",
    ),
    Recognizer(
        "numeric_date_openi",
        "DATE",
        "digit",
        r"[0-9]?/[0-9]{1,3}/XXXX",
        order=70,
        validate=_numeric_date,
        example="02/010/XXXX (Open-i residue)",
    ),
    Recognizer(
        "clock",
        "TIME",
        "digit",
        # not the ratio "1:100,000" nor an image number "4:198"
        r"[0-9]?:[0-5][0-9](?::[0-5][0-9])?(?![0-9]|,[0-9]{3})(?:[ ]?" + _AMPM + r")?"
        r"(?:[ ]?(?:hours|hrs|h)(?![A-Za-z]))?",
        order=100,
        validate=_clock,
        example="14:30",
    ),
    Recognizer(
        "clock_ampm",
        "TIME",
        "digit",
        r"[0-9]?[ ]?" + _AMPM,
        order=110,
        validate=_clock,
        example="2 pm",
    ),
    Recognizer(
        "clock_hours",
        "TIME",
        "digit",
        r"[0-9]{3}[ ]?(?:hours|hrs|hr|h|HOURS|HRS|HR)(?![A-Za-z])",
        order=120,
        validate=_clock,
        example="1430 hours",
    ),
    Recognizer(
        "day_date",
        "DATE",
        "digit",
        r"[0-9]?(?:st|nd|rd|th|ST|ND|RD|TH)?(?:[ -]|[ ]of[ ]|[ ]OF[ ])?"
        + _MONTH_ANY_OR_LOWER
        + r"(?:,?[ -]?(?:[0-9]{4}|'?[0-9]{2})(?![0-9]))?",
        order=130,
        example="12 March 2019, 4 august 2009",
    ),
    Recognizer(
        "month_year",
        "DATE",
        "digit",
        r"[0-9]?/[0-9]{4}(?![0-9])",
        order=140,
        validate=_numeric_date,
        example="03/2019",
    ),
    Recognizer(
        "month_day",
        "DATE",
        "digit_after_word",
        r"[0-9]?/[0-9]{1,2}(?![0-9/])",
        order=20,
        validate=_numeric_date,
        # a month/day right after a clock time: "Wet read (14:30, 3/3):", "(2:38pm, 11/17)"
        cues=(
            "on ",
            "On ",
            "ON ",
            "dated ",
            "DATED ",
            "from ",
            "From ",
            "FROM ",
            "since ",
            "until ",
            "study of ",
            "exam of ",
            "[Aa]dmitted ",
            "[Dd]ischarged ",
            "clinic ",
            ":[0-9]{2}, ",
            "[apAP][mM], ",
            r"[apAP]\.[mM]\., ",
        ),
        example="on 3/4",
    ),
    # 24-hour clock times without a colon after a time cue: "at 0559", "Start 1822  End 1856",
    # "TIME: 1807" (with "hrs" after it the clock_hours rule takes them anywhere)
    Recognizer(
        "military_time",
        "TIME",
        "digit_after_word",
        r"[0-9]{3}(?![0-9])(?![.,:/-][0-9])",
        order=25,
        validate=_military,
        cues=(
            "at ",
            "AT ",
            "@ ",
            "[Tt]ime: ",
            "TIME: ",
            "[Tt]ime ",
            "Start ",
            "START ",
            "End ",
            "END ",
            "[Ss]tarted ",
            "[Ee]nded ",
        ),  # not "since"/"until": "stable since 2019" is a year
        example="Discussed with the ED at 0559.",
    ),
    Recognizer(
        "month_date",
        "DATE",
        "capital",
        _trie(_month_words()) + r"\.?(?![A-Za-z])"
        r"(?:[ ]?[0-9]{1,2}(?:st|nd|rd|th|ST|ND|RD|TH)?(?![0-9])"
        r"(?:,?[ ]?(?:[0-9]{4}|'[0-9]{2})(?![0-9]))?"
        r"|,?[ ][0-9]{4}(?![0-9])|-[0-9]{1,2}-[0-9]{2,4}(?![0-9]))",
        order=10,
        example="March 12, 2019",
    ),
]
