"""Known-answer tests for ROUGE-L (rouge-score) and BERTScore (bert-score, local MiniLM)."""

from __future__ import annotations

import json

import pytest

from radllama.core.errors import ConfigError, DataError
from radllama.evaluate.lexical import rouge_l
from radllama.evaluate.semantic import (
    BertScoreConfig,
    bertscore,
    default_encoder_path,
    encoder_info,
    resolve_layer,
)


def test_rouge_l_identical_is_one_and_disjoint_is_zero():
    scores = rouge_l(["no acute disease", "left effusion"], ["no acute disease", "normal heart"])
    assert scores == [1.0, 0.0]


def test_rouge_l_hand_computed_lcs():
    # LCS("the cat on mat", "the cat sat on the mat") = "the cat on mat" = 4 tokens:
    # P = 4/4, R = 4/6, F = 2PR/(P+R) = 0.8
    assert rouge_l(["the cat on mat"], ["the cat sat on the mat"]) == pytest.approx([0.8])
    # Order matters: "mat on cat the" keeps at most 2 words in order ("on the", "cat the"):
    # P = 2/4, R = 2/6, F = 0.4
    assert rouge_l(["mat on cat the"], ["the cat sat on the mat"]) == pytest.approx([0.4])


def test_rouge_l_stemming_flag():
    pred, ref = ["nodules"], ["nodule"]
    assert rouge_l(pred, ref) == [0.0]  # off by default, as in the Open-i reference numbers
    assert rouge_l(pred, ref, use_stemmer=True) == [1.0]


def test_rouge_l_empty_prediction_scores_zero_and_lengths_must_match():
    assert rouge_l([""], ["no acute disease"]) == [0.0]
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        rouge_l(["a", "b"], ["a"])


def test_bertscore_minilm_identical_near_one_and_above_unrelated():
    refs = ["No acute cardiopulmonary process.", "Small left pleural effusion."]
    preds = ["No acute cardiopulmonary process.", "The patient ate a sandwich for lunch today."]
    scores = bertscore(preds, refs)
    assert scores["f1"][0] == pytest.approx(1.0, abs=1e-4)
    assert scores["precision"][0] == pytest.approx(1.0, abs=1e-4)
    assert scores["f1"][1] < scores["f1"][0] - 0.3
    related = bertscore(["Small right pleural effusion."], [refs[1]])["f1"][0]
    assert scores["f1"][1] < related < 1.0


def test_bertscore_empty_prediction_scores_zero():
    scores = bertscore(["", "Cardiomegaly."], ["Cardiomegaly.", "Cardiomegaly."])
    assert scores["f1"][0] == 0.0 and scores["recall"][0] == 0.0
    assert scores["f1"][1] == pytest.approx(1.0, abs=1e-4)


def test_default_encoder_is_packaged_minilm_with_its_last_layer():
    info = encoder_info(BertScoreConfig())
    assert info["encoder"] == str(default_encoder_path())
    assert default_encoder_path().name == "model"
    assert (info["layer"], info["layer_source"]) == (6, "last layer")  # all-MiniLM-L6 has 6


def test_layer_resolution_explicit_table_and_bounds(tmp_path):
    minilm = default_encoder_path()
    assert resolve_layer(minilm, 4) == (4, "explicit")
    with pytest.raises(ConfigError, match="has 6 layers"):
        resolve_layer(minilm, 7)
    # A local copy of roberta-large gets bert-score's tuned layer (17), not its last (24).
    roberta = tmp_path / "roberta-large"
    roberta.mkdir()
    (roberta / "config.json").write_text(
        json.dumps({"model_type": "roberta", "num_hidden_layers": 24})
    )
    assert resolve_layer(roberta, None) == (17, "bert-score table")


def test_bad_encoder_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="encoder folder not found"):
        encoder_info(BertScoreConfig(model=tmp_path / "missing"))
    with pytest.raises(ConfigError, match="has no config.json"):
        encoder_info(BertScoreConfig(model=tmp_path))
