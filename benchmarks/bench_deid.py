"""De-identification speed and recall: `Deidentifier.redact` vs one `re.sub` per pattern.

    .venv/bin/python benchmarks/bench_deid.py [--reports 20000] [--seed 5]

Data: a fresh synthetic corpus (`radllama.synth`, its ``.phi.jsonl`` ground truth). Timed on
(a) findings + impression, two `redact` calls per report, as `radllama prepare` does, and
(b) whole reports with headers and signatures (the PHI-dense worst case).
Alternative ("the paper's way", generalised to every Safe Harbor type): a list of ~20 regexes
applied one after the other with ``re.sub``, no shared scan, no pre-checks.
Times are CPU seconds of this process (`time.process_time`, best of `--repeats`), which is
steadier than wall time on a shared machine. Prints a markdown section for RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import tempfile
import time
from pathlib import Path

from radllama.deid import Deidentifier, recall_against_ground_truth
from radllama.sections import split_sections
from radllama.synth import synthesize

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
NAIVE_PATTERNS = [
    (r"\b(?:Dr|DR|Doctor)\.?\s+[A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'.-]+)*", "[NAME]"),
    (r"\b[A-Z][A-Za-z'-]+,?\s+[A-Z][A-Za-z'.-]+,?\s+(?:MD|M\.D\.|RN|DO|NP|PA-C)\b", "[NAME]"),
    (
        r"(?i)\b(?:patient(?: name)?|radiologist|attending|resident|referring|dictated by|"
        r"signed by|read by|reviewed by|discussed with|called to|communicated to)\s*:?\s*"
        r"[A-Z][A-Za-z'-]+(?:,?\s+[A-Z][A-Za-z'.-]+)*",
        "[NAME]",
    ),
    (r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", "[DATE]"),
    (r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"),
    (rf"(?i)\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", "[DATE]"),
    (rf"(?i)\b\d{{1,2}}[\s-]+{_MONTH}[\s-]+\d{{4}}\b", "[DATE]"),
    (r"(?i)\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?", "[TIME]"),
    (r"(?i)\b(?:9\d|1[01]\d)[- ]?(?:year|yo|y/o)", "[AGE]"),
    (r"(?i)\b(?:MRN|MR#|medical record(?: number)?)\s*[:#]?\s*\w+", "[ID]"),
    (r"(?i)\b(?:acc(?:ession)?)\s*(?:number|#)?\s*[:#]?\s*\w+", "[ID]"),
    (r"\b\d{3}-\d{2}-\d{4}\b", "[ID]"),
    (r"\(?\b\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}\b", "[PHONE]"),
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "[EMAIL]"),
    (r"(?i)\b(?:https?://|www\.)\S+", "[URL]"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}\b", "[IP]"),
    (r"\b\d+\s+[A-Z][a-z]+\s+(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr)\b", "[ADDRESS]"),
    (r"\b\d{5}(?:-\d{4})?\b", "[ZIP]"),
    (r"\b\d{6,}\b", "[ID]"),
]
_NAIVE = [(re.compile(pattern), new) for pattern, new in NAIVE_PATTERNS]


def naive_redact(text: str) -> str:
    for pattern, new in _NAIVE:
        text = pattern.sub(new, text)
    return text


def cpu_seconds(function, items, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            function(item)
        best = min(best, time.process_time() - start)
    return best


def load_corpus(reports: int, seed: int, folder: Path) -> tuple[list[str], list[dict]]:
    summary = synthesize(reports, seed=seed, out_csv=folder / "bench.csv", progress=False)
    with open(summary.csv_path, newline="", encoding="utf-8") as handle:
        texts = [row["report_text"] for row in csv.DictReader(handle)]
    records = [json.loads(line) for line in summary.phi_path.read_text().splitlines()]
    return texts, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        texts, records = load_corpus(args.reports, args.seed, Path(tmp))
    pairs = []
    for text in texts:
        sections = split_sections(text)
        if sections.findings and sections.impression:
            pairs.append((sections.findings, sections.impression))
    deid = Deidentifier()
    rows = []
    for label, items, ours, naive in (
        (
            "findings + impression (2 calls)",
            pairs,
            lambda p: (deid.redact(p[0]), deid.redact(p[1])),
            lambda p: (naive_redact(p[0]), naive_redact(p[1])),
        ),
        ("whole report with headers", texts, deid.redact, naive_redact),
    ):
        ours_s = cpu_seconds(ours, items, args.repeats)
        naive_s = cpu_seconds(naive, items, 1)
        chars = sum(len(p) if isinstance(p, str) else len(p[0]) + len(p[1]) for p in items)
        rows.append((label, len(items), chars / len(items), ours_s, naive_s))

    recall = recall_against_ground_truth(texts, records)
    print(f"## De-identification (`benchmarks/bench_deid.py`, {time.strftime('%Y-%m-%d')})\n")
    print(
        f"Machine: 2-core CPU sandbox, shared with other engineers' jobs (noisy; CPU time of this "
        f"process, best of {args.repeats}). Data: {args.reports} synthetic reports (seed "
        f"{args.seed}). Alternative: {len(NAIVE_PATTERNS)} regexes applied one after the other "
        "with `re.sub` (the paper's way, extended to all Safe Harbor types).\n"
    )
    print(
        "| text | reports | chars/report | ours us/report | ours reports/s/core "
        "| re.sub chain us/report | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, n, chars, ours_s, naive_s in rows:
        print(
            f"| {label} | {n} | {chars:.0f} | {ours_s / n * 1e6:.1f} | {n / ours_s:,.0f} "
            f"| {naive_s / n * 1e6:.1f} | {naive_s / ours_s:.1f}x |"
        )
    by_type = ", ".join(f"{k} {v:.4f}" for k, v in recall["recall_by_type"].items())
    print(
        f"\nRecall on the planted PHI: **{recall['recall']:.4f}** ({recall['phi_covered']}/"
        f"{recall['phi_spans']} spans fully covered; {by_type}). Clinical terms kept: "
        f"**{recall['keep_rate']:.4f}** ({recall['keep_kept']}/{recall['keep_terms']})."
    )
    for example in recall["missed_examples"][:5] + recall["keep_violations"][:5]:
        print(f"- {example['type']}: {example['text']!r} in {example['context']!r}")


if __name__ == "__main__":
    main()
