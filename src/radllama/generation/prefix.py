"""One prompt prefill, many continuations: sampling and scoring that share a prompt's KV cache.

Candidate-set decoding needs, per report, a greedy answer, N sampled answers and the model's
log-likelihood of ~10 candidate impressions. Run naively, every one of those re-reads the
~250-token prompt (N + 10 prefills per report); here the prompt batch is prefilled once and
its cache is copied (an index select on the batch axis) into each use:

- `PromptCache.build`: left-padded prompts -> KV cache of every prompt token + the logits of
  the last one (what the first continuation token is scored with);
- `PromptCache.decode`: per prompt a greedy answer and N sampled ones in one decoding loop
  that starts from the cached prompt (no prompt token is recomputed) and drops rows from the
  batch once they have produced EOS;
- `PromptCache.score`: mean log-probability per token of given continuations (the
  candidate's tokens + EOS), with the continuations right-padded after the cached prompt.

Shapes: a cache layer holds keys/values of (rows, kv_heads, prompt_len, head_dim); left
padding keeps every prompt's last token in the last column, so positions are
``cumsum(mask) - 1`` and a continuation token t of row r sits at position ``len_r + t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _select(cache, rows):
    """A new DynamicCache with the given batch rows (repeats allowed; index copies, so the
    prompt cache itself is never extended)."""
    from transformers import DynamicCache

    return DynamicCache(
        ddp_cache_data=[(layer.keys[rows], layer.values[rows]) for layer in cache.layers]
    )


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
        return cls(model, ids, mask, out.cache, last, prompt_ids)

    def decode(
        self,
        samples: list[int],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        sample_max_new: list[int] | None = None,
    ) -> list[list[Any]]:
        """Per prompt i: its greedy answer, then `samples[i]` sampled ones (GenerationOutput),
        all in one decoding loop over the prompt cache; `sample_max_new[i]` (optional) caps
        prompt i's sampled answers below `max_new_tokens`.

        Unlike `model.generate`, a row leaves the batch once it has produced EOS (the cache,
        mask and positions are compacted when a tenth of the rows, at least one, has
        finished), so a batch no longer pays for its longest sample in every row; greedy rows
        take the argmax of the raw logits, as greedy `generate` does.
        """
        import torch

        model = self.model
        prompt_of = [i for i, n in enumerate(samples) for _ in range(1 + n)]
        rows = torch.tensor(prompt_of, device=self.input_ids.device)
        greedy = torch.tensor([j == 0 or prompt_of[j - 1] != prompt_of[j]
                               for j in range(len(prompt_of))])  # fmt: skip
        max_new = min(max_new_tokens, model.max_context - self.input_ids.shape[1])
        caps = sample_max_new or [max_new] * len(samples)
        limit = torch.tensor([max_new if greedy[j] else min(max_new, caps[p])
                              for j, p in enumerate(prompt_of)])  # fmt: skip
        generator = torch.Generator(device="cpu")
        generator.manual_seed(0 if seed is None else seed)
        eos = torch.tensor(model.eos_token_ids)
        tokens: list[list[int]] = [[] for _ in prompt_of]
        active = torch.arange(len(prompt_of))  # output row of each batch row
        live = torch.ones(len(prompt_of), dtype=torch.bool)  # batch rows without EOS yet
        cache = _select(self.cache, rows)
        mask = self.attention_mask[rows]
        positions = self.attention_mask.sum(-1)[rows]  # next position = real prompt tokens
        logits = self.last_logits[rows]
        with torch.inference_mode():
            for step in range(max_new):
                chosen = _next_tokens(logits, greedy[active], temperature, top_p, generator)
                for row, token in zip(active[live].tolist(), chosen[live].tolist(), strict=True):
                    tokens[row].append(token)
                live &= ~torch.isin(chosen, eos) & (limit[active] > step + 1)
                if step == max_new - 1 or not bool(live.any()):
                    break
                if (len(live) - int(live.sum())) * 10 >= len(live):  # a tenth finished: drop
                    keep = live.nonzero()[:, 0]
                    cache.batch_select_indices(keep)
                    active, chosen, mask, positions = (
                        active[keep],
                        chosen[keep],
                        mask[keep],
                        positions[keep],
                    )
                    live = live[keep]
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                out = model.model(
                    input_ids=chosen[:, None],
                    attention_mask=mask,
                    position_ids=positions[:, None],
                    cache=cache,
                    use_cache=True,
                )
                logits, positions = out.logits[:, -1].float(), positions + 1  # cache: in place
        per_prompt: list[list[Any]] = [[] for _ in samples]
        for prompt, new_ids in zip(prompt_of, tokens, strict=True):
            per_prompt[prompt].append(model._decode(self.prompt_ids[prompt], new_ids))
        return per_prompt

    def score(self, continuations: list[list[list[int]]], chunk: int = 32) -> list[list[float]]:
        """Mean log p per token of each continuation (token ids, EOS included) given its
        prompt: `continuations[i]` are prompt i's; chunks of `chunk` sequences per forward,
        sorted by length (little right padding), the vocabulary projection only at the real
        tokens (a 49k-wide row per padded position would be waste)."""
        import torch

        pairs = [(i, ids) for i, conts in enumerate(continuations) for ids in conts]
        lengths = self.attention_mask.sum(-1)  # real prompt tokens per row
        pad = self.model.tokenizer.pad_token_id or 0
        lm = self.model.model
        decoder, head = lm.get_decoder(), lm.get_output_embeddings()
        means = [0.0] * len(pairs)
        by_length = sorted(range(len(pairs)), key=lambda n: len(pairs[n][1]))
        for start in range(0, len(pairs), chunk):
            part = by_length[start : start + chunk]
            rows = torch.tensor([pairs[n][0] for n in part], device=self.input_ids.device)
            width = max(len(pairs[n][1]) for n in part)
            tokens = torch.full((len(part), width), pad, dtype=torch.long)
            real = torch.zeros((len(part), width), dtype=torch.bool)
            for row, n in enumerate(part):
                ids = pairs[n][1]
                tokens[row, : len(ids)] = torch.tensor(ids)
                real[row, : len(ids)] = True
            tokens, real = tokens.to(rows.device), real.to(rows.device)
            mask = torch.cat([self.attention_mask[rows], real.long()], dim=1)
            positions = lengths[rows, None] + torch.arange(width, device=rows.device)[None, :]
            with torch.inference_mode():
                hidden = decoder(  # (part, width, dim), after the final norm
                    input_ids=tokens,
                    attention_mask=mask,
                    position_ids=positions,
                    cache=_select(self.cache, rows),
                    use_cache=True,
                ).last_hidden_state
                # token t >= 1 is predicted by the hidden state at t - 1; token 0 by the
                # prompt's last logits
                later = real[:, 1:]
                hidden = hidden[:, :-1][later]  # (real tokens - part, dim)
                logp_later = torch.log_softmax(head(hidden).float(), dim=-1)
                logp_later = logp_later.gather(-1, tokens[:, 1:][later][:, None])[:, 0]
                logp_first = torch.log_softmax(self.last_logits[rows], dim=-1)
                logp_first = logp_first.gather(-1, tokens[:, :1])[:, 0]
                sums = logp_first.clone()
                row_of = later.nonzero()[:, 0]
                sums.index_add_(0, row_of, logp_later)
                means_part = sums / real.sum(-1).clamp(min=1)
            for n, value in zip(part, means_part.tolist(), strict=True):
                means[n] = value
        out_rows: list[list[float]] = []
        position = 0
        for conts in continuations:
            out_rows.append(means[position : position + len(conts)])
            position += len(conts)
        return out_rows


def _next_tokens(logits, greedy, temperature: float, top_p: float, generator):
    """(rows,) next tokens: argmax where `greedy`, else a sample at `temperature` from the
    top-`top_p` nucleus (the smallest set of most likely tokens whose mass reaches top_p, as
    transformers' TopPLogitsWarper keeps it)."""
    import torch

    chosen = logits.argmax(-1)
    sampled = (~greedy).nonzero()[:, 0]
    if len(sampled):
        scaled = logits[sampled] / temperature
        if top_p < 1.0:
            ordered, order = scaled.sort(-1, descending=False)
            mass = ordered.softmax(-1).cumsum(-1)
            drop = mass <= 1 - top_p
            drop[:, -1] = False  # the most likely token always stays
            scaled = scaled.scatter(-1, order, ordered.masked_fill(drop, float("-inf")))
        picks = torch.multinomial(scaled.softmax(-1), 1, generator=generator)[:, 0]
        chosen[sampled] = picks
    return chosen
