"""The de-identifier's keyword pass with three multi-pattern engines, side by side (issue 19).

`KeywordRules._keyword_families` finds ~300 plain keywords (ID words, months, family words,
cue phrases...) in the lower-cased text with one regex, a character trie behind a blank
(`keywords._KEYWORD_RE`). This measures the same search, with the same hits (checked), in
`pyahocorasick` (an Aho-Corasick automaton: every occurrence, boundaries filtered in Python)
and `hyperscan` (literal patterns, a Python callback per occurrence), on the findings and
impressions of synthetic reports. `google-re2` is tried on the combined scans, which need
look-behinds. Engines that are not installed are skipped.

    PYTHONPATH=src python benchmarks/bench_keyword_engines.py --reports 3000
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from itertools import islice
from pathlib import Path

from radllama.data.filters import collapse_whitespace
from radllama.data.sections import split_sections
from radllama.deid.recognizers.keywords import _KEYWORD_KIND, _KEYWORD_RE
from radllama.deid.registry import REGISTRY

_LEADS = " \t\n("
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")


def regex_hits(low: str) -> list[tuple[int, str]]:
    return [(m.start("k"), m.group("k")) for m in _KEYWORD_RE.finditer(low)]


def filter_hits(low: str, found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """`_KEYWORD_RE.finditer` semantics from every occurrence: a lead blank before, no letter
    after, the longest word at a start, no overlap with the previous hit (lead included)."""
    best: dict[int, str] = {}
    for start, word in found:
        end = start + len(word)
        if start == 0 or low[start - 1] not in _LEADS:
            continue
        if end < len(low) and low[end] in _LETTERS:
            continue
        if len(word) > len(best.get(start, "")):
            best[start] = word
    out, free = [], 0
    for start in sorted(best):
        if start - 1 >= free:
            out.append((start, best[start]))
            free = start + len(best[start])
    return out


def _texts(n: int) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_prepare import _corpus

    csv.field_size_limit(10**9)
    with open(_corpus(20_000, 0), newline="") as handle:
        reports = [row["report_text"] for row in islice(csv.DictReader(handle), n)]
    texts = []
    for report in reports:
        sections = split_sections(report)
        texts += [collapse_whitespace(t) for t in (sections.findings, sections.impression) if t]
    return [t.lower() for t in texts]


def _time(fn, texts: list[str], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - started)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    args = parser.parse_args()
    texts = _texts(args.reports)
    words = sorted(_KEYWORD_KIND)
    rows = [("regex trie (re, current)", _time(regex_hits, texts))]
    try:
        import ahocorasick
    except ImportError:
        print("pyahocorasick: not installed")
    else:
        automaton = ahocorasick.Automaton()
        for word in words:
            automaton.add_word(word, word)
        automaton.make_automaton()

        def aho_hits(low: str) -> list[tuple[int, str]]:
            return filter_hits(low, [(end - len(w) + 1, w) for end, w in automaton.iter(low)])

        assert all(aho_hits(t) == regex_hits(t) for t in texts), "pyahocorasick hits differ"
        rows.append(("pyahocorasick + boundary filter", _time(aho_hits, texts)))
        rows.append(
            ("pyahocorasick, raw iteration only", _time(lambda t: list(automaton.iter(t)), texts))
        )
    try:
        import hyperscan
    except ImportError:
        print("hyperscan: not installed")
    else:
        database = hyperscan.Database()
        database.compile(
            expressions=[re.escape(w).encode() for w in words],
            ids=list(range(len(words))),
            flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * len(words),
        )
        scratch = hyperscan.Scratch(database)

        def hs_hits(low: str) -> list[tuple[int, str]]:
            found: list[tuple[int, str]] = []
            data = low.encode()
            if len(data) != len(low):  # byte offsets differ from str offsets: fall back
                return regex_hits(low)

            def on_match(ident, start, end, flags, context):
                found.append((start, words[ident]))

            database.scan(data, match_event_handler=on_match, scratch=scratch)
            return filter_hits(low, found)

        assert all(hs_hits(t) == regex_hits(t) for t in texts), "hyperscan hits differ"
        rows.append(("hyperscan + boundary filter", _time(hs_hits, texts)))
    try:
        import re2
    except ImportError:
        print("google-re2: not installed")
    else:
        for name, scan in (("digit", REGISTRY.digit_re), ("capital", REGISTRY.capital_re)):
            try:
                re2.compile(scan.pattern)
                print(f"google-re2 compiles the {name} scan")
            except Exception as error:  # re2.error
                print(f"google-re2 cannot compile the {name} scan: {str(error)[:80]}")
    print(
        f"{len(texts)} texts ({sum(map(len, texts)) / len(texts):.0f} chars), {len(words)} keywords"
    )
    print("| engine (keyword pass) | us per text (CPU, best of 5) |\n|---|---:|")
    for label, us in rows:
        print(f"| {label} | {us:.2f} |")


if __name__ == "__main__":
    main()
