"""One prompt prefill, many continuations: sampling and scoring that share a prompt's KV cache.

Candidate-set decoding needs, per report, a greedy answer, N sampled answers and the model's
log-likelihood of ~10 candidate impressions. Run naively, every one of those re-reads the
~250-token prompt (N + 10 prefills per report); here the prompt batch is prefilled once and
its cache is copied (an index select on the batch axis) into each use:

- `PromptCache.build`: left-padded prompts -> KV cache of every prompt token + the logits of
  the last one (what the first continuation token is scored with);
- `PromptCache.generate`: greedy or sampled answers, each prompt repeated `repeats` times;
  `model.generate` gets the cache of all but the last prompt token and so computes one
  position per row instead of the whole prompt;
- `PromptCache.score`: mean log-probability per token of given continuations (the
  candidate's tokens + EOS), with the continuations right-padded after the cached prompt.

Shapes: a cache layer holds keys/values of (rows, kv_heads, prompt_len, head_dim); left
padding keeps every prompt's last token in the last column, so positions are
``cumsum(mask) - 1`` and a continuation token t of row r sits at position ``len_r + t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _select(cache, rows, length: int | None = None):
    """A new DynamicCache with the given batch rows (repeats allowed) and the first
    `length` positions (None: all)."""
    from transformers import DynamicCache

    layers = []
    for layer in cache.layers:
        keys, values = layer.keys[rows], layer.values[rows]
        if length is not None:
            keys, values = keys[:, :, :length], values[:, :, :length]
        layers.append((keys.contiguous(), values.contiguous()))
    return DynamicCache(ddp_cache_data=layers)


@dataclass
class PromptCache:
    """A prefilled batch of prompts (see the module docstring)."""

    model: Any  # radllama.generation.inference.ImpressionModel
    input_ids: Any  # (rows, width) left-padded
    attention_mask: Any  # (rows, width)
    cache: Any  # DynamicCache over all `width` positions
    last_logits: Any  # (rows, vocab) float32: the next-token logits after the prompt
    prompt_ids: list[list[int]]

    @classmethod
    def build(cls, model, prompt_ids: list[list[int]]) -> PromptCache:
        import torch

        tokenizer, lm = model.tokenizer, model.model
        inputs = tokenizer.pad({"input_ids": prompt_ids}, padding=True, return_tensors="pt")
        ids = inputs["input_ids"].to(lm.device)
        mask = inputs["attention_mask"].to(lm.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = lm(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        last = out.logits[:, -1, :].float()
        return cls(model, ids, mask, out.past_key_values, last, prompt_ids)

    def generate(self, settings, repeats: int = 1) -> list[list[Any]]:
        """`repeats` answers per prompt (GenerationOutput), greedy or sampled per `settings`."""
        import torch

        model = self.model
        rows = torch.arange(len(self.prompt_ids), device=self.input_ids.device)
        rows = rows.repeat_interleave(repeats)
        width = self.input_ids.shape[1]
        inputs = {
            "input_ids": self.input_ids[rows],
            "attention_mask": self.attention_mask[rows],
            "cache": _select(self.cache, rows, width - 1),
        }
        prompt_ids = [self.prompt_ids[int(r)] for r in rows.tolist()]
        max_new = min(settings.max_new_tokens, model.max_context - width)
        outputs = model.generate_padded(inputs, prompt_ids, max_new, settings)
        return [outputs[i * repeats : (i + 1) * repeats] for i in range(len(self.prompt_ids))]

    def score(self, continuations: list[list[list[int]]], chunk: int = 32) -> list[list[float]]:
        """Mean log p per token of each continuation (token ids, EOS included) given its
        prompt: `continuations[i]` are prompt i's; chunks of `chunk` sequences per forward."""
        import torch

        pairs = [(i, ids) for i, conts in enumerate(continuations) for ids in conts]
        lengths = self.attention_mask.sum(-1)  # real prompt tokens per row
        pad = self.model.tokenizer.pad_token_id or 0
        means: list[float] = []
        for start in range(0, len(pairs), chunk):
            part = pairs[start : start + chunk]
            rows = torch.tensor([i for i, _ in part], device=self.input_ids.device)
            width = max(len(ids) for _, ids in part)
            tokens = torch.full((len(part), width), pad, dtype=torch.long)
            real = torch.zeros((len(part), width), dtype=torch.long)
            for n, (_, ids) in enumerate(part):
                tokens[n, : len(ids)] = torch.tensor(ids)
                real[n, : len(ids)] = 1
            tokens, real = tokens.to(rows.device), real.to(rows.device)
            mask = torch.cat([self.attention_mask[rows], real], dim=1)
            positions = lengths[rows, None] + torch.arange(width, device=rows.device)[None, :]
            with torch.inference_mode():
                out = self.model.model(
                    input_ids=tokens,
                    attention_mask=mask,
                    position_ids=positions,
                    cache=_select(self.cache, rows),
                    use_cache=True,
                )
                # token t is predicted by the logits at t - 1 (t = 0: the prompt's last logits)
                logits = torch.cat(
                    [self.last_logits[rows, None, :], out.logits[:, :-1, :].float()], dim=1
                )
                logp = torch.log_softmax(logits, dim=-1).gather(-1, tokens[..., None])[..., 0]
                sums = (logp * real).sum(-1) / real.sum(-1).clamp(min=1)
            means.extend(float(v) for v in sums)
        out_rows: list[list[float]] = []
        position = 0
        for conts in continuations:
            out_rows.append(means[position : position + len(conts)])
            position += len(conts)
        return out_rows
