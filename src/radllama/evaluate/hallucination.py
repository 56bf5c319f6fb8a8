"""Hallucination flags: impression statements that the input FINDINGS do not support.

A prediction sentence is flagged for each finding it asserts as *present* or *uncertain*
(hedged claims count: "possible pneumonia" with clear lungs is still unsupported) whose
observation the FINDINGS never mention as present or uncertain. Matching uses the extractor's
normalised observations (so "PTX" is supported by "pneumothorax"), plus `SUPPORTED_BY`: an
impression draws conclusions from findings, so "pneumonia" is supported by a stated
"consolidation" or "opacity", and "heart failure" by "cardiomegaly" with "edema".

Each flag says why: ``not_in_findings`` (never mentioned) or ``contradicts_findings`` (the
findings state it as absent, the worse case). Absent findings in the prediction are never
flagged: "no pneumothorax" is not a hallucination even if the findings are silent on it.
"""

from __future__ import annotations

from typing import Any

from radllama.evaluate.clinical import (
    ABSENT,
    HALLUCINATION_COLUMN,
    _clinical_record,
    extract_findings,
    extract_sentence_findings,
    split_sentences,
)
from radllama.evaluate.metrics import Metric, ScoringContext, register_metric

# impression observation -> findings observations from which it may be concluded
SUPPORTED_BY: dict[str, frozenset[str]] = {
    key: frozenset(values)
    for key, values in {
        "pneumonia": ("consolidation", "opacity", "interstitial disease"),
        "consolidation": ("opacity", "pneumonia"),
        "opacity": ("consolidation", "atelectasis", "pneumonia", "nodule", "mass", "edema",
                    "interstitial disease", "scarring", "granuloma", "effusion"),
        "atelectasis": ("opacity", "consolidation"),
        "edema": ("vascular congestion", "interstitial disease", "opacity", "heart failure"),
        "vascular congestion": ("edema", "heart failure"),
        "heart failure": ("cardiomegaly", "edema", "vascular congestion", "effusion"),
        "cardiomegaly": ("pericardial effusion",),
        "nodule": ("mass", "granuloma", "opacity"),
        "mass": ("nodule", "opacity", "lymphadenopathy"),
        "granuloma": ("nodule", "calcification"),
        "scarring": ("opacity", "interstitial disease", "pleural thickening", "atelectasis"),
        "interstitial disease": ("opacity", "scarring", "edema"),
        "calcification": ("granuloma", "coronary calcification"),
        "lymphadenopathy": ("mass", "mediastinal widening"),
        "mediastinal widening": ("lymphadenopathy", "aortic tortuosity", "mass"),
        "aortic tortuosity": ("calcification", "mediastinal widening"),
        "free fluid": ("abscess",),
        "abscess": ("free fluid",),
        "diverticulitis": ("diverticulosis", "abscess", "colitis"),
        "cholecystitis": ("cholelithiasis",),
        "herniation": ("mass effect", "midline shift"),
        "mass effect": ("midline shift", "hemorrhage", "mass", "cerebral edema", "herniation"),
        "midline shift": ("mass effect",),
        "cerebral edema": ("mass effect", "infarct"),
        "compression fracture": ("fracture",),
        "fracture": ("compression fracture", "skull fracture"),
        "skull fracture": ("fracture",),
        "stenosis": ("disc herniation", "degenerative change", "spondylolisthesis"),
        "degenerative change": ("osteoarthritis", "stenosis", "disc herniation"),
        "osteoarthritis": ("degenerative change",),
        "joint effusion": ("effusion",),  # "small effusion" in a knee report
        "coronary calcification": ("calcification",),
    }.items()
}  # fmt: skip


def hallucination_flags(findings: str, prediction: str) -> list[dict[str, Any]]:
    """Statements in `prediction` asserting a finding that `findings` do not support.

    Returns one dict per (sentence, observation): ``sentence``, ``observation``,
    ``polarity`` (present/uncertain), ``text`` (the words that matched) and ``reason``
    (``not_in_findings`` or ``contradicts_findings``). Empty list = nothing flagged.

    >>> [f["observation"] for f in hallucination_flags("Lungs are clear.", "Left pneumonia.")]
    ['pneumonia']
    """
    stated = extract_findings(findings)
    supported = {f.observation for f in stated if f.polarity != ABSENT}
    denied = {f.observation for f in stated if f.polarity == ABSENT}
    flags: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for sentence in split_sentences(prediction):
        for finding in extract_sentence_findings(sentence):
            if finding.polarity == ABSENT or (sentence, finding.observation) in seen:
                continue
            if finding.observation in supported:
                continue
            if SUPPORTED_BY.get(finding.observation, frozenset()) & supported:
                continue
            seen.add((sentence, finding.observation))
            reason = "contradicts_findings" if finding.observation in denied else "not_in_findings"
            flags.append(
                {
                    "sentence": sentence,
                    "observation": finding.observation,
                    "polarity": finding.polarity,
                    "text": finding.text,
                    "reason": reason,
                }
            )
    return flags


# ---- the metric this module registers (radllama.evaluate.metrics) ----


def _score_hallucination(ctx: ScoringContext) -> None:
    """Flags per row; hallucination_rate is 1.0 for a flagged prediction, so its mean is the
    share of flagged predictions. Rows without findings are left out (and counted)."""
    missing_findings = 0
    for row, sample in zip(ctx.rows, ctx.per_sample, strict=True):
        findings = row.get("findings")
        if not isinstance(findings, str) or not findings.strip():
            missing_findings += 1
            sample["hallucination_rate"] = None
            sample["hallucination_flags"] = []
            continue
        flags = hallucination_flags(findings, row["prediction"])
        sample["hallucination_flags"] = flags
        sample["hallucination_rate"] = 1.0 if flags else 0.0
    if missing_findings:
        ctx.warnings.append(
            f"{missing_findings} rows have no findings; hallucination_rate is over the other rows"
        )


register_metric(Metric(
    name="hallucination", score=_score_hallucination, columns=(HALLUCINATION_COLUMN,),
    describe=_clinical_record, record_key="clinical", order=40,
))  # fmt: skip
