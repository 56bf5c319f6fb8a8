"""The recognizer registry: every rule of `radllama.deid.recognizers`, compiled into two
combined scans.

Speed trick (kept from the single-module engine): the rules are not run one by one. All
digit-led rules become ONE regex, ``[0-9](?:alt1|alt2|...)``, and all capital-led rules
another, ``[A-Z...](?:...)``. The lead is one character class, so ``re`` compiles it into a
charset prefix and its C search loop skips straight to the next digit (or capital) instead
of trying ~20 alternatives at every character (~10x, see benchmarks/bench_deid.py). Each
alternative ends in an empty marker group named after its rule, so ``match.lastgroup``
says which rule matched and the registry hands the match to that rule's validator.

Adding a rule: put a `Recognizer` in the RECOGNIZERS list of the module for its PHI type
(see docs/ARCHITECTURE.md); the registry picks it up here. Another package adds rules with
`RECOGNIZERS.register(rule.name, rule)` in a module named by a `radllama.deid_recognizers`
entry point (`radllama.core.registry`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from radllama.core.registry import Registry as NameRegistry
from radllama.deid.recognizers import ages, contact, dates, ids, locations, names
from radllama.deid.recognizers.base import Recognizer, Validator
from radllama.deid.recognizers.patterns import _LB, _LBC, _UP

RECOGNIZER_MODULES = (contact, ids, dates, ages, locations, names)


class Registry:
    """Compiles recognizers into the digit scan and the capital scan.

    ``rules[group]`` is ``(validate, phi_type)`` for the marker group of each rule."""

    def __init__(self, recognizers: Iterable[Recognizer]) -> None:
        self.recognizers = sorted(recognizers, key=lambda r: (r.scan, r.order))
        seen: set[str] = set()
        for rule in self.recognizers:
            if rule.name in seen:
                raise ValueError(f"two recognizers are named {rule.name!r}; rename one")
            seen.add(rule.name)
        self.rules: dict[str, tuple[Validator | None, str]] = {
            rule.name: (rule.validate, rule.phi_type) for rule in self.recognizers
        }
        self.digit_re = re.compile(
            "[0-9](?:"
            + _LB
            + "(?:"
            + self._alternatives("digit")
            + ")|(?<=[A-Za-z:,] [0-9])(?:"
            + self._alternatives("digit_after_word")
            + ")|"
            + self._alternatives("digit_anywhere")
            + ")"
        )
        self.capital_re = re.compile(
            f"[{_UP}]" + _LBC + "(?:" + self._alternatives("capital") + ")"
        )

    def _alternatives(self, scan: str) -> str:
        return "|".join(f"{r.body()}(?P<{r.name}>)" for r in self.recognizers if r.scan == scan)

    def by_type(self) -> dict[str, list[str]]:
        """Rule names per PHI type (for documentation and `--list`-style output)."""
        out: dict[str, list[str]] = {}
        for rule in self.recognizers:
            out.setdefault(rule.phi_type, []).append(rule.name)
        return out


def _unique(name: str, rule: Recognizer) -> Recognizer:
    if name in RECOGNIZERS:
        raise ValueError(f"two recognizers are named {name!r}; rename one")
    if name != rule.name:
        raise ValueError(f"recognizer {rule.name!r} registered as {name!r}; use its own name")
    return rule


# Every recognizer by name: the built-ins, module by module, then plugins'.
RECOGNIZERS: NameRegistry[Recognizer] = NameRegistry(
    "recognizer", group="radllama.deid_recognizers", check=_unique
)
for _module in RECOGNIZER_MODULES:
    for _rule in _module.RECOGNIZERS:
        RECOGNIZERS.register(_rule.name, _rule)


def default_recognizers() -> list[Recognizer]:
    return list(RECOGNIZERS.load_plugins().values())


REGISTRY = Registry(default_recognizers())
DIGIT_RE = REGISTRY.digit_re
CAP_RE = REGISTRY.capital_re
