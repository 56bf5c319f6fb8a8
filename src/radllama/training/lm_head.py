"""The LM head of the training loss on a CPU: full logits of the labelled positions only.

TRL's SFTTrainer patches the model with a fused, chunked LM head (`trl.trainer.utils.
add_fused_lm_head`) and calls `model(..., fused_lm_head=True)` for the loss and its metrics
(per-token log-probs, entropy, top-1 accuracy). On a GPU that runs Triton kernels over the
labelled positions only. On a CPU it falls back to torch ops over *every* position, in fp32
tiles of 32,768 vocabulary columns, with ~10 elementwise passes per tile in the forward and
again in the backward. Measured on the 2-core Intel Xeon (AMX) for one SmolLM2 step (767
positions x 49,152 vocab, `benchmarks/RESULTS.md`): 1.37 s fp32 and 1.32 s bf16 for the head
alone, more than the backbone under bf16, so bf16 could not speed a step up.

`use_cpu_lm_head` replaces that forward (when `fused_lm_head=True` only; generation and plain
calls still go to the original) with the textbook head: project only the positions whose
next-token label is not -100 (completion-only loss: the impression tokens, ~1/3 of a packed
row), `log_softmax` in fp32 (under bf16 autocast the projection is a bf16 AMX matmul), the
metrics from the same log-probs without gradient. Same outputs as TRL's head
(`FusedCausalLMOutput`), same loss to rounding. Above `MAX_LOGITS` logit elements per call
(large batches) the chunked head is kept: its memory does not grow with the vocabulary.
"""

from __future__ import annotations

import functools
import types

# 2^28 fp32 logits = 1 GiB, plus as much again for the log-probs autograd keeps: ~5,400
# labelled tokens of a 49,152-token vocabulary. The CPU recipes label ~250-500 per step.
MAX_LOGITS = 2**28

# Config fields that change the logits after the projection: TRL's head applies them, this
# one does not, so a model that sets any of them keeps TRL's head.
_LOGIT_TRANSFORMS = (
    "final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier",
    "logits_scaling", "output_router_logits",
)  # fmt: skip


def supports_cpu_lm_head(model) -> bool:
    """False when the model's config transforms logits (softcapping, scaling, MoE routers)."""
    text_config = model.config.get_text_config()
    return all(getattr(text_config, name, None) in (None, False) for name in _LOGIT_TRANSFORMS)


def use_cpu_lm_head(model, max_logits: int = MAX_LOGITS) -> bool:
    """Wrap `model.forward` (already patched by SFTTrainer) so `fused_lm_head=True` calls
    compute the labelled positions' full logits; True when installed."""
    import torch
    from trl.trainer.utils import FusedCausalLMOutput

    if not supports_cpu_lm_head(model):
        return False
    fused_forward = model.forward  # TRL's: plain calls pass through it to the model's own

    @functools.wraps(type(model).forward)
    def forward(self, *args, fused_lm_head=False, labels=None, num_items_in_batch=None, **kw):
        if not fused_lm_head or labels is None or "shift_labels" in kw:
            return fused_forward(*args, fused_lm_head=fused_lm_head, labels=labels,
                                 num_items_in_batch=num_items_in_batch, **kw)  # fmt: skip
        lm_head = self.get_output_embeddings()
        mask = labels[:, 1:] != -100  # next-token labels: position t predicts label t + 1
        if int(mask.sum()) * lm_head.weight.shape[0] > max_logits:
            return fused_forward(*args, fused_lm_head=True, labels=labels,
                                 num_items_in_batch=num_items_in_batch, **kw)  # fmt: skip
        kw["use_cache"] = False
        hidden = self.base_model(*args, **kw).last_hidden_state[:, :-1]
        targets = labels[:, 1:][mask]  # [n] labelled next tokens
        logits = lm_head(hidden[mask])  # [n, vocab]: bf16 under autocast, fp32 otherwise
        log_probs_all = torch.log_softmax(logits.float(), dim=-1)
        token_log_probs = log_probs_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():  # metrics only, as TRL logs them
            entropy = -(log_probs_all.exp() * log_probs_all).sum(-1)
            is_top1 = log_probs_all.argmax(-1) == targets  # argmax: the first maximum

        def spread(values):  # [n] -> [batch, seq - 1], zero where unlabelled
            return values.new_zeros(mask.shape).masked_scatter(mask, values)

        log_probs = spread(token_log_probs)
        count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        return FusedCausalLMOutput(
            loss=-log_probs.sum() / count, log_probs=log_probs, entropy=spread(entropy),
            is_top1=spread(is_top1), label_mask=mask,
        )  # fmt: skip

    forward.cpu_lm_head = True  # type: ignore[attr-defined]  # for tests and readers
    model.forward = types.MethodType(forward, model)
    return True
