"""The synthetic report corpus: layout, PHI ground truth, planted defects, learnable impressions."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from radllama.deid.engine import PLACEHOLDERS
from radllama.synth import corpus as synth
from radllama.synth.corpus import (
    BODY_REGIONS,
    CSV_COLUMNS,
    DEFECT_KINDS,
    EXAM_CODES,
    MODALITIES,
    OBSERVATIONS,
    PHI_TYPES,
    SynthConfig,
    iter_reports,
    modality_and_region,
    synthesize,
)

N_REPORTS = 4000


def read_corpus(csv_path: Path) -> tuple[list[dict], list[dict]]:
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    phi_path = csv_path.with_name(csv_path.stem + ".phi.jsonl")
    records = [json.loads(line) for line in phi_path.read_text(encoding="utf-8").splitlines()]
    return rows, records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """4,000 reports in 4 chunks rendered by 2 worker processes."""
    out = tmp_path_factory.mktemp("synth") / "reports.csv"
    summary = synthesize(
        N_REPORTS, 7, out, config=SynthConfig(chunk_size=1000, workers=2), progress=False
    )
    rows, records = read_corpus(out)
    return summary, rows, records


def section(row: dict, record: dict, name: str) -> str | None:
    bounds = record["sections"][name]
    return None if bounds is None else row["report_text"][bounds[0] : bounds[1]]


def deidentified(row: dict, record: dict, name: str) -> str:
    """Section text with every PHI span replaced by its deid placeholder, white space collapsed."""
    text, (start, end) = row["report_text"], record["sections"][name]
    for span in sorted(record["spans"], key=lambda s: -s["start"]):
        if start <= span["start"] and span["end"] <= end:
            placeholder = PLACEHOLDERS[span["type"]]
            text = text[: span["start"]] + placeholder + text[span["end"] :]
            end += len(placeholder) - (span["end"] - span["start"])
    return " ".join(text[start:end].split())


def test_csv_layout_and_sidecar_alignment(corpus):
    summary, rows, records = corpus
    assert len(rows) == len(records) == N_REPORTS == summary.n_reports
    assert [r["report_id"] for r in rows] == [r["report_id"] for r in records]
    assert len({r["report_id"] for r in rows}) == N_REPORTS
    for row in rows:
        assert row["exam_code"] in EXAM_CODES
        assert row["exam_description"] == EXAM_CODES[row["exam_code"]][0]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["report_date"])
    text = rows[0]["report_text"] or rows[1]["report_text"]
    assert "IMPRESSION" in text.upper() or "CONCLUSION" in text.upper()


def test_every_span_offset_is_exact_and_disjoint(corpus):
    _, rows, records = corpus
    for row, record in zip(rows, records, strict=True):
        text = row["report_text"]
        marks = []
        for span in record["spans"]:
            assert span["type"] in PHI_TYPES
            assert text[span["start"] : span["end"]] == span["text"]
            marks.append((span["start"], span["end"]))
        for term in record["keep"]:
            assert text[term["start"] : term["end"]] == term["text"]
            marks.append((term["start"], term["end"]))
        marks.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(marks)), row["report_id"]


def test_every_phi_type_is_planted_also_inside_findings_and_impression(corpus):
    summary, _, records = corpus
    seen = Counter(span["type"] for record in records for span in record["spans"])
    # synth does not plant place names (CITY, HOSPITAL): the independent set covers them
    planted_types = set(PHI_TYPES) - {"CITY", "HOSPITAL"}
    assert set(seen) == planted_types
    assert all(seen[kind] >= 10 for kind in planted_types), seen
    assert dict(seen) == {k: v for k, v in summary.phi_counts.items() if v}
    inside = Counter()
    for record in records:
        for name in ("findings", "impression"):
            bounds = record["sections"][name]
            if bounds and record["headers"][name] != "FINDINGS AND IMPRESSION":
                inside[name] += sum(
                    bounds[0] <= s["start"] and s["end"] <= bounds[1] for s in record["spans"]
                )
    assert inside["findings"] > 50 and inside["impression"] > 50, inside


def test_ages_over_89_are_phi_and_younger_ages_are_not(corpus):
    _, rows, records = corpus
    ages = [int(s["text"]) for r in records for s in r["spans"] if s["type"] == "AGE"]
    assert ages and min(ages) >= 90
    histories = [
        re.search(r"(\d+)(?:-year-old| year old| y/o| yo) ", row["report_text"]) for row in rows
    ]
    young = [int(m.group(1)) for m in histories if m and int(m.group(1)) < 90]
    assert young  # ordinary ages are written too, and never tagged


def test_clinical_terms_to_keep_are_planted(corpus):
    _, _, records = corpus
    kept = Counter(term["text"] for record in records for term in record["keep"])
    joined = " ".join(kept)
    for eponym in (
        "Hodgkin", "Crohn", "Graves", "Foley", "Swan-Ganz", "Morison pouch", "Baker cyst",
        "Salter-Harris", "BI-RADS",
    ):  # fmt: skip
        assert eponym in joined, eponym
    assert any(re.fullmatch(r"[CTL]\d+-[CTLS]?\d+", t) for t in kept)  # L4-L5, C5-6
    assert any(re.fullmatch(r"[CTL]\d+", t) for t in kept)  # T12
    assert sum(n for t, n in kept.items() if re.fullmatch(r"\d+(\.\d)? (mm|cm)", t)) > 500


def test_defect_counts_match_summary_meta_and_text(corpus):
    summary, rows, records = corpus
    counts = Counter(record["defect"] for record in records)
    assert {k: counts[k] for k in DEFECT_KINDS} == summary.defect_counts
    meta = json.loads(summary.meta_path.read_text())
    assert meta["defect_counts"] == summary.defect_counts
    assert meta["clean_reports"] == counts[None]
    for kind in DEFECT_KINDS:  # default rates 2% each: ~80 of 4,000
        assert 40 <= counts[kind] <= 130, (kind, counts[kind])
    by_id = {row["report_id"]: row for row in rows}
    for row, record in zip(rows, records, strict=True):
        text, defect = row["report_text"], record["defect"]
        if defect == "empty_row":
            assert text == "" and record["spans"] == []
            continue
        findings, impression = section(row, record, "findings"), section(row, record, "impression")
        if defect == "missing_findings":
            assert findings is None and not re.search(r"(?mi)^FIN\w*(?: AND IMPRESSION)?:", text)
        elif defect == "missing_impression":
            assert impression is None and record["headers"]["impression"] is None
        elif defect == "short_findings":
            assert len(findings.split()) < 10
        elif defect == "duplicate":
            source = by_id[record["duplicate_of"]]
            assert text == source["report_text"] and row["report_id"] != source["report_id"]
        elif defect == "extra_whitespace":
            assert re.search(r"  |\t|\n\s*\n\s*\n", text) and text != text.strip()
        else:
            assert text == text.strip() + "\n" and "\t" not in text
        if defect not in ("missing_findings", "short_findings"):
            # after de-identification, every non-defect findings section keeps >= 10 words
            assert len(deidentified(row, record, "findings").split()) >= 10


def test_expected_duplicate_drops_follow_prepare_rules(corpus):
    summary, rows, records = corpus
    seen, repeats = set(), 0
    for row, record in zip(rows, records, strict=True):
        if record["defect"] in (
            "empty_row",
            "missing_findings",
            "missing_impression",
            "short_findings",
        ):
            continue
        key = hashlib.sha1(
            (
                deidentified(row, record, "findings")
                + "\0"
                + deidentified(row, record, "impression")
            ).encode()
        ).digest()
        repeats += key in seen
        seen.add(key)
    assert summary.expected_drops["duplicate"] == repeats
    assert repeats >= summary.defect_counts["duplicate"]
    assert summary.expected_drops["no_findings"] == summary.defect_counts["missing_findings"]


def _template_regex(template) -> re.Pattern[str]:
    if isinstance(template, str):
        return re.compile(re.escape(template))
    return re.compile(
        "".join(".+?" if kind == 2 else re.escape(value) for kind, value, _ in template)
    )


def test_impression_follows_from_findings(corpus):
    _, rows, records = corpus
    abnormal = normal = 0
    for row, record in zip(rows, records, strict=True):
        if record["defect"] is not None:
            continue
        findings, impression = section(row, record, "findings"), section(row, record, "impression")
        labels = record["labels"]
        if labels:
            abnormal += 1
            positions = []
            for label in labels:
                term = OBSERVATIONS[label].term.lower()
                assert term in findings.lower() and term in impression.lower(), (label, impression)
                positions.append(impression.lower().index(term))
            severities = [OBSERVATIONS[label].severity for label in labels]
            assert severities == sorted(severities, reverse=True)  # most important first
        else:
            normal += 1
            templates = synth._PLANS[row["exam_code"]].normal_impressions
            normal_line = impression.removeprefix("1. ")
            assert any(_template_regex(t).match(normal_line) for t in templates), impression
            assert not any(f"{n}. " in impression for n in (2, 3))
    assert abnormal > 1000 and normal > 800


def test_multi_finding_impressions_are_numbered_sometimes(corpus):
    _, rows, records = corpus
    numbered = sum(
        bool(re.search(r"^1\. .*\n2\. ", section(row, rec, "impression") or "", re.S))
        for row, rec in zip(rows, records, strict=True)
        if len(rec["labels"]) > 1
    )
    assert numbered > 100


def test_header_variants_are_planted(corpus):
    _, rows, records = corpus
    headers = Counter(rec["headers"]["impression"] for rec in records)
    assert headers["IMPRESSION"] > headers["CONCLUSION"] > 0
    assert headers["FINDINGS AND IMPRESSION"] > 0 and headers["IMPRESSION/RECOMMENDATION"] > 0
    assert any(h in headers for h in ("IMPRESSON", "IMPRESION", "IMPRESSIN"))
    addenda = [rec for rec in records if rec["sections"]["addendum"]]
    assert addenda
    for row, rec in zip(rows, records, strict=True):
        if rec["sections"]["addendum"] and rec["sections"]["impression"]:
            assert rec["sections"]["impression"][1] < rec["sections"]["addendum"][0]
            assert "ADDENDUM" in row["report_text"][rec["sections"]["impression"][1] :]


def test_patients_have_one_to_five_reports(corpus):
    _, rows, records = corpus
    per_patient = Counter(
        row["patient_id"]
        for row, rec in zip(rows, records, strict=True)
        if rec["defect"] != "duplicate"
    )
    assert max(per_patient.values()) <= 5 and min(per_patient.values()) >= 1
    assert sum(n > 1 for n in per_patient.values()) > 300


def test_deterministic_bytes_whatever_the_worker_count(tmp_path):
    config = SynthConfig(chunk_size=200)
    first = synthesize(
        700, 11, tmp_path / "a.csv", config=config.model_copy(update={"workers": 1}), progress=False
    )
    second = synthesize(
        700, 11, tmp_path / "b.csv", config=config.model_copy(update={"workers": 2}), progress=False
    )
    other = synthesize(700, 12, tmp_path / "c.csv", config=config, progress=False)
    for a, b in ((first.csv_path, second.csv_path), (first.phi_path, second.phi_path)):
        assert a.read_bytes() == b.read_bytes()
    meta_a, meta_b = (
        json.loads(first.meta_path.read_text()),
        json.loads(second.meta_path.read_text()),
    )
    assert meta_a.pop("files") != meta_b.pop("files") and meta_a == meta_b
    assert first.csv_path.read_bytes() != other.csv_path.read_bytes()
    streamed = list(iter_reports(700, 11, config))
    rows, records = read_corpus(first.csv_path)
    assert [r for r, _ in streamed] == rows and [r for _, r in streamed] == records


def test_configured_rates_are_honoured(tmp_path):
    config = SynthConfig(empty_row_rate=0.5, duplicate_rate=0.0, abnormal_rate=0.0, workers=1)
    summary = synthesize(600, 3, tmp_path / "r.csv", config=config, progress=False)
    assert 240 <= summary.defect_counts["empty_row"] <= 360
    assert summary.defect_counts["duplicate"] == 0
    _, records = read_corpus(summary.csv_path)
    assert not any(record["labels"] for record in records)
    with pytest.raises(ValidationError, match="sum to"):
        SynthConfig(empty_row_rate=0.6, duplicate_rate=0.6)


def test_vocabulary_covers_modalities_regions_and_every_observation():
    assert len(EXAM_CODES) >= 40
    assert {m for _, m, _ in EXAM_CODES.values()} == set(MODALITIES)
    assert {r for _, _, r in EXAM_CODES.values()} == set(BODY_REGIONS)
    reachable = set()
    for code, plan in synth._PLANS.items():
        assert sum(1 for _, normals, _ in plan.organs if normals) >= 2, code
        assert plan.normal_impressions, code
        reachable.update(obs.key for _, _, observations in plan.organs for obs in observations)
    assert reachable == set(OBSERVATIONS)  # no observation is dead vocabulary
    assert {obs.region for obs in OBSERVATIONS.values()} == set(BODY_REGIONS)


@pytest.mark.parametrize(
    ("exam", "expected"),
    [
        ("CTCHWO", ("CT", "chest")),
        ("ctchwo", ("CT", "chest")),
        ("MR LUMBAR SPINE W/O CONTRAST", ("MR", "spine")),
        ("Xray Chest PA and Lateral", ("XR", "chest")),
        ("CHEST 2V FRONTAL/LATERAL", ("XR", "chest")),
        ("PA and lateral chest x-XXXX XXXX.", ("XR", "chest")),
        ("Chest, 2 views, frontal and lateral", ("XR", "chest")),
        ("MRI of the thoracic spine", ("MR", "spine")),
        ("CT abdomen/pelvis with contrast", ("CT", "abdomen_pelvis")),
        ("Ultrasound right upper quadrant", ("US", "abdomen_pelvis")),
        ("Transthoracic echocardiogram", ("US", "cardiac")),
        ("Upper GI series", ("FL", "abdomen_pelvis")),
        ("XR left knee 3 views", ("XR", "lower_limb")),
        ("Right shoulder arthrogram", ("FL", "upper_limb")),
        ("Bilateral breast ultrasound", ("US", "breast")),
        ("CTA head and neck", ("CT", "head")),
        ("PA and lateral views.", ("XR", "unknown")),
        ("please call us", ("unknown", "unknown")),
        ("", ("unknown", "unknown")),
        (None, ("unknown", "unknown")),
    ],
)
def test_modality_and_region(exam, expected):
    assert modality_and_region(exam) == expected


def test_modality_and_region_on_real_indiana_descriptions(shared_data):
    import pandas as pd

    images = pd.read_csv(shared_data / "iu_xray" / "indiana_reports_dev.csv")["image"].dropna()
    pairs = Counter(modality_and_region(text) for text in images)
    assert pairs[("XR", "chest")] / len(images) > 0.9, pairs.most_common(5)


def test_cli_end_to_end(run_cli, tmp_path):
    out = tmp_path / "corpus" / "reports.csv"
    code, stdout, stderr = run_cli(
        "synth", "--reports", "250", "--seed", "5", "--out", out, "--quiet"
    )
    assert code == 0, stderr
    assert stdout.startswith("wrote 250 reports") and stdout.count("\n") == 1
    rows, records = read_corpus(out)
    assert len(rows) == len(records) == 250
    meta = json.loads((tmp_path / "corpus" / "reports.synth.json").read_text())
    assert meta["n_reports"] == 250 and meta["seed"] == 5
    assert not list(out.parent.glob("*.tmp"))


def test_cli_bad_input_is_one_line(run_cli, tmp_path):
    code, _, err = run_cli("synth", "--reports", "0", "--out", tmp_path / "x.csv")
    assert code == 2 and "--reports must be at least 1" in err and err.count("\n") == 1
    code, _, err = run_cli("synth", "--reports", "5", "--out", tmp_path)
    assert code == 2 and "is a directory" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli("synth", "--reports", "5", "--out", blocker / "x.csv")
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("empty_row_rte: 0.1\n")
    code, _, err = run_cli("synth", "--reports", "5", "--out", tmp_path / "y.csv", "--config", bad)
    assert code == 2 and "unknown config key 'empty_row_rte'" in err
