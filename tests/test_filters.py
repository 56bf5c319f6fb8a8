"""The paper's filters, duplicates and drop reasons."""

from __future__ import annotations

import numpy as np
import pytest

from radllama.data.filters import (
    DROP_REASONS,
    FilterConfig,
    collapse_whitespace,
    drop_reason,
    first_occurrence,
    pair_hash,
    text_hash,
)

TEN_WORDS = "one two three four five six seven eight nine ten"


def test_collapse_whitespace():
    assert collapse_whitespace(" a \t b\n\n c  ") == "a b c"
    assert collapse_whitespace("\n \t") == ""


@pytest.mark.parametrize(
    ("findings", "impression", "reason"),
    [
        ("", "Normal.", "no_findings"),
        ("", "", "no_findings"),
        (TEN_WORDS, "", "no_impression"),
        ("one two three four five six seven eight nine", "Normal.", "short_findings"),
        (TEN_WORDS, "Normal.", None),
    ],
)
def test_drop_reason_paper_rules(findings, impression, reason):
    assert drop_reason(findings, impression, min_findings_words=10) == reason


def test_min_words_is_configurable():
    assert drop_reason("two words", "x", min_findings_words=2) is None
    assert drop_reason("two words", "x", min_findings_words=3) == "short_findings"
    assert FilterConfig().min_findings_words == 10


def test_hashes_are_stable_and_distinguish_the_pair_boundary():
    assert pair_hash("a", "b") == pair_hash("a", "b")
    assert pair_hash("a b", "c") != pair_hash("a", "b c")
    # A fixed value: the hash must not change between processes or runs.
    assert text_hash("abc") == int.from_bytes(
        __import__("hashlib").blake2b(b"abc", digest_size=8).digest(), "little"
    )


def test_first_occurrence_keeps_the_first_of_each_duplicate():
    hashes = np.array([pair_hash("f", "i"), pair_hash("g", "i"), pair_hash("f", "i")], np.uint64)
    assert first_occurrence(hashes).tolist() == [True, True, False]
    assert first_occurrence(np.zeros(0, np.uint64)).tolist() == []


def test_every_reason_is_unique():
    assert len(set(DROP_REASONS)) == len(DROP_REASONS)
    assert {"no_findings", "no_impression", "short_findings", "duplicate"} <= set(DROP_REASONS)
