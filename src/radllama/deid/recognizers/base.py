"""What a recognizer is: a named pattern, where it is scanned, its cue words and a validator."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from radllama.deid.spans import Span

# Where a pattern sits in the two combined scans (see `radllama.deid.registry`):
#   digit            - a token that starts with a digit ("12/03/2019", "617-555-0134")
#   digit_after_word - a number right after one of its `cues` ("on 3/4", "age 93")
#   digit_anywhere   - a digit anywhere, even glued to letters ("E1234567", "x8694")
#   capital          - a word that starts with a capital letter ("Dr. Smith", "MRN: 123")
Scan = Literal["digit", "digit_after_word", "digit_anywhere", "capital"]
# validate(deidentifier, text, match) -> the span to redact, or None to reject the candidate
Validator = Callable[[Any, str, "re.Match[str]"], "Span | None"]


@dataclass(frozen=True)
class Recognizer:
    """One rule. `pattern` is the rest of the match after its lead character (a digit or a
    capital, consumed by the combined scan); `cues` (digit_after_word only) are the words
    that must end right before the lead digit, e.g. ``"on "``; without a `validate` every
    match is a span of type `phi_type`. `order` places it in the combined alternation
    (lower is tried first at the same position)."""

    name: str
    phi_type: str
    scan: Scan
    pattern: str
    order: int
    validate: Validator | None = None
    cues: tuple[str, ...] = ()
    example: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"recognizer name {self.name!r} must be a Python identifier")
        if self.cues and self.scan != "digit_after_word":
            raise ValueError(f"recognizer {self.name}: cues only apply to digit_after_word")

    def body(self) -> str:
        """The alternative as it goes into the combined scan (cue lookbehinds first)."""
        if not self.cues:
            return self.pattern
        return "(?:" + "|".join(f"(?<={cue}[0-9])" for cue in self.cues) + ")" + self.pattern
