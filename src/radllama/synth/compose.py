"""Composing one synthetic report: per-exam plans (precomputed once), the text builder that
tracks PHI spans as it writes (`_Doc`), and the section writers (`_compose`)."""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Any

from radllama.core.exams import (  # noqa: F401  (EXAM_CODES etc. stay importable from here)
    BODY_REGIONS,
    EXAM_CODES,
    EXAMS,
    MODALITIES,
    UNKNOWN,
    modality_and_region,
)
from radllama.synth.config import SynthConfig
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
    FOOTERS,
    HEADER_LINES,
    HISTORY_HEADERS,
    IMPRESSION_MISSPELT,
    INCIDENTALS,
    INDICATIONS,
    KEEP,
    KEEP_TERM,
    NORMAL_IMPRESSIONS,
    OBSERVATIONS,
    ORGANS,
    SHORT_FINDINGS,
    SIGNATURES,
    SLOTS,
    TECHNIQUES,
    TEXT,
    Ctx,
    Template,
    pick,
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
