"""Surrogate values: consistent fake names, shifted dates and times, same-shape IDs."""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import date, timedelta

from radllama.deid.lexicons import FIRST_NAMES, SURROGATE_FAMILY
from radllama.deid.recognizers.patterns import _MONTH_NUMBER, _MONTHS

_SURROGATE_GIVEN = sorted(FIRST_NAMES)


def _stable_int(key: str) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def _same_shape(original: str, key: int) -> str:
    """Digits -> digits, letters -> letters, punctuation kept ("617-555-0134" style)."""
    out = []
    for i, char in enumerate(original):
        step = _stable_int(f"{key}:{i}")
        if char.isdigit():
            out.append(str(step % 10))
        elif char.isalpha():
            letter = chr(ord("A") + step % 26)
            out.append(letter if char.isupper() else letter.lower())
        else:
            out.append(char)
    return "".join(out)


def _surrogate_name(original: str, seed: int) -> str:
    """Each word maps to a fixed fake word, so "John Smith" and "SMITH, JOHN" stay consistent."""

    def fake(match: re.Match[str]) -> str:
        word = match.group()
        key = _stable_int(f"{seed}:name:{word.lower().rstrip('.')}")
        if len(word.rstrip(".")) == 1:
            new = chr(ord("A") + key % 26) + word[1:]
        elif word.lower() in FIRST_NAMES:
            new = _SURROGATE_GIVEN[key % len(_SURROGATE_GIVEN)].capitalize()
        else:
            new = SURROGATE_FAMILY[key % len(SURROGATE_FAMILY)]
        return new.upper() if word.isupper() and len(word) > 1 else new

    return re.sub(r"[A-Za-z][A-Za-z'-]*\.?", fake, original)


_DATE_FORMS = (
    re.compile(r"(?P<m>[0-9]{1,2})(?P<s>[-/.])(?P<d>[0-9]{1,2})(?P=s)(?P<y>[0-9]{4}|[0-9]{2})$"),
    re.compile(r"(?P<y>[0-9]{4})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})(?P<rest>.*)$"),
    re.compile(
        r"(?P<mon>[A-Za-z]+)(?P<p>\.?[ ]?)(?P<d>[0-9]{1,2})(?P<sfx>st|nd|rd|th)?"
        r"(?P<c>,?[ ]?)(?P<y>[0-9]{4})?$"
    ),
    re.compile(
        r"(?P<d>[0-9]{1,2})(?P<sfx>st|nd|rd|th)?(?P<p>[ -]|[ ]of[ ])?(?P<mon>[A-Za-z]+)"
        r"(?P<c>\.?,?[ -]?)(?P<y>[0-9]{4})?$"
    ),
)


def _shift_date(original: str, days: int) -> str | None:
    """Shift a date by `days`, wrapping inside its year so the year stays; None if unparsed."""
    for form in _DATE_FORMS:
        m = form.match(original)
        if not m:
            continue
        parts = m.groupdict()
        year = int(parts["y"]) if parts.get("y") else 2000
        year = year + 2000 if year < 100 else year
        month = (
            _MONTH_NUMBER.get(parts["mon"].lower()[:4].rstrip(".")) if parts.get("mon") else None
        )
        month = (
            month
            or _MONTH_NUMBER.get((parts.get("mon") or "")[:3].lower())
            or int(parts.get("m") or 0)
        )
        try:
            day = date(year, month, int(parts["d"]))
        except (ValueError, TypeError):
            return None
        size = 366 if calendar.isleap(year) else 365
        shifted = date(year, 1, 1) + timedelta(days=(day.timetuple().tm_yday - 1 + days) % size)
        if parts.get("mon"):
            name = _MONTHS[shifted.month - 1]
            mon = parts["mon"]
            name = name[: len(mon)] if len(mon) <= 4 else name
            name = name.upper() if mon.isupper() else name
            if form is _DATE_FORMS[2]:
                return f"{name}{parts['p']}{shifted.day}{parts['sfx'] or ''}{parts['c']}{parts['y'] or ''}"
            return f"{shifted.day}{parts['sfx'] or ''}{parts['p'] or ''}{name}{parts['c']}{parts['y'] or ''}"
        sep = parts["s"]
        if form is _DATE_FORMS[1]:
            return f"{parts['y']}{sep}{shifted.month:02d}{sep}{shifted.day:02d}{parts['rest']}"
        return f"{shifted.month:0{len(parts['m'])}d}{sep}{shifted.day:0{len(parts['d'])}d}{sep}{parts['y']}"
    return None


def _shift_time(original: str, key: int) -> str | None:
    m = re.match(r"([0-9]{1,2}):([0-9]{2})(.*)$", original)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    twelve = re.search(r"[AaPp]\.?[Mm]", m.group(3)) is not None
    total = (hour * 60 + minute + key % 600 + 7) % (12 * 60 if twelve else 24 * 60)
    new_hour, new_minute = divmod(total, 60)
    if twelve and new_hour == 0:
        new_hour = 12
    return f"{new_hour:0{len(m.group(1))}d}:{new_minute:02d}{m.group(3)}"
