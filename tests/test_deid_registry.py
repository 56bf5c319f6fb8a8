"""The recognizer registry: rules as data (named patterns with cues and validators, grouped by
PHI type), word lists as package data, one combined scan per lead character, and a new rule
added without touching the engine."""

from __future__ import annotations

import pickle
import re
import tomllib
from pathlib import Path

import pytest

from radllama.deid import lexicons
from radllama.deid.engine import Deidentifier, Span
from radllama.deid.recognizers.base import Recognizer
from radllama.deid.registry import REGISTRY, Registry, default_recognizers

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_finds_its_own_example():
    deid = Deidentifier()
    for rule in REGISTRY.recognizers:
        if not rule.example:
            continue
        kinds = {span.kind for span in deid.find(rule.example)}
        # the family's type, or a finer type of the same family (MRN for an ID label)
        family = {"ID": {"ID", "MRN", "ACCESSION", "SSN"}, "PHONE": {"PHONE", "FAX"}}
        assert kinds & family.get(rule.phi_type, {rule.phi_type}), (rule.name, rule.example)


def test_rules_are_grouped_by_type_and_uniquely_named():
    by_type = REGISTRY.by_type()
    assert {"DATE", "TIME", "AGE", "ID", "SSN", "PHONE", "IP", "ADDRESS", "ZIP", "NAME"} <= set(
        by_type
    )
    names = [rule.name for rule in default_recognizers()]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="two recognizers are named"):
        Registry(default_recognizers() + [default_recognizers()[0]])


def test_cues_become_lookbehinds_before_the_lead_digit():
    rule = Recognizer("t", "DATE", "digit_after_word", "[0-9]?/[0-9]{1,2}", 1, cues=("on ",))
    assert rule.body() == "(?:(?<=on [0-9]))[0-9]?/[0-9]{1,2}"
    with pytest.raises(ValueError, match="cues only apply"):
        Recognizer("t", "DATE", "digit", "x", 1, cues=("on ",))


def trial_code(deid, text, match):  # the validator sees the match and may reject it
    return None if text[match.end() : match.end() + 3] == " mg" else Span(*match.span(), "ID")


def test_a_new_rule_is_one_recognizer_and_one_registry():
    # the ten-line example of docs/ARCHITECTURE.md
    rule = Recognizer(
        "trial_code", "ID", "digit", r"[0-9]{2}-RX(?![A-Za-z0-9])", order=200,  # the rest after
        validate=trial_code, example="enrolled in 221-RX",  # the lead digit: "221-RX"
    )  # fmt: skip
    text = "Enrolled in 221-RX; took 300-RX mg."
    assert all(s.kind != "ID" for s in Deidentifier().find(text))
    deid = Deidentifier(registry=Registry(default_recognizers() + [rule]))
    assert [text[s.start : s.end] for s in deid.find(text)] == ["221-RX"]
    assert pickle.loads(pickle.dumps(deid)).find(text) == deid.find(text)


def test_lexicons_are_data_files_shipped_with_the_package():
    files = sorted(p.stem for p in (ROOT / "src/radllama/deid/lexicons").glob("*.txt"))
    assert {"eponyms", "clinical", "common", "first_names", "us_cities"} <= set(files)
    for name in files:
        assert lexicons.words(name), name  # every file loads and is not empty
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "deid/lexicons/*.txt" in data["tool"]["setuptools"]["package-data"]["radllama"]
    assert "hodgkin" in lexicons.ALLOW_TERMS and "new york" in lexicons.US_CITIES


def test_find_returns_typed_spans():
    spans = Deidentifier().find("Seen 03/12/2019 by Dr. Smith.")
    assert all(isinstance(s, Span) for s in spans)
    assert [(s.kind, s.start) for s in spans] == [("DATE", 5), ("NAME", 23)]
    assert spans[0] == (5, 15, "DATE")  # still a tuple for callers that unpack
    assert re.fullmatch(r"\[DATE\]", Deidentifier().redact("03/12/2019").text)
