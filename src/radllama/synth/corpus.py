"""Synthetic MGH-like radiology report corpus: the embedded default dataset.

The paper's reports are private, so `radllama synth` writes an export that looks like a
hospital archive (`CSV_COLUMNS`), with ground truth that the later stages are checked against:

- ``FILE.csv``: one report per row; ``report_text`` is a whole report with headers
  (EXAM / CLINICAL HISTORY / TECHNIQUE / COMPARISON / FINDINGS / IMPRESSION and their
  variants: "FINDINGS AND IMPRESSION", "CONCLUSION", "IMPRESSION/RECOMMENDATION", rare
  misspellings, addenda, numbered impressions, signatures).
- ``FILE.phi.jsonl``: one line per report (same order) with the exact character spans of every
  planted identifier (``spans``: start/end/type/text, types in `PHI_TYPES`), the clinical terms
  that de-identification must keep (``keep``), where the findings/impression/addendum bodies
  are (``sections``) and under which header (``headers``), the abnormal observations behind
  the impression (``labels``, most important first), and the planted ``defect`` (or null).
- ``FILE.synth.json``: the config and the exact number of planted defects of each kind.

Clinical content is built from per-region observations: an abnormal observation renders one
FINDINGS sentence and one IMPRESSION item from the same slot values (side, size, level...),
and impression items are ordered by severity, so findings -> impression is learnable.
Normal studies get a normal impression for their region ("No acute intracranial abnormality.").

Speed: templates are compiled once at import; a report is a list of string pieces with a
running offset, so spans cost nothing to track. Chunks of `SynthConfig.chunk_size` reports
are seeded by (seed, chunk index) and rendered in worker processes; output bytes depend only
on the seed and the config, never on the number of workers.

Exam codes and the modality/region mapping live in `radllama.core.exams`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, model_validator

from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, DataError
from radllama.core.exams import (  # noqa: F401  (EXAM_CODES etc. stay importable from here)
    BODY_REGIONS,
    EXAM_CODES,
    EXAMS,
    MODALITIES,
    UNKNOWN,
    modality_and_region,
)
from radllama.deid.engine import (
    PHI_TYPES,  # the identifier types planted here are the ones deid finds
)
from radllama.synth.vocabulary import (  # the data the generator below draws from
    ADDENDA,
    COMPARISON_HEADERS,
    COMPARISONS,
    CONTACTS,
    DISCUSSIONS,
    EPONYM_HISTORY,
    EXAM_HEADERS,
    FILLER,
    FINDINGS_MISSPELT,
    FINDINGS_PHI,
    FIRST_EXAM_DAY,
    FOOTERS,
    HEADER_LINES,
    HISTORY_HEADERS,
    IMPRESSION_MISSPELT,
    INCIDENTALS,
    INDICATIONS,
    KEEP,
    KEEP_TERM,
    LAST_EXAM_DAY,
    NORMAL_IMPRESSIONS,
    OBSERVATIONS,
    ORGANS,
    SHORT_FINDINGS,
    SIGNATURES,
    SLOTS,
    TECHNIQUES,
    TEXT,
    Ctx,
    Patient,
    Person,
    Template,
    pick,
    randint,
)

CSV_COLUMNS = (
    "report_id",
    "patient_id",
    "exam_code",
    "exam_description",
    "report_date",
    "report_text",
)
DEFECT_KINDS = (
    "missing_findings",
    "missing_impression",
    "short_findings",
    "duplicate",
    "extra_whitespace",
    "empty_row",
)
_EXAM_SITE = {code: site for code, _, _, _, site, _ in EXAMS}
_EXAM_CUM_WEIGHTS: list[int] = []
for _exam in EXAMS:
    _EXAM_CUM_WEIGHTS.append((_EXAM_CUM_WEIGHTS[-1] if _EXAM_CUM_WEIGHTS else 0) + _exam[5])
_EXAM_LIST = tuple(code for code, *_ in EXAMS)


# ---------------------------------------------------------------------------------------------
# Per-exam plans (precomputed once) and the text builder that tracks spans
# ---------------------------------------------------------------------------------------------


def _contrast_kind(description: str) -> str:
    """Key of `_CONTRAST` from an exam description ("CT HEAD W/O CONTRAST" -> "wo")."""
    for marker, kind in (("W/WO", "wwo"), ("W/O", "wo"), ("W/ ", "w"), ("CTA ", "cta")):
        if marker in description:
            return kind
    return ""


class _Plan:
    """What can be written for one exam code: its organ lines, observations, impressions."""

    __slots__ = ("code", "description", "modality", "region", "site", "segment", "contrast")
    __slots__ += ("organs", "abnormal_organs", "normal_impressions", "incidentals")

    def __init__(self, code: str):
        description, modality, region = EXAM_CODES[code]
        site = _EXAM_SITE[code]
        self.code, self.description, self.modality = code, description, modality
        self.region, self.site = region, site
        self.segment = (
            site if region == "spine" else ("T" if region in ("chest", "cardiac") else "L")
        )
        self.contrast = _contrast_kind(description)
        organs = []
        for organ in ORGANS:
            if organ.region != region or modality not in organ.modalities:
                continue
            if organ.sites is not None and site not in organ.sites:
                continue
            normals = tuple(t for t, mods in organ.normals if mods is None or modality in mods)
            abnormal = tuple(
                obs
                for obs in OBSERVATIONS.values()
                if obs.region == region
                and obs.organ == organ.name
                and (obs.modalities is None or modality in obs.modalities)
                and (obs.sites is None or site in obs.sites)
            )
            if normals or abnormal:
                organs.append((organ.label, normals, abnormal))
        self.organs = tuple(organs)
        self.abnormal_organs = tuple(i for i, organ in enumerate(organs) if organ[2])
        for key in ((region, modality, site), (region, modality), (region,), ()):
            if key in NORMAL_IMPRESSIONS:
                self.normal_impressions = NORMAL_IMPRESSIONS[key]
                break
        self.incidentals = tuple(
            t for t, mods in INCIDENTALS.get(region, ()) if mods is None or modality in mods
        )

    def part(self, side: str | None) -> str:
        """The anatomy named in technique/comparison lines ("right knee", "lumbar spine")."""
        region, modality = self.region, self.modality
        if region in ("upper_limb", "lower_limb"):
            limb = "upper" if region == "upper_limb" else "lower"
            return f"{side} {limb} extremity" if self.site == "veins" else f"{side} {self.site}"
        if region == "breast":
            return "bilateral breasts" if modality == "MR" else f"{side} breast"
        if region == "spine":
            return {"C": "cervical", "T": "thoracic", "L": "lumbar"}[self.segment] + " spine"
        if region == "abdomen_pelvis":
            return "abdomen and pelvis" if modality in ("CT", "MR") else "abdomen"
        if region == "head":
            return "brain" if modality == "MR" else "head"
        return {"chest": "chest", "cardiac": "heart"}[region]


_PLANS = {code: _Plan(code) for code in EXAM_CODES}


def _spread(text: str) -> str:
    """The extra-white-space defect: doubled spaces, tabs and blank lines in plain text."""
    return text.replace(". ", ".   ").replace("\n", "  \n\n").replace(", ", ",\t")


class _Doc:
    """A report under construction: a list of string pieces. Tagged pieces (PHI, kept terms)
    and section marks remember their piece index; `finish` turns indices into character
    offsets with one C-level cumulative sum, so appending stays a bare `list.append`."""

    __slots__ = ("parts", "add", "tags", "marks", "spread")

    def __init__(self, spread: bool):
        self.parts: list[str] = []
        self.add = self.parts.append
        self.tags: list[tuple[int, str]] = []  # (piece index, PHI type or KEEP)
        self.marks: dict[str, list[int]] = {}  # section -> [first piece, end piece]
        self.spread = spread  # extra-white-space defect, applied to untagged pieces at the end

    def tagged(self, text: str, tag: str) -> None:
        self.tags.append((len(self.parts), tag))
        self.parts.append(text)

    def mark(self) -> int:
        return len(self.parts)

    def render(self, template: Template, rng: random.Random, ctx: Ctx, values: dict) -> None:
        """Append a compiled template; `values` caches slot values so that a finding and its
        impression item (rendered with the same dict) agree on side, size, level..."""
        if type(template) is str:
            self.parts.append(template)
            return
        for kind, value, base in template:
            if kind == TEXT:
                self.parts.append(value)
            elif kind == KEEP_TERM:
                self.tagged(value, KEEP)
            else:
                found = values.get(value)
                if found is None:
                    found = _fill(value, base, rng, ctx, values)
                text, tag = found
                if tag is None:
                    self.parts.append(text)
                else:
                    self.tagged(text, tag)

    def finish(self) -> tuple[str, list[dict], list[dict], dict[str, list[int] | None]]:
        """(text, PHI spans, kept terms, section offsets) with exact character offsets."""
        parts = self.parts
        if self.spread:
            tagged = {index for index, _ in self.tags}
            parts = [p if i in tagged else _spread(p) for i, p in enumerate(parts)]
        offsets = list(accumulate(map(len, parts), initial=0))
        spans, keep = [], []
        for index, tag in self.tags:
            start, end, text = offsets[index], offsets[index + 1], parts[index]
            if tag == KEEP:
                keep.append({"start": start, "end": end, "text": text})
            else:
                spans.append({"start": start, "end": end, "type": tag, "text": text})
        sections = {
            name: (None if mark is None else [offsets[mark[0]], offsets[mark[1]]])
            for name, mark in self.marks.items()
        }
        return "".join(parts), spans, keep, sections


def _fill(
    name: str, base: str, rng: random.Random, ctx: Ctx, values: dict
) -> tuple[str, str | None]:
    """Draw a slot value (or reuse the uncapitalised one) and cache it in `values`."""
    found = values.get(base)
    if found is None:
        found = values[base] = SLOTS[base](rng, ctx)
    if base != name:
        found = values[name] = (found[0][:1].upper() + found[0][1:], found[1])
    return found


# ---------------------------------------------------------------------------------------------
# Composing one report
# ---------------------------------------------------------------------------------------------


def _choose_abnormal(rng: random.Random, cfg: SynthConfig, plan: _Plan) -> list[tuple]:
    """0-3 abnormal observations from distinct organ lines; each with its own slot values."""
    if not plan.abnormal_organs or rng.random() >= cfg.abnormal_rate:
        return []
    draw = rng.random()
    count = min(1 if draw < 0.55 else 2 if draw < 0.85 else 3, len(plan.abnormal_organs))
    organ_indices = rng.sample(plan.abnormal_organs, count)
    return [(i, pick(rng, plan.organs[i][2]), {}) for i in organ_indices]


def _write_header(doc: _Doc, rng: random.Random, ctx: Ctx, plan: _Plan) -> None:
    lines = [variants for p, variants in HEADER_LINES if rng.random() < p]
    for i, variants in enumerate(lines):
        doc.render(pick(rng, variants), rng, ctx, {})
        doc.add("    " if i + 1 < len(lines) and rng.random() < 0.3 else "\n")
    doc.add(f"{pick(rng, EXAM_HEADERS)} {plan.description}")
    if rng.random() < 0.2:
        doc.add(" ")
        doc.render(pick(rng, HEADER_LINES[4][1]), rng, ctx, {})


def _write_history(doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: Ctx, plan: _Plan) -> None:
    doc.add(f"{pick(rng, HISTORY_HEADERS)} ")
    if rng.random() < 0.02:
        doc.add("Patient ")
        doc.tagged(f"{ctx.pt.first} {ctx.pt.last}", "NAME")
        doc.add(" is a ")
    if ctx.age > 89:
        doc.tagged(str(ctx.age), "AGE")
    else:
        doc.add(str(ctx.age))
    sex = "female" if plan.region == "breast" else ctx.pt.sex
    doc.add(pick(rng, ("-year-old ", " year old ", " y/o ", " yo ")) + sex + ". ")
    doc.render(pick(rng, INDICATIONS[plan.region]), rng, ctx, {})
    if rng.random() < cfg.eponym_history_rate:
        doc.add(" ")
        doc.render(pick(rng, EPONYM_HISTORY), rng, ctx, {})


def _write_findings(
    doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: Ctx, plan: _Plan, chosen, shared
) -> None:
    """Organ lines in anatomical order: an abnormal observation replaces its organ's normal
    sentence (never "lungs are clear" next to a lung mass)."""
    structured = rng.random() < 0.35
    joiner = "\n" if structured else " "
    if rng.random() < cfg.phi_in_findings_rate:
        doc.render(pick(rng, FINDINGS_PHI), rng, ctx, {})
        doc.add(joiner)
    first_part = len(doc.parts)  # words are counted after the PHI sentence, which de-id shortens
    # Reports do not all mention every organ: drop a few normal lines, keeping at least 3.
    spare = sum(1 for _, normals, _ in plan.organs if normals) - 3
    abnormal = {index: (obs, values) for index, obs, values in chosen}
    separate = False
    for index, (label, normals, _) in enumerate(plan.organs):
        hit = abnormal.get(index)
        if hit is None:
            if not normals:
                continue
            if spare > 0 and rng.random() < 0.1:
                spare -= 1
                continue
        if separate:
            doc.add(joiner)
        separate = True
        if structured:
            doc.add(label + ": ")
        if hit is None:
            doc.render(pick(rng, normals), rng, ctx, shared)
        else:
            doc.render(pick(rng, hit[0].findings), rng, ctx, hit[1])
    if plan.incidentals and rng.random() < cfg.incidental_rate:
        doc.add(joiner + ("Other: " if structured else ""))
        doc.render(pick(rng, plan.incidentals), rng, ctx, {})
    words = len("".join(doc.parts[first_part:]).split())
    if words < 10:  # the paper drops findings under 10 words: only planted defects may be
        doc.add(joiner + FILLER)
        if words < 3:
            doc.add(" The remaining structures are unremarkable.")


def _write_impression(
    doc: _Doc, rng: random.Random, cfg: SynthConfig, ctx: Ctx, plan: _Plan, items, shared
) -> None:
    """Abnormal items most severe first (numbered or run-on); a normal line otherwise."""
    if items:
        lines = [(pick(rng, obs.impressions), values) for _, obs, values in items]
    else:
        lines = [(pick(rng, plan.normal_impressions), shared)]
    numbered = rng.random() < (cfg.numbered_impression_rate if len(lines) > 1 else 0.15)
    for number, (template, values) in enumerate(lines, start=1):
        if number > 1:
            doc.add("\n" if numbered else " ")
        if numbered:
            doc.add(f"{number}. ")
        doc.render(template, rng, ctx, values)
    critical = bool(items) and items[0][1].severity >= 5
    if rng.random() < (cfg.critical_discussion_rate if critical else cfg.phi_in_impression_rate):
        doc.add("\n" if numbered else " ")
        doc.render(pick(rng, DISCUSSIONS), rng, ctx, {})


def _section_header(rng: random.Random, cfg: SynthConfig, which: str) -> str:
    draw = rng.random() - cfg.misspelled_header_rate
    if which == "findings":
        name = pick(rng, FINDINGS_MISSPELT)[:-1] if draw < 0 else "FINDINGS"
    elif draw < 0:
        name = pick(rng, IMPRESSION_MISSPELT)[:-1]
    elif draw < cfg.conclusion_header_rate:
        name = "CONCLUSION"
    elif draw < cfg.conclusion_header_rate + cfg.impression_recommendation_rate:
        name = "IMPRESSION/RECOMMENDATION"
    else:
        name = "IMPRESSION"
    return name.title() if rng.random() < 0.08 else name


def _write_trailer(doc: _Doc, rng: random.Random, ctx: Ctx) -> None:
    """Signature, contact and footer lines (most of the PHI outside the header)."""
    if rng.random() < 0.9:
        doc.render(pick(rng, SIGNATURES), rng, ctx, {})
        doc.add("\n")
    if rng.random() < 0.3:
        doc.render(pick(rng, CONTACTS), rng, ctx, {})
        doc.add("\n")
    if rng.random() < 0.15:
        doc.render(pick(rng, FOOTERS), rng, ctx, {})
        doc.add("\n")


def _compose(
    rng: random.Random, cfg: SynthConfig, ctx: Ctx, plan: _Plan, defect: str | None
) -> tuple[str, dict[str, Any]]:
    """One report text and its sidecar record (spans, keep, sections, headers, labels)."""
    doc = _Doc(spread=defect == "extra_whitespace")
    if doc.spread:
        doc.add("  \t")
    sep = "\n\n" if rng.random() < 0.6 else "\n"
    own_line = rng.random() < 0.7
    _write_header(doc, rng, ctx, plan)
    doc.add(sep)
    _write_history(doc, rng, cfg, ctx, plan)
    if rng.random() < 0.85:
        doc.add(sep + "TECHNIQUE: ")
        doc.render(pick(rng, TECHNIQUES[plan.modality]), rng, ctx, {})
    doc.add(f"{sep}{pick(rng, COMPARISON_HEADERS)} ")
    doc.render(COMPARISONS[0 if rng.random() < 0.35 else 1 + int(rng.random() * 5)], rng, ctx, {})
    doc.add(sep)

    chosen = _choose_abnormal(rng, cfg, plan)
    items = sorted(chosen, key=lambda c: -c[1].severity)  # stable: ties keep draw order
    shared: dict = {}  # slot values shared by normal sentences and the normal impression
    doc.marks = {"findings": None, "impression": None, "addendum": None}
    headers: dict[str, str | None] = {"findings": None, "impression": None}
    combined = defect is None and rng.random() < cfg.combined_section_rate
    colon = ":\n" if own_line else ": "
    if defect != "missing_findings":
        header = "FINDINGS AND IMPRESSION" if combined else _section_header(rng, cfg, "findings")
        headers["findings"] = header
        doc.add(header + colon)
        start = doc.mark()
        if defect == "short_findings":
            doc.add(pick(rng, SHORT_FINDINGS))
        else:
            _write_findings(doc, rng, cfg, ctx, plan, chosen, shared)
        doc.marks["findings"] = [start, doc.mark()]
        doc.add("\n\n" if combined else sep)
    if defect != "missing_impression":
        if combined:
            headers["impression"] = "FINDINGS AND IMPRESSION"
        else:
            headers["impression"] = _section_header(rng, cfg, "impression")
            doc.add(headers["impression"] + colon)
        start = doc.mark()
        _write_impression(doc, rng, cfg, ctx, plan, items, shared)
        doc.marks["impression"] = [start, doc.mark()]
        doc.add(sep)
    if rng.random() < cfg.addendum_rate:
        doc.add("ADDENDUM:" + ("\n" if own_line else " "))
        start = doc.mark()
        doc.render(pick(rng, ADDENDA), rng, ctx, {})
        doc.marks["addendum"] = [start, doc.mark()]
        doc.add(sep)
    _write_trailer(doc, rng, ctx)
    if doc.spread:
        doc.add("\t \n\n")
    text, spans, keep, sections = doc.finish()
    if not doc.spread:  # one final newline whichever block came last (offsets are unaffected)
        text = text.rstrip() + "\n"
    record = {
        "spans": spans,
        "keep": keep,
        "sections": sections,
        "headers": headers,
        "labels": [obs.key for _, obs, _ in items],
    }
    return text, record


# ---------------------------------------------------------------------------------------------
# Config, chunks, public API
# ---------------------------------------------------------------------------------------------


def _rate(default: float, description: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class SynthConfig(StrictModel):
    """How the synthetic corpus is drawn. Same config + seed -> byte-identical files."""

    missing_findings_rate: float = _rate(0.02, "Share of reports without a FINDINGS section.")
    missing_impression_rate: float = _rate(0.02, "Share of reports without an IMPRESSION section.")
    short_findings_rate: float = _rate(0.02, "Share of reports whose findings have under 10 words.")
    duplicate_rate: float = _rate(
        0.02, "Share of rows that repeat an earlier report's text exactly (new report_id)."
    )
    extra_whitespace_rate: float = _rate(
        0.02, "Share of reports with extra spaces, tabs and blank lines."
    )
    empty_row_rate: float = _rate(0.02, "Share of rows with an empty report_text.")
    abnormal_rate: float = _rate(0.6, "Share of studies with 1-3 abnormal observations.")
    over89_age_rate: float = _rate(0.04, "Share of patients aged 90+ (an identifier under HIPAA).")
    phi_in_findings_rate: float = _rate(
        0.08, "Share of findings that carry PHI (prior dates, 'reviewed with Dr. X')."
    )
    phi_in_impression_rate: float = _rate(
        0.05, "Share of non-critical impressions with a 'discussed with Dr. X at TIME' line."
    )
    critical_discussion_rate: float = _rate(
        0.5, "Share of impressions with a critical (severity 5) finding that name who was called."
    )
    combined_section_rate: float = _rate(0.03, "Share under one 'FINDINGS AND IMPRESSION' header.")
    conclusion_header_rate: float = _rate(0.05, "Share titled 'CONCLUSION' instead of IMPRESSION.")
    impression_recommendation_rate: float = _rate(0.03, "Share titled 'IMPRESSION/RECOMMENDATION'.")
    misspelled_header_rate: float = _rate(0.01, "Share of headers misspelt (IMPRESSON, FINDNGS).")
    numbered_impression_rate: float = _rate(
        0.5, "Share of multi-item impressions written as '1. ... 2. ...'."
    )
    addendum_rate: float = _rate(0.05, "Share of reports with an ADDENDUM after the impression.")
    eponym_history_rate: float = _rate(
        0.08, "Share of histories naming an eponym (Hodgkin, Crohn, Graves...)."
    )
    incidental_rate: float = _rate(
        0.2, "Share of findings with a minor incidental remark that the impression leaves out."
    )
    max_reports_per_patient: int = Field(
        5, ge=1, le=50, description="Patients have 1..this many reports (patient-level splits)."
    )
    chunk_size: int = Field(
        5000,
        ge=100,
        description="Reports per independently seeded chunk (part of the output's identity).",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: CPU count). Never changes the output."
    )

    @model_validator(mode="after")
    def _defects_fit(self) -> SynthConfig:
        total = sum(getattr(self, f"{kind}_rate") for kind in DEFECT_KINDS)
        if total > 1.0:
            raise ValueError(f"defect rates sum to {total:.3f}; they must sum to at most 1")
        return self


class SynthSummary(BaseModel):
    """What `synthesize` wrote, with the exact planted counts."""

    csv_path: Path
    phi_path: Path
    meta_path: Path
    n_reports: int
    n_patients: int
    seed: int
    defect_counts: dict[str, int]
    expected_drops: dict[str, int]
    phi_counts: dict[str, int]
    keep_count: int
    seconds: float
    reports_per_second: float

    def line(self) -> str:
        defects = ", ".join(f"{k}={v}" for k, v in self.defect_counts.items())
        return (
            f"wrote {self.n_reports} reports ({self.n_patients} patients) to {self.csv_path} in "
            f"{self.seconds:.1f} s ({self.reports_per_second:,.0f} reports/s); "
            f"{sum(self.phi_counts.values())} PHI spans -> {self.phi_path.name}; defects: {defects}"
        )


def synth_paths(out_csv: str | Path) -> tuple[Path, Path, Path]:
    """(FILE.csv, FILE.phi.jsonl, FILE.synth.json) for an output path."""
    out_csv = Path(out_csv)
    stem = out_csv.name[: -len(out_csv.suffix)] if out_csv.suffix else out_csv.name
    return out_csv, out_csv.with_name(f"{stem}.phi.jsonl"), out_csv.with_name(f"{stem}.synth.json")


def _draw_defect(rng: random.Random, thresholds: tuple[tuple[float, str], ...]) -> str | None:
    draw = rng.random()
    for threshold, kind in thresholds:
        if draw < threshold:
            return kind
    return None


def _make_ctx(
    rng: random.Random,
    cfg: SynthConfig,
    patient: Patient,
    plan: _Plan,
    day: int,
    prior: int | None,
) -> Ctx:
    ctx = Ctx()
    ctx.pt = patient
    ctx.rad, ctx.ref = Person(rng), Person(rng)
    ctx.exam_date = date.fromordinal(day)
    ctx.prior_date = date.fromordinal(prior if prior is not None else day - randint(rng, 30, 2000))
    ctx.minutes = randint(rng, 0, 1439)
    ctx.acc = (
        f"A{randint(rng, 1000000, 9999999)}"
        if rng.random() < 0.6
        else str(randint(rng, 10**7, 10**9))
    )
    ctx.modality, ctx.region, ctx.site = plan.modality, plan.region, plan.site
    ctx.segment, ctx.contrast = plan.segment, plan.contrast
    lateral = plan.region in ("upper_limb", "lower_limb", "breast")
    ctx.side = ("right" if rng.random() < 0.5 else "left") if lateral else None
    ctx.part = plan.part(ctx.side)
    ctx.age = randint(rng, 90, 104) if rng.random() < cfg.over89_age_rate else randint(rng, 18, 89)
    return ctx


def _iter_chunk(
    seed: int, chunk_index: int, start: int, count: int, cfg: SynthConfig
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Reports start..start+count-1 from their own RNG (seed, chunk index)."""
    rng = random.Random(f"radllama-synth/{seed}/{chunk_index}")
    thresholds, total = [], 0.0
    for kind in DEFECT_KINDS:
        total += getattr(cfg, f"{kind}_rate")
        thresholds.append((total, kind))
    thresholds_t = tuple(thresholds)
    produced, last_clean = 0, None
    while produced < count:
        patient = Patient(rng, f"P{start + produced:09d}")
        day = randint(rng, FIRST_EXAM_DAY, LAST_EXAM_DAY - 1000)
        prior = None
        for _ in range(min(randint(rng, 1, cfg.max_reports_per_patient), count - produced)):
            report_id = f"R{start + produced:09d}"
            produced += 1
            defect = _draw_defect(rng, thresholds_t)
            if defect == "duplicate" and last_clean is not None:
                row, record = last_clean
                yield (
                    {**row, "report_id": report_id},
                    {
                        **record,
                        "report_id": report_id,
                        "defect": defect,
                        "duplicate_of": row["report_id"],
                    },
                )
                continue
            if defect == "duplicate":
                defect = None  # nothing clean to copy yet in this chunk: counted as clean
            code = rng.choices(_EXAM_LIST, cum_weights=_EXAM_CUM_WEIGHTS)[0]
            plan = _PLANS[code]
            ctx = _make_ctx(rng, cfg, patient, plan, day, prior)
            if defect == "empty_row":
                text, record = "", {"spans": [], "keep": [], "labels": []}
                record["sections"] = {"findings": None, "impression": None, "addendum": None}
                record["headers"] = {"findings": None, "impression": None}
            else:
                text, record = _compose(rng, cfg, ctx, plan, defect)
            row = {
                "report_id": report_id,
                "patient_id": patient.patient_id,
                "exam_code": code,
                "exam_description": plan.description,
                "report_date": ctx.exam_date.isoformat(),
                "report_text": text,
            }
            record = {"report_id": report_id, **record, "defect": defect, "duplicate_of": None}
            yield row, record
            if defect is None:
                last_clean = (row, record)
            prior, day = day, day + randint(rng, 1, 200)


def _chunks(n_reports: int, seed: int, cfg: SynthConfig) -> list[tuple]:
    return [
        (seed, index, start, min(cfg.chunk_size, n_reports - start), cfg)
        for index, start in enumerate(range(0, n_reports, cfg.chunk_size))
    ]


def iter_reports(
    n_reports: int, seed: int, config: SynthConfig | None = None
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Yield (CSV row dict, sidecar record) for each report, exactly as `synthesize` writes them."""
    cfg = config or SynthConfig()
    for args in _chunks(n_reports, seed, cfg):
        yield from _iter_chunk(*args)


# Defects that `radllama prepare` drops before it looks for duplicate pairs (its rule order:
# empty_row, no_findings, no_impression, short_findings, duplicate).
_DROPPED_BEFORE_DEDUP = frozenset(
    {"empty_row", "missing_findings", "missing_impression", "short_findings"}
)


def _deidentified_section(text: str, bounds: list[int], spans: list[dict]) -> str:
    """A section as perfect de-identification (`radllama.deid.engine` placeholders, e.g. MRN and SSN
    both become "[ID]") followed by white space collapse would leave it."""
    from radllama.deid.engine import PLACEHOLDERS

    start, end = bounds
    pieces, cursor = [], start
    for span in spans:  # spans are in text order
        if start <= span["start"] and span["end"] <= end:
            pieces += (text[cursor : span["start"]], PLACEHOLDERS[span["type"]])
            cursor = span["end"]
    pieces.append(text[cursor:end])
    return " ".join("".join(pieces).split())


def pair_key(text: str, record: dict[str, Any]) -> int:
    """64-bit key of a report's de-identified (findings, impression) pair (duplicate check)."""
    findings = _deidentified_section(text, record["sections"]["findings"], record["spans"])
    impression = _deidentified_section(text, record["sections"]["impression"], record["spans"])
    digest = hashlib.blake2b(f"{findings}\x00{impression}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _render_chunk(args: tuple) -> tuple[str, str, dict[str, Any]]:
    """Worker: one chunk -> (CSV text, JSONL text, counts and pair keys)."""
    csv_buffer, lines = io.StringIO(), []
    writer = csv.writer(csv_buffer, lineterminator="\n")
    defects, phi, modalities, regions = Counter(), Counter(), Counter(), Counter()
    patients, keep, keys = set(), 0, []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row, record in _iter_chunk(*args):
        writer.writerow([row[c] for c in CSV_COLUMNS])
        lines.append(dumps(record))
        defects[record["defect"] or "none"] += 1
        phi.update(span["type"] for span in record["spans"])
        keep += len(record["keep"])
        patients.add(row["patient_id"])
        modalities[EXAM_CODES[row["exam_code"]][1]] += 1
        regions[EXAM_CODES[row["exam_code"]][2]] += 1
        if record["defect"] not in _DROPPED_BEFORE_DEDUP:
            keys.append(pair_key(row["report_text"], record))
    lines.append("")
    stats = {
        "defects": defects,
        "phi": phi,
        "keep": keep,
        "patients": len(patients),
        "modalities": modalities,
        "regions": regions,
        "pair_keys": [np.array(keys, np.uint64)],
    }
    return csv_buffer.getvalue(), "\n".join(lines), stats


def _map_chunks(chunks: list[tuple], workers: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Render chunks in order, in worker processes when there is more than one chunk."""
    if workers <= 1 or len(chunks) <= 1:
        yield from map(_render_chunk, chunks)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(min(workers, len(chunks))) as pool:
        yield from pool.imap(_render_chunk, chunks)


def _check_output(path: Path) -> None:
    """Fail early, in one line, when the output cannot be written."""
    if path.is_dir():
        raise DataError(
            f"--out {path} is a directory; pass a file name such as {path / 'reports.csv'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".tmp"), "w"):
            pass
    except OSError as error:
        raise DataError(
            f"cannot write {path} ({error.strerror or error}); choose a writable --out path"
        ) from None


def _write_corpus(
    chunks: list[tuple], workers: int, tmp_csv: Path, tmp_phi: Path, progress: bool
) -> dict[str, Any]:
    """Render every chunk in order into the two temp files; returns the summed counts.

    On any failure (or Ctrl-C) the temp files are removed: nothing half-written is left that
    could be mistaken for a corpus.
    """
    from rich.console import Console
    from rich.progress import Progress

    totals: dict[str, Any] = {
        "defects": Counter(),
        "phi": Counter(),
        "keep": 0,
        "patients": 0,
        "modalities": Counter(),
        "regions": Counter(),
        "pair_keys": [],
    }
    n_reports = sum(chunk[3] for chunk in chunks)
    try:
        with (
            open(tmp_csv, "w", encoding="utf-8", newline="") as csv_file,
            open(tmp_phi, "w", encoding="utf-8", newline="") as phi_file,
            Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar,
        ):
            task = bar.add_task("synthesising reports", total=n_reports)
            csv.writer(csv_file, lineterminator="\n").writerow(CSV_COLUMNS)
            for csv_text, jsonl_text, stats in _map_chunks(chunks, workers):
                csv_file.write(csv_text)
                phi_file.write(jsonl_text)
                for key, value in stats.items():
                    totals[key] += value
                bar.advance(task, sum(stats["defects"].values()))
    except BaseException:
        tmp_csv.unlink(missing_ok=True)
        tmp_phi.unlink(missing_ok=True)
        raise
    return totals


def synthesize(
    n_reports: int,
    seed: int,
    out_csv: str | Path,
    *,
    config: SynthConfig | None = None,
    progress: bool = True,
) -> SynthSummary:
    """Write FILE.csv, FILE.phi.jsonl and FILE.synth.json; returns the planted counts."""
    cfg = config or SynthConfig()
    if n_reports < 1:
        raise ConfigError(f"--reports must be at least 1 (got {n_reports}); pass a positive count")
    csv_path, phi_path, meta_path = synth_paths(out_csv)
    for path in (csv_path, phi_path, meta_path):
        _check_output(path)
    tmp_csv, tmp_phi, tmp_meta = (p.with_name(p.name + ".tmp") for p in synth_paths(csv_path))
    tmp_meta.unlink(missing_ok=True)  # only probed by _check_output; write_json makes its own
    started = time.perf_counter()
    workers = cfg.workers or os.cpu_count() or 1
    totals = _write_corpus(_chunks(n_reports, seed, cfg), workers, tmp_csv, tmp_phi, progress)
    tmp_csv.replace(csv_path)
    tmp_phi.replace(phi_path)
    seconds = time.perf_counter() - started
    defect_counts = {kind: totals["defects"][kind] for kind in DEFECT_KINDS}
    keys = np.concatenate(totals.pop("pair_keys"))
    expected_drops = {
        "empty_row": defect_counts["empty_row"],
        "no_findings": defect_counts["missing_findings"],
        "no_impression": defect_counts["missing_impression"],
        "short_findings": defect_counts["short_findings"],
        # planted duplicates plus normal studies whose templated text happens to coincide
        "duplicate": int(len(keys) - len(np.unique(keys))),
    }
    summary = SynthSummary(
        csv_path=csv_path,
        phi_path=phi_path,
        meta_path=meta_path,
        n_reports=n_reports,
        n_patients=totals["patients"],
        seed=seed,
        defect_counts=defect_counts,
        expected_drops=expected_drops,
        phi_counts={kind: totals["phi"][kind] for kind in PHI_TYPES},
        keep_count=totals["keep"],
        seconds=seconds,
        reports_per_second=n_reports / max(seconds, 1e-9),
    )
    _write_meta(summary, cfg, totals)
    return summary


def _write_meta(summary: SynthSummary, cfg: SynthConfig, totals: dict[str, Any]) -> None:
    """FILE.synth.json: deterministic (no timings, relative file names), so reruns compare equal."""
    from radllama.core.provenance import write_json

    write_json(
        summary.meta_path,
        {
            "generator": "radllama.synth.corpus",
            "n_reports": summary.n_reports,
            "seed": summary.seed,
            # `workers` never changes the output, so it is not part of the corpus's identity
            "config": cfg.model_dump(exclude={"workers"}),
            "files": {"csv": summary.csv_path.name, "phi": summary.phi_path.name},
            "n_patients": summary.n_patients,
            "defect_counts": summary.defect_counts,
            "clean_reports": summary.n_reports - sum(summary.defect_counts.values()),
            "expected_drops": summary.expected_drops,
            "expected_drops_note": (
                "what `radllama prepare` drops given exact sections and perfect "
                "de-identification (radllama.deid.engine placeholders); duplicate = repeated (findings, impression) pair after "
                "de-identification and white space collapse, first occurrence kept"
            ),
            "phi_counts": summary.phi_counts,
            "keep_count": summary.keep_count,
            "modality_counts": dict(sorted(totals["modalities"].items())),
            "region_counts": dict(sorted(totals["regions"].items())),
        },
    )
