"""De-identification scored on the independent PHI set (tests/data/phi_independent/), written by
a separate session from the Safe Harbor list and the i2b2 2014 categories without reading
deid.py; plus the scorer (`radllama.deid.scoring`) and the `radllama deid-eval` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from radllama.core.errors import DataError
from radllama.deid.scoring import PhiRecord, load_phi_set, ours, score

SET = Path(__file__).parent / "data" / "phi_independent" / "phi_independent.jsonl"

# Targets of issue 12. Per-type targets apply to types with at least MIN_SPANS spans in the set
# (every type in the in-repo set has >= 42); STATE is informational (Safe Harbor allows it).
# CITY and HOSPITAL are required: a city is a geographic subdivision smaller than a state
# (Safe Harbor item B) and hospital names are i2b2 PHI (they locate the patient).
RECALL_TARGET = 0.995
KEEP_TARGET = 0.99
MIN_SPANS = 40
# Types that meet the target today (asserted at RECALL_TARGET), and a floor for the others at
# what the de-identifier reaches on this set (measured 2026-12-01, see benchmarks/RESULTS.md),
# so a regression fails while the target is not met yet.
MEETS_TARGET = (
    "DATE",
    "TIME",
    "ID",
    "DEVICE",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "ZIP",
    "CITY",
    "HOSPITAL",
    "ADDRESS",
    "AGE",
)
# NAME 0.9987, precision 0.984, clinical terms kept 0.9995 measured 2026-12-02 (after the
# anchor/layout rules); floors a little below, so a regression fails.
FLOORS = {"NAME": 0.998}
PRECISION_FLOOR = 0.98
KEEP_FLOOR = 0.998


@pytest.fixture(scope="module")
def result():
    return score(load_phi_set(SET), ours())


def test_the_set_is_in_the_repo_and_large_enough():
    records = load_phi_set(SET)
    assert len(records) >= 400
    kinds = {kind for record in records for _, _, kind, _ in record.phi}
    assert {"NAME", "DATE", "ID", "HOSPITAL", "CITY", "STATE", "AGE", "DEVICE"} <= kinds


def test_the_set_is_exactly_what_its_generator_writes(tmp_path):
    """Nobody edited the records by hand (the point of an independent set): the committed file
    is byte-identical to a fresh run of the helper's deterministic generator."""
    script = SET.parent / "make_phi_set.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--no-readme", "--large", "1"],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / SET.name).read_bytes() == SET.read_bytes()


def test_clinical_terms_are_kept(result):
    assert result.keep_total >= 3000
    assert result.keep_rate >= KEEP_TARGET, result.damaged[:5]
    assert result.keep_rate >= KEEP_FLOOR, result.damaged[:5]


def test_identifier_types_that_meet_the_target(result):
    for kind in MEETS_TARGET:
        assert result.spans[kind] >= MIN_SPANS, kind
        assert result.recall(kind) >= RECALL_TARGET, (kind, result.recall(kind))


def test_overall_recall_meets_the_issue_target(result):
    assert result.recall() >= RECALL_TARGET, result.missed[:5]


def test_recall_does_not_fall_below_todays_level(result):
    for kind, floor in FLOORS.items():
        assert result.recall(kind) >= floor, (kind, result.recall(kind))
    assert result.precision >= PRECISION_FLOOR


# Met on this set since 2026-12-01 (NAME 0.9956); the larger benchmark set
# (phi_independent_large.jsonl, bench_deid.py) is scored in benchmarks/RESULTS.md.
def test_every_type_meets_the_issue_target(result):
    for kind, n in result.spans.items():
        if kind != "STATE" and n >= MIN_SPANS:
            assert result.recall(kind) >= RECALL_TARGET, (kind, result.recall(kind))


# -- the scorer itself on hand-made records ----------------------------------------------------


def _record(text, phi, keep=()):
    spans = []
    for value, kind in phi:
        start = text.index(value)
        spans.append((start, start + len(value), kind, ""))
    keeps = []
    for value in keep:
        start = text.index(value)
        keeps.append((start, start + len(value), "EPONYM"))
    return PhiRecord("r", text, spans, keeps)


def test_scorer_counts_caught_partial_precision_keep_and_state():
    text = "Seen by John Smith, in Macon, GA for Crohn disease on 03/04/2019."
    record = _record(
        text,
        [("John Smith", "NAME"), ("Macon", "CITY"), ("GA", "STATE"), ("03/04/2019", "DATE")],
        keep=["Crohn disease"],
    )

    def predict(_):
        name = text.index("Smith")  # only the surname: partial
        city = text.index("Macon")
        state = text.index("GA")
        return [
            (name, name + len("Smith,")),  # the comma is punctuation: ignored either way
            (city, city + 5),
            (state, state + 2),  # a redacted STATE is neither right nor wrong
            (text.index("Crohn"), text.index("Crohn") + 5),  # damages a keep term
        ]

    result = score([record], predict)
    assert result.recall("NAME") == 0.0 and result.partial_recall("NAME") == 1.0
    assert result.recall("CITY") == 1.0
    assert result.recall("DATE") == 0.0
    assert result.recall() == pytest.approx(1 / 3)  # STATE is not in the overall figure
    assert result.partial_recall() == pytest.approx(2 / 3)
    # letters/digits redacted outside STATE: Smith (5) + Macon (5) + Crohn (5); 10 are gold PHI
    assert result.precision == pytest.approx(10 / 15)
    assert result.keep_rate == 0.0
    assert [m["text"] for m in result.missed] == ["John Smith", "03/04/2019"]


def test_punctuation_inside_a_span_need_not_be_covered():
    text = "MRN: 12-345-678 today"
    record = _record(text, [("12-345-678", "ID")])
    start = text.index("12")
    pieces = [(start, start + 2), (start + 3, start + 6), (start + 7, start + 10)]
    assert score([record], lambda _: pieces).recall("ID") == 1.0
    assert score([record], lambda _: pieces[:2]).recall("ID") == 0.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "not valid JSON"),
        ('{"id": "a"}\n', '"text" string'),
        ('{"text": "abc", "phi": [{"start": 0, "end": 9, "type": "NAME"}]}\n', "outside the text"),
        (
            '{"text": "abc", "phi": [{"start": 0, "end": 2, "type": "NAME", "text": "xy"}]}\n',
            "fix the offsets",
        ),
        ('{"text": "abc", "phi": [{"start": 0}]}\n', 'needs integer "start"'),
        ("\n", "no records"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_phi_set(path)


def test_non_utf8_file_is_a_data_error(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "Müller"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        load_phi_set(path)


def test_cli_prints_the_table(tmp_path, run_cli):
    path = tmp_path / "set.jsonl"
    text = "Discussed with Dr. Smith at 10:30 in Macon, GA; Crohn disease."
    row = {
        "id": "x",
        "text": text,
        "phi": [
            {"start": text.index("Smith"), "end": text.index("Smith") + 5, "type": "NAME"},
            {"start": text.index("10:30"), "end": text.index("10:30") + 5, "type": "TIME"},
            {"start": text.index("Macon"), "end": text.index("Macon") + 5, "type": "CITY"},
            {"start": text.index("GA"), "end": text.index("GA") + 2, "type": "STATE"},
        ],
        "keep": [{"start": text.index("Crohn"), "end": text.index("Crohn") + 13, "kind": "E"}],
    }
    path.write_text(json.dumps(row) + "\n")
    code, out, err = run_cli("deid-eval", str(path))
    assert code == 0, err
    assert "NAME" in out and "1.0000" in out and "informational" in out
    assert "clinical terms kept: 1.0000 (1/1)" in out


def test_cli_bad_file_exits_2_with_one_line(tmp_path, run_cli):
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n")
    code, out, err = run_cli("deid-eval", str(path))
    assert code == 2
    assert "not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_a_fresh_draw_of_the_generator_meets_the_target():
    """The rules were written while reading the misses of the committed sets; a draw with a
    seed nobody tuned on (1,000 reports, ~1 s) must meet the same targets, so a rule that only
    memorises the committed records' names would not be enough. (First scored 2026-12-02:
    recall 0.9994, NAME 0.9979, precision 0.983, clinical terms kept 0.9995.)"""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_phi_set", SET.parent / "make_phi_set.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    records = [
        PhiRecord(
            row["id"],
            row["text"],
            [(p["start"], p["end"], p["type"], p["subtype"]) for p in row["phi"]],
            [(k["start"], k["end"], k["kind"]) for k in row["keep"]],
        )
        for row in generator.make(1000, 8675309)
    ]
    result = score(records, ours())
    assert result.recall() >= RECALL_TARGET, result.missed[:5]
    for kind, n in result.spans.items():
        if kind != "STATE" and n >= MIN_SPANS:
            assert result.recall(kind) >= RECALL_TARGET, (kind, result.recall(kind))
    assert result.keep_rate >= KEEP_TARGET and result.precision >= 0.975
