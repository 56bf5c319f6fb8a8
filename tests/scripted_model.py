"""A real transformers Llama whose greedy output follows a script: a deterministic test model.

The tiny pretrained model writes whatever a few steps of pretraining taught it, so a test
cannot plant a sentence in its draft. `ScriptedLlama` runs the micro model's full forward pass
(real attention, KV cache, `generate`, streamer, stopping criteria) and then adds a large bias
to the logit of the script's next token, so greedy decoding writes the script (then EOS, or
the script again when ``repeat``). Everything downstream (the server's batcher, streaming,
hallucination flags, the page) sees an ordinary model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from radllama.core.prompts import PromptStyle
from radllama.generation.inference import ImpressionModel


class ScriptedLlama(LlamaForCausalLM):
    script: list[int] = []
    repeat: bool = False
    decode_steps: int = 0  # forward passes after the prompt (counts work, for cancel tests)

    def forward(self, input_ids=None, **kwargs):
        out = super().forward(input_ids=input_ids, **kwargs)
        if input_ids.shape[1] > 1:  # prefill (the KV cache feeds one token per step after it)
            self._step = 0
        else:
            type(self).decode_steps += 1
        step, self._step = self._step, self._step + 1  # index of the token about to be written
        if self.repeat:
            token = self.script[step % len(self.script)]
        else:
            token = self.script[step] if step < len(self.script) else self.config.eos_token_id
        out.logits[:, -1, token] += 1e4
        return out


def scripted_model(tokenizer_dir: Path, text: str, repeat: bool = False) -> ImpressionModel:
    """An `ImpressionModel` that answers `text` to every prompt (greedy)."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = ScriptedLlama(config)
    ScriptedLlama.script = tokenizer(text, add_special_tokens=False)["input_ids"]
    ScriptedLlama.repeat = repeat
    return ImpressionModel("scripted", model, tokenizer, PromptStyle(), None)
