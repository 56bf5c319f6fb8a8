"""ROUGE-L during training: at every evaluation (`eval_steps`), greedy batched generation on a
fixed subset of the eval split, scored against its impressions.

Eval loss says little about whether impressions get better (users of every fine-tuning
toolkit ask for generative metrics and the best checkpoint by them: LLaMA-Factory #1603 and
#6566, transformers #26474). The callback adds ``eval_rougeL`` to the metrics dict the
Trainer's `evaluate()` hands to `on_evaluate`; the Trainer then reads it for
``metric_for_best_model: rougeL``, so `load_best_model_at_end` keeps the best checkpoint, which
becomes the run's model. The values also go to the trainer log (TensorBoard / W&B when on)
and to the run file's ``final_metrics.generative_eval``.

The subset is the first `rows` rows of the *tokenised* eval split, i.e. exactly the prompts
training rendered (with the k retrieved examples of a retrieval recipe); the reference is the
row's completion decoded without special tokens, both with a leading prepend phrase removed
(`strip_prepend`, as generation does). ROUGE-L is Google's `rouge-score`, per sample, no
stemming, mean over rows: the same definition as `radllama evaluate`.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any

from transformers import TrainerCallback

from radllama.core.prompts import strip_prepend

logger = logging.getLogger("radllama.training")
METRICS = {"rougeL": True, "loss": False}  # metric_for_best_model -> greater is better


def eval_subset(eval_dataset, rows: int, tokenizer) -> tuple[list[list[int]], list[str]]:
    """(prompt ids, reference impressions) of the first `rows` rows of the tokenised eval
    split (the caller clamps `rows` to the split): each row cut where its completion starts."""
    prompts, references = [], []
    for example in eval_dataset.select(range(rows)):
        ids, mask = example["input_ids"], example["completion_mask"]
        start = mask.index(1) if 1 in mask else len(mask)
        prompts.append(list(ids[:start]))
        completion = tokenizer.decode(ids[start:], skip_special_tokens=True).strip()
        references.append(strip_prepend(completion))
    return prompts, references


class GenerativeEval(TrainerCallback):
    """At each evaluation: ROUGE-L of greedy impressions on a fixed eval subset.

    >>> GenerativeEval.rouge_l(["no acute process"], ["No acute cardiopulmonary process."])
    0.8571428571428571
    """

    def __init__(self, eval_dataset, tokenizer, rows: int, max_new_tokens: int,
                 batch_size: int, bf16: bool) -> None:  # fmt: skip
        self.tokenizer = tokenizer
        self.max_new_tokens, self.batch_size, self.bf16 = max_new_tokens, batch_size, bf16
        self.rows = rows
        self.prompts, self.references = eval_subset(eval_dataset, rows, tokenizer)
        self.history: list[dict[str, Any]] = []
        self.seconds = 0.0  # generation time, all evaluations (paid from the step budget)
        self.enabled = True
        self.trainer = None  # set by the caller: used to log through the Trainer

    @staticmethod
    def rouge_l(predictions: list[str], references: list[str]) -> float:
        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        scores = [
            scorer.score(ref, pred)["rougeL"].fmeasure
            for pred, ref in zip(predictions, references, strict=True)
        ]
        return sum(scores) / len(scores) if scores else 0.0

    def on_evaluate(self, args, state, control, model=None, metrics=None, **kwargs):
        if not self.enabled or model is None or metrics is None or not self.rows:
            return
        started = time.monotonic()
        predictions = self.generate(model)
        seconds = time.monotonic() - started
        self.seconds += seconds
        rouge = self.rouge_l(predictions, self.references)
        values = {"eval_rougeL": rouge, "eval_generated_rows": self.rows,
                  "eval_generation_s": round(seconds, 2)}  # fmt: skip
        metrics.update(values)  # the dict the Trainer reads for metric_for_best_model
        self.history.append({"step": state.global_step, "rougeL": round(rouge, 4),
                             "seconds": round(seconds, 2), "example": predictions[0]})  # fmt: skip
        logger.info(
            "step %d: ROUGE-L %.4f on %d eval rows (%.1f s)",
            state.global_step, rouge, self.rows, seconds,
        )  # fmt: skip
        if self.trainer is not None:
            self.trainer.log(values)

    def generate(self, model) -> list[str]:
        """Greedy impressions for the subset, batched with left padding, in subset order."""
        import torch

        tokenizer = self.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        eos = {tokenizer.eos_token_id} | _config_eos(model)
        eos.discard(None)
        was_training = model.training
        model.eval()
        order = sorted(range(len(self.prompts)), key=lambda i: len(self.prompts[i]))
        outputs: dict[int, str] = {}
        device = next(model.parameters()).device
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()
        try:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                width = max(len(self.prompts[i]) for i in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    prompt = self.prompts[i]
                    ids[row, width - len(prompt) :] = torch.tensor(prompt)
                    mask[row, width - len(prompt) :] = 1
                with torch.inference_mode(), autocast:
                    sequences = model.generate(
                        input_ids=ids.to(device), attention_mask=mask.to(device),
                        max_new_tokens=self.max_new_tokens, do_sample=False, top_p=None,
                        top_k=None, temperature=None, eos_token_id=sorted(eos),
                        pad_token_id=pad, use_cache=True,
                    )  # fmt: skip
                for row, i in enumerate(batch):
                    new = sequences[row, width:].tolist()
                    stop = next((n for n, t in enumerate(new) if t in eos), len(new))
                    text = tokenizer.decode(new[:stop], skip_special_tokens=True).strip()
                    outputs[i] = strip_prepend(text)
        finally:
            if was_training:
                model.train()
        return [outputs[i] for i in range(len(self.prompts))]

    def summary(self, state) -> dict[str, Any]:
        """For the run file: every evaluation's ROUGE-L and which step's weights were kept."""
        return {
            "rows": self.rows,
            "history": self.history,
            "generation_seconds": round(self.seconds, 1),
            "best_rougeL": max((h["rougeL"] for h in self.history), default=None),
            "best_checkpoint": state.best_model_checkpoint,
            "best_step": getattr(state, "best_global_step", None),
        }


def _config_eos(model) -> set[int]:
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if configured is None:
        return set()
    return set(configured) if isinstance(configured, list) else {configured}
