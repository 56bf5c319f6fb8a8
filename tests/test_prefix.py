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
    """decode()'s greedy rows are model.generate's greedy answers, with sampled rows of the
    same prompts in the batch (rows that finish leave it), and sampling is seeded."""
    items = [("CT HEAD", "No acute hemorrhage. Ventricles normal."), ("XR CHEST", "Lungs clear.")]
    settings = GenerationSettings(max_new_tokens=12, batch_size=2)
    plain = model.generate(items, settings)
    prompts = [model._encode(model.build_prompt(*item)) for item in items]
    cache = PromptCache.build(model, prompts)
    alone = cache.decode([0, 0], 12)
    mixed = cache.decode([3, 1], 12, temperature=1.0, top_p=0.9, seed=0)
    assert [o[0].raw_text for o in alone] == [o.raw_text for o in plain]
    assert [o[0].raw_text for o in mixed] == [o.raw_text for o in plain]
    assert [o[0].completion_tokens for o in mixed] == [o.completion_tokens for o in plain]
    assert [len(o) for o in mixed] == [4, 2]
    again = cache.decode([3, 1], 12, temperature=1.0, top_p=0.9, seed=0)
    assert [[o.raw_text for o in row] for row in again] == [
        [o.raw_text for o in row] for row in mixed
    ]
    # a tiny random model rarely stops: the sampled answers differ from greedy and each other
    assert len({o.raw_text for o in mixed[0]}) > 1


def full_forward_greedy(model, prompt_ids, first, max_new):
    """Greedy tokens after `prompt_ids` with the first one forced, by unpadded full forwards."""
    new = [first]
    while len(new) < max_new and new[-1] not in model.eos_token_ids:
        with torch.inference_mode():
            logits = model.model(input_ids=torch.tensor([prompt_ids + new])).logits[0, -1]
        new.append(int(logits.argmax()))
    return new


def test_rows_leave_the_batch_at_eos_and_the_rest_decode_on(model):
    """A row that produces EOS is dropped from the cache (batch_select_indices); the row left
    decodes on exactly as unpadded full forwards do. One of row 0's early tokens is made an
    extra EOS, and row 1 is sent elsewhere by forcing its first token."""
    prompts = [
        model._encode(model.build_prompt("XR CHEST", "Lungs clear.")),
        model._encode(model.build_prompt("CT HEAD", "No acute hemorrhage. Ventricles normal.")),
    ]
    cache = PromptCache.build(model, prompts)
    natural = full_forward_greedy(model, prompts[0], int(cache.last_logits[0].argmax()), 12)
    forced = 7  # not the natural first token
    assert natural[0] != forced
    cache.last_logits = cache.last_logits.clone()
    cache.last_logits[1] = -1e4
    cache.last_logits[1, forced] = 0.0
    original = model.eos_token_ids
    model.eos_token_ids = [*original, natural[3]]  # row 0 stops after 4 tokens
    try:
        expected = [
            model._decode(p, full_forward_greedy(model, p, first, 12))
            for p, first in zip(prompts, (natural[0], forced), strict=True)
        ]
        shared = cache.decode([0, 0], 12)
    finally:
        model.eos_token_ids = original
    assert expected[0].completion_tokens <= 4 < expected[1].completion_tokens  # row 1 outlives
    assert expected[0].finish_reason == "stop"
    assert [(row[0].raw_text, row[0].completion_tokens) for row in shared] == [
        (e.raw_text, e.completion_tokens) for e in expected
    ]
