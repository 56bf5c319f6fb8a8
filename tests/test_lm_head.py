"""The CPU loss head (radllama.training.lm_head) against TRL's fused head on the micro model:
same loss, log-probs, entropy, top-1 flags and gradients, in fp32 and under bf16 autocast;
the CPU trainer installs it."""

from __future__ import annotations

import pytest
import torch

from radllama.core.config import validate_config
from radllama.training import TrainConfig, prepare_training
from radllama.training.lm_head import use_cpu_lm_head


def _model(model_dir):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    return model


def _batch(vocab: int):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (2, 24), generator=generator)
    labels = ids.clone()
    labels[:, :10] = -100  # the prompt: no loss
    labels[1, 20:] = -100
    return ids, labels


@pytest.mark.parametrize("bf16", [False, True])
def test_cpu_head_matches_trls_fused_head(tiny_model_dir, bf16):
    trl_model, ours = _model(tiny_model_dir), _model(tiny_model_dir)
    assert use_cpu_lm_head(ours)
    ids, labels = _batch(trl_model.config.vocab_size)
    outputs = {}
    for name, model in (("trl", trl_model), ("ours", ours)):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.loss.backward()
        grad = model.model.layers[-1].mlp.down_proj.weight.grad
        outputs[name] = (out, grad)
    (theirs, their_grad), (mine, my_grad) = outputs["trl"], outputs["ours"]
    tol = 2e-2 if bf16 else 1e-5
    assert mine.label_mask.equal(theirs.label_mask) and int(mine.label_mask.sum()) == 24
    torch.testing.assert_close(mine.loss, theirs.loss, atol=tol, rtol=tol)
    torch.testing.assert_close(mine.log_probs, theirs.log_probs, atol=5 * tol, rtol=tol)
    torch.testing.assert_close(mine.entropy, theirs.entropy, atol=5 * tol, rtol=tol)
    assert (mine.log_probs[~mine.label_mask] == 0).all()
    if not bf16:  # bf16 logits can tie or swap near-equal top tokens
        assert mine.is_top1.equal(theirs.is_top1)
    torch.testing.assert_close(my_grad, their_grad, atol=5 * tol, rtol=10 * tol)
    # plain calls (generation) are the model's own forward
    plain = ours(input_ids=ids)
    assert plain.logits.shape == (2, 24, ours.config.vocab_size)


def test_large_batches_keep_trls_chunked_head(tiny_model_dir):
    model = _model(tiny_model_dir)
    assert use_cpu_lm_head(model, max_logits=1)
    ids, labels = _batch(model.config.vocab_size)
    reference = _model(tiny_model_dir)(input_ids=ids, labels=labels, fused_lm_head=True)
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    assert torch.equal(out.loss, reference.loss)


def test_cpu_trainer_installs_the_head(tiny_model_dir, tiny_data_dir, tmp_path, caplog):
    config = validate_config(TrainConfig, dict(
        model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"), method="lora", bf16=False, max_steps=2,
        eval_steps=None, report_to="none",
    ))  # fmt: skip
    session = prepare_training(config)
    base = session.trainer.model.get_base_model()
    assert getattr(base.forward, "cpu_lm_head", False)
    session.trainer.train()
    history = session.trainer.state.log_history
    assert any("mean_token_accuracy" in entry for entry in history)
