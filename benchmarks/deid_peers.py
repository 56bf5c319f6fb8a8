"""Run the peer de-identifiers on texts; runs in its own venv (see `make deid-peers-venv`).

    benchmarks/_work/deid-peers-venv/bin/python benchmarks/deid_peers.py TEXTS.jsonl OUT.jsonl

TEXTS.jsonl: one {"text": ...} per line. OUT.jsonl: one line per system,
{"system", "note", "seconds", "spans": [[[start, end], ...] per text]}; `bench_deid.py` scores
them with `radllama.deid.scoring` (the same scorer as ours). Not imported by radllama or its tests.

What had to be changed to run each peer here (Python 3.11, no network):

- Philter (philter-ucsf 1.0.3, config ``configs/philter_delta.json``): (1) 160 of its 309 regex
  filters put ``(?i)`` after a ``\\b``; Python >= 3.11 rejects global flags that are not at the
  start. ``Philter.precompile`` is replaced by the same function that moves those flags to the
  front: the meaning is unchanged (Python < 3.11 applied them to the whole pattern anyway).
  (2) It imports ``chardet`` without declaring it: installed. (3) Its name blacklists and its
  number whitelist consult NLTK's averaged-perceptron POS tagger, whose data is downloaded from
  GitHub at run time and cannot be fetched here; ``nltk.pos_tag`` inside Philter is replaced by
  a stand-in (capitalised word -> NNP, number -> CD, else NN). With the real tagger Philter's
  figures may differ. Philter reads and writes files, so each text is a file in a temp folder;
  its time includes that I/O (its only interface).
- Presidio (presidio-analyzer/anonymizer 2.2.366): no spaCy English model can be installed from
  the registries here (``pip install en_core_web_sm`` finds nothing), so the spaCy NER
  recognizer (names, places, dates in prose) is off; every other predefined English
  recognizer (patterns + phone numbers) runs, and presidio-anonymizer applies the result.
- scrubadub 2.0.1: its default detectors plus the date-of-birth detector; its name detectors
  need spaCy models or TextBlob corpora that cannot be downloaded here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings


def run_philter(texts: list[str]) -> tuple[list[list[tuple[int, int]]], float]:
    import philter_ucsf
    from philter_ucsf import philter as philter_module
    from philter_ucsf.philter import Philter

    flags_re = re.compile(r"\(\?([aiLmsux]+)\)")

    def precompile(self, filepath):  # the patch: global inline flags moved to the front
        regex = open(filepath).read().strip()
        flags = "".join(sorted(set("".join(flags_re.findall(regex)))))
        if flags:
            regex = f"(?{flags})" + flags_re.sub("", regex)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(regex)

    def pos_tag(tokens):  # stand-in for NLTK's tagger (its data cannot be downloaded here)
        return [
            (t, "CD" if t[:1].isdigit() else "NNP" if t[:1].isupper() else "NN") for t in tokens
        ]

    Philter.precompile = precompile
    philter_module.nltk = type("nltk_stub", (), {"pos_tag": staticmethod(pos_tag)})
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "in") + "/", os.path.join(tmp, "out") + "/"
        os.makedirs(src)
        os.makedirs(out)
        names = [f"r{i:06d}.txt" for i in range(len(texts))]
        started = time.perf_counter()
        for name, text in zip(names, texts, strict=True):
            with open(src + name, "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chdir(os.path.dirname(philter_ucsf.__file__))  # its config paths are relative
        try:
            config = {
                "verbose": False,
                "run_eval": False,
                "finpath": src,
                "foutpath": out,
                "outformat": "asterisk",
                "filters": "configs/philter_delta.json",
                "cachepos": None,
            }
            filterer = Philter(config)
            filterer.map_coordinates()
            filterer.transform()
        finally:
            os.chdir(here)
        outputs = []
        for name in names:
            with open(out + name, encoding="utf-8") as handle:
                outputs.append(handle.read())
        seconds = time.perf_counter() - started
    spans = []
    for text, redacted in zip(texts, outputs, strict=True):
        if len(redacted) != len(text):
            raise SystemExit("philter output length differs from its input")
        spans.append(
            _runs(i for i, (a, b) in enumerate(zip(text, redacted, strict=True)) if b == "*" != a)
        )
    return spans, seconds


def run_presidio(texts: list[str]) -> tuple[list[list[tuple[int, int]]], float]:
    from presidio_analyzer import RecognizerRegistry
    from presidio_anonymizer import AnonymizerEngine

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no network: bundled list used
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers()
    recognizers = [
        r
        for r in registry.recognizers
        if r.supported_language == "en" and type(r).__name__ != "SpacyRecognizer"
    ]
    anonymizer = AnonymizerEngine()
    spans = []
    started = time.perf_counter()
    for text in texts:
        results = []
        for recognizer in recognizers:
            results += recognizer.analyze(text, recognizer.supported_entities, None) or []
        results = [r for r in results if r.score >= 0.3]  # weak pattern hits need NLP context
        anonymizer.anonymize(text, results)
        spans.append(sorted((r.start, r.end) for r in results))
    return spans, time.perf_counter() - started


def run_scrubadub(texts: list[str]) -> tuple[list[list[tuple[int, int]]], float]:
    import scrubadub
    import scrubadub.detectors

    scrubber = scrubadub.Scrubber()
    scrubber.add_detector(scrubadub.detectors.DateOfBirthDetector)
    spans = []
    started = time.perf_counter()
    for text in texts:
        filth = list(scrubber.iter_filth(text))
        spans.append(sorted((f.beg, f.end) for f in filth))
    return spans, time.perf_counter() - started


def _runs(indices) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


SYSTEMS = {"philter": run_philter, "presidio": run_presidio, "scrubadub": run_scrubadub}


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    chosen = sys.argv[3].split(",") if len(sys.argv) > 3 else list(SYSTEMS)
    with open(source, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    with open(target, "w", encoding="utf-8") as out:
        for name in chosen:
            spans, seconds = SYSTEMS[name](texts)
            print(f"{name}: {len(texts)} texts in {seconds:.1f} s", file=sys.stderr)
            out.write(json.dumps({"system": name, "seconds": seconds, "spans": spans}) + "\n")


if __name__ == "__main__":
    main()
