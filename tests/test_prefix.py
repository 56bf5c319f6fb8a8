"""The shared prompt cache (generation/prefix.py) gives the numbers a full forward gives."""

from __future__ import annotations

import pytest
import torch

from radllama.generation.inference import GenerationSettings, ImpressionModel
from radllama.generation.prefix import PromptCache


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return ImpressionModel.load(tiny_model_dir, device="cpu")


def full_forward_logprob(model, prompt_ids, continuation):
    """Mean log p per token of `continuation` after `prompt_ids`, one unpadded forward."""
    ids = torch.tensor([prompt_ids + continuation])
    with torch.inference_mode():
        logits = model.model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], dim=-1)
    return float(logp.gather(-1, torch.tensor(continuation)[:, None]).mean())


def test_scores_match_full_forwards_under_left_padding(model):
    prompts = [
        model._encode(model.build_prompt("CT HEAD", "No acute hemorrhage. Ventricles normal.")),
        model._encode(model.build_prompt("XR CHEST", "Lungs clear.")),  # shorter: left-padded
    ]
    assert len(prompts[0]) != len(prompts[1])
    conts = [
        [model._encode("No acute intracranial abnormality.") + [model.eos_token_ids[0]],
         model._encode("Normal.") + [model.eos_token_ids[0]]],
        [model._encode("No acute cardiopulmonary process.") + [model.eos_token_ids[0]]],
    ]  # fmt: skip
    cache = PromptCache.build(model, prompts)
    scores = cache.score(conts, chunk=2)  # 3 sequences in chunks of 2: a chunk boundary
    for row, (prompt, row_conts) in enumerate(zip(prompts, conts, strict=True)):
        for j, cont in enumerate(row_conts):
            assert scores[row][j] == pytest.approx(
                full_forward_logprob(model, prompt, cont), abs=1e-4
            )


def test_greedy_from_the_cache_is_plain_greedy(model):
    items = [("CT HEAD", "No acute hemorrhage. Ventricles normal."), ("XR CHEST", "Lungs clear.")]
    settings = GenerationSettings(max_new_tokens=12, batch_size=2)
    plain = model.generate(items, settings)
    prompts = [model._encode(model.build_prompt(*item)) for item in items]
    shared = PromptCache.build(model, prompts).generate(settings, repeats=1)
    assert [o[0].raw_text for o in shared] == [o.raw_text for o in plain]
    sampled = PromptCache.build(model, prompts).generate(
        GenerationSettings(max_new_tokens=12, temperature=1.0, seed=0), repeats=3
    )
    assert [len(o) for o in sampled] == [3, 3]
