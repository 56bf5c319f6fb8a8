"""Hand-written known answers for the finding extractor, clinical agreement and
hallucination flags: negation flips, hedges, synonyms, locations, normal studies."""

from __future__ import annotations

import pytest

from radllama.evaluate.clinical import (
    clinical_agreement,
    extract_findings,
    is_normal,
    split_sentences,
)
from radllama.evaluate.hallucination import hallucination_flags


def pairs(text: str) -> list[tuple[str, str]]:
    return [(f.observation, f.polarity) for f in extract_findings(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # negation cues and their scope
        ("Pneumothorax.", [("pneumothorax", "present")]),
        ("No pneumothorax.", [("pneumothorax", "absent")]),
        ("Lungs are clear without effusion.", [("effusion", "absent")]),
        ("Negative for pneumonia.", [("pneumonia", "absent")]),
        ("Lungs free of consolidation.", [("consolidation", "absent")]),
        ("No evidence of free air.", [("free air", "absent")]),
        ("Left effusion has resolved.", [("effusion", "absent")]),
        ("Previously seen nodule is no longer visible.", [("nodule", "absent")]),
        # a list stays negated; a terminator ends the scope
        (
            "No pneumothorax, pleural effusion, or focal consolidation.",
            [("pneumothorax", "absent"), ("effusion", "absent"), ("consolidation", "absent")],
        ),
        (
            "No pneumothorax but there is a small effusion.",
            [("pneumothorax", "absent"), ("effusion", "present")],
        ),
        (
            "Cardiomegaly without pulmonary edema.",
            [("cardiomegaly", "present"), ("edema", "absent")],
        ),
        # scope is the clause: the next sentence is not negated
        ("No effusion. Bibasilar atelectasis.", [("effusion", "absent"), ("atelectasis", "present")]),
        # hedges
        ("Possible right lower lobe pneumonia.", [("pneumonia", "uncertain")]),
        ("Pneumonia cannot be excluded.", [("pneumonia", "uncertain")]),
        ("Findings suspicious for malignancy.", [("mass", "uncertain")]),
        (
            "Opacity likely representing atelectasis.",
            [("opacity", "present"), ("atelectasis", "uncertain")],
        ),
        # pseudo-negation keeps the finding present; "to suggest" keeps the negation
        ("No interval change in the small left pleural effusion.", [("effusion", "present")]),
        (
            "No focal consolidation to suggest pneumonia.",
            [("consolidation", "absent"), ("pneumonia", "absent")],
        ),
        # synonyms
        ("Small PTX.", [("pneumothorax", "present")]),
        ("Small amount of pleural fluid.", [("effusion", "present")]),
        ("The heart is mildly enlarged.", [("cardiomegaly", "present")]),
        ("Heart size is normal.", [("cardiomegaly", "absent")]),
        ("Gallstones without cholecystitis.", [("cholelithiasis", "present"), ("cholecystitis", "absent")]),
        # longest phrase wins: these are not (pleural) effusion / mass / edema
        ("Small pericardial effusion.", [("pericardial effusion", "present")]),
        ("Mass effect with midline shift.", [("mass effect", "present"), ("midline shift", "present")]),
        ("Vasogenic edema.", [("cerebral edema", "present")]),
        # whole words only
        ("Massive amount of gas.", []),
        # other body regions
        ("Acute appendicitis. No free air.", [("appendicitis", "present"), ("free air", "absent")]),
        ("L4-L5 disc protrusion with foraminal stenosis.", [("disc herniation", "present"), ("stenosis", "present")]),
        ("No acute intracranial hemorrhage or infarct.", [("hemorrhage", "absent"), ("infarct", "absent")]),
        ("Moderate knee joint effusion. No fracture or dislocation.", [("joint effusion", "present"), ("fracture", "absent"), ("dislocation", "absent")]),
        ("Endotracheal tube 4 cm above the carina.", [("tube", "present")]),
        ("No acute cardiopulmonary abnormality.", []),
    ],
)  # fmt: skip
def test_extractor_known_answers(text, expected):
    assert pairs(text) == expected


def test_location_laterality_and_site():
    (finding,) = extract_findings("Left lower lobe consolidation.")
    assert (finding.laterality, finding.site) == ("left", "lower lobe")
    (finding,) = extract_findings("Consolidation in the right upper lobe.")
    assert (finding.laterality, finding.site) == ("right", "upper lobe")
    (finding,) = extract_findings("Bibasilar atelectasis.")
    assert (finding.laterality, finding.site) == ("bilateral", "lung base")
    (finding,) = extract_findings("Mild L4-L5 disc bulge.")
    assert finding.site == "l4-l5"
    (finding,) = extract_findings("Pneumothorax.")
    assert (finding.laterality, finding.site) == (None, None)
    # a location in the next comma part belongs to the next finding
    effusion, opacity = extract_findings("Effusion has resolved, new right upper lobe opacity.")
    assert effusion.laterality is None and opacity.laterality == "right"


def test_sentences_do_not_split_decimals():
    assert split_sentences("A 1.5 cm nodule. No effusion") == ["A 1.5 cm nodule", "No effusion"]


def test_is_normal():
    assert is_normal("No acute disease. No pneumothorax.")
    assert not is_normal("Possible pneumonia.")
    assert not is_normal("Small left effusion.")


def test_agreement_identical_and_synonyms():
    assert clinical_agreement("Left effusion. PTX.", "Pneumothorax and pleural fluid.") == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }


def test_agreement_negation_flip_scores_zero():
    result = clinical_agreement("No pneumothorax.", "Large right pneumothorax.")
    assert result == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_agreement_partial_hedge_and_omission():
    # prediction: {(effusion, present), (pneumonia, uncertain)}
    # reference:  {(effusion, present), (pneumonia, present), (pneumothorax, absent)}
    result = clinical_agreement(
        "Left effusion. Possible pneumonia.", "Left effusion and pneumonia. No pneumothorax."
    )
    assert result["precision"] == pytest.approx(1 / 2)
    assert result["recall"] == pytest.approx(1 / 3)
    assert result["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_agreement_normal_studies():
    # both normal, different pertinent negatives -> full agreement
    assert clinical_agreement("No acute disease.", "No pneumothorax or effusion.")["f1"] == 1.0
    # prediction misses the only finding
    assert clinical_agreement("No acute disease.", "Small left effusion.")["recall"] == 0.0
    # an empty prediction never agrees
    assert clinical_agreement("", "No acute disease.")["f1"] == 0.0


def test_hallucination_flags_unsupported_present_and_hedged_claims():
    findings = "Heart size is normal. Lungs are clear. No pleural effusion or pneumothorax."
    flags = hallucination_flags(findings, "Right lower lobe pneumonia. Possible small effusion.")
    assert [(f["observation"], f["polarity"], f["reason"]) for f in flags] == [
        ("pneumonia", "present", "not_in_findings"),
        ("effusion", "uncertain", "contradicts_findings"),
    ]
    assert flags[0]["sentence"] == "Right lower lobe pneumonia"


def test_hallucination_flags_accept_support_synonyms_and_negatives():
    findings = "Patchy consolidation in the left lower lobe. Small PTX on the right."
    prediction = "Left lower lobe pneumonia. Small right pneumothorax. No effusion."
    assert hallucination_flags(findings, prediction) == []  # consolidation supports pneumonia
    assert hallucination_flags("Normal study.", "No acute cardiopulmonary process.") == []
    assert hallucination_flags("Normal study.", "") == []
