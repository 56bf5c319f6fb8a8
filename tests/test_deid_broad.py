"""The blind broad PHI set (tests/data/phi_broad/, issue 19): 27 layouts of a real archive
(HL7 v2, DICOM dumps, Epic/Cerner headers, worklists, e-mail threads, teaching files...), names
of 35 origins, every span typed, clinical look-alikes labelled to keep.

Two draws: `dev` (developers may read it) and `holdout` (scored here and nowhere else; nobody
reads it, and its misses are never printed: the assertions below show numbers only).

Issue 19's targets are recall >= 0.995 overall, for names, surname tokens and every required
type, and clinical terms kept >= 0.99. Where the rules do not reach a target yet, the test
asserts the floor they reach today (a regression fails) and `TARGET_GAPS` names the gap; the
gap is also in /work/notes/issue19.md and benchmarks/RESULTS.md. Do not lower a floor to make
a change pass: fix the rule.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from radllama.deid.scoring import INFORMATIONAL_TYPES, load_phi_set, ours, score

HERE = Path(__file__).parent / "data" / "phi_broad"
DRAWS = {
    "dev": (HERE / "phi_broad_dev.jsonl", "963ea42b152d2b41c52add8c488ae842a132b6e14b6bc344ec9deb2fc7eb9aa2"),
    "holdout": (
        HERE / "phi_broad_holdout.jsonl",
        "b08c268e14371f49eb1040914fbe1fbecb68f3b35cb20bc83aec092313c74969",
    ),
}  # fmt: skip
RECALL_TARGET = 0.995
KEEP_TARGET = 0.99
# Measured 2026-12-07 (rules alone, Intel Xeon AVX-512/AMX; benchmarks/RESULTS.md "deid: the
# blind broad set"). At the target on that draw: asserted at the target itself.
_ALL_FIGURES = ("ALL", "SURNAME", "KEEP", "NAME", "DATE", "TIME", "AGE", "ID", "PHONE", "FAX")
_ALL_FIGURES += ("EMAIL", "URL", "IP", "ADDRESS", "ZIP", "CITY", "HOSPITAL", "DEVICE")
# Not at the target yet (the gap, as measured -> the floor asserted, a little below it):
#   dev:     none (HOSPITAL 0.9970, NAME 0.9952, CITY 1.0000 since 2026-12-08: at the target)
#   holdout: NAME 0.9940, HOSPITAL 0.9925 (surname tokens 0.9954, CITY 1.0000 since
#            2026-12-08, AGE 1.0000 since the age forms of 2026-12-08 (was 0.9693; decided on
#            dev and hand-written forms, the holdout scored once): at the target). With --ner
#            see RESULTS.md (a trained model is not part of the default suite).
FLOORS: dict[str, dict[str, float]] = {
    "dev": {},
    "holdout": {"NAME": 0.9935, "HOSPITAL": 0.992},
}
MEETS_TARGET: dict[str, tuple[str, ...]] = {
    draw: tuple(kind for kind in _ALL_FIGURES if kind not in FLOORS[draw]) for draw in FLOORS
}
REQUIRED = [kind for kind in _ALL_FIGURES if kind not in ("ALL", "SURNAME", "KEEP")]


@pytest.fixture(scope="module", params=sorted(DRAWS))
def draw(request):
    path, _ = DRAWS[request.param]
    # max_examples=0: no miss is kept, so no holdout text can reach an assertion message
    return request.param, score(load_phi_set(path), ours(), max_examples=0)


def _measured(result, kind: str) -> float:
    if kind == "ALL":
        return result.recall()
    if kind == "SURNAME":
        return result.surname_recall
    if kind == "KEEP":
        return result.keep_rate
    return result.recall(kind)


def test_the_draws_are_the_committed_blind_files():
    for path, sha in DRAWS.values():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, path.name


def test_the_draw_has_every_required_type_layout_and_origin(draw):
    name, result = draw
    assert result.reports == 1000
    for kind in REQUIRED:
        assert result.spans[kind] >= 60, (name, kind)
    layouts = [g for g in result.groups if g.startswith("layout:")]
    origins = [g for g in result.groups if g.startswith("origin:")]
    assert len(layouts) == 27 and len(origins) == 35, name
    assert result.surnames >= 4000 and result.keep_total >= 4000


def test_recall_and_kept_do_not_fall_below_the_floors(draw):
    name, result = draw
    low = {
        kind: round(_measured(result, kind), 4)
        for kind, floor in FLOORS[name].items()
        if _measured(result, kind) < floor
    }
    assert not low, f"{name}: under the floor: {low}"


def test_types_that_meet_the_issue_target(draw):
    name, result = draw
    for kind in MEETS_TARGET[name]:
        target = KEEP_TARGET if kind == "KEEP" else RECALL_TARGET
        assert _measured(result, kind) >= target, (name, kind, _measured(result, kind))


def test_target_gaps_are_written_down(draw):
    """Every required figure is either at the target (MEETS_TARGET) or has a floor under it;
    nothing is silently left out."""
    name, result = draw
    for kind in ["ALL", "SURNAME", "KEEP", *REQUIRED]:
        assert kind in MEETS_TARGET[name] or kind in FLOORS[name], (name, kind)
    assert not (set(REQUIRED) & INFORMATIONAL_TYPES)


def test_every_layout_is_scored(draw):
    name, result = draw
    for group, (spans, caught, _, _) in result.groups.items():
        if group.startswith("layout:"):
            assert spans >= 100 and caught > 0, (name, group)
