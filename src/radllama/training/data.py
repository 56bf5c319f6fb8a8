"""DATA_DIR -> tokenised prompt/completion datasets, cached on disk (paper: "pre-tokenized ...
and stored the results in cache").

The dataset transform (report row -> chat messages) is `radllama.core.prompts`' business and
already done by `radllama prepare`; here each row becomes TRL's *conversational
prompt-completion* pair (prompt = [system, user], completion = [assistant]) and the MODEL's
chat template turns it into tokens, so swapping the base model never touches data code.

Each example is stored as TRL's pre-tokenised form, ``input_ids`` + ``completion_mask``
(1 on completion tokens, which include the template's end-of-turn token so the model
learns to stop). `SFTTrainer` sees ``input_ids`` and skips its own tokenisation; it only
builds labels (-100 on the prompt) and packs.

The cache key is the hash of (tokenizer vocabulary/merges/special tokens, chat template,
split file contents, max_length, cache format version): any of them changing makes a new
entry, and two runs or methods on the same model + data share one.

Rows longer than ``max_length`` are dropped, not truncated (a truncated impression would
teach the model not to stop), and counted per reason with the other drops.

Retrieval-augmented SFT (``num_examples`` = k > 0): before tokenising, every row's user turn
gets the k most similar *training* reports (rendered by `PromptStyle.messages`, the one builder),
found with one batched search of the index under the training leakage rules (never itself, a
duplicate of its findings, or the same patient); eval rows retrieve like test rows. The
cache key then includes k, the example length and the index identity.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radllama.core.artifacts import DataDir, TokenizedCacheMeta, iter_split_rows
from radllama.core.errors import DataError
from radllama.core.prompts import PromptStyle
from radllama.core.provenance import file_sha256, json_sha256

CACHE_FORMAT = "radllama-tokenized-v1"
SPLITS = ("train", "eval")


@dataclass
class TokenizedData:
    """Tokenised train/eval splits plus what happened to every row."""

    train: Any  # datasets.Dataset with input_ids, completion_mask
    eval: Any | None
    cache_hit: bool
    cache_path: Path
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def conversation(row: dict[str, Any], style: PromptStyle) -> tuple[list[dict], list[dict]]:
    """Row -> (prompt messages, completion messages) in TRL's conversational form.

    Rows from `radllama prepare` carry their `messages` (built by `PromptStyle.messages`);
    a row with only `prompt` + `completion` is wrapped by the same style.

    >>> conversation({"prompt": "Findings: clear.", "completion": "Normal."}, PromptStyle(system_prompt="Be brief."))
    ([{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Findings: clear.'}], [{'role': 'assistant', 'content': 'Normal.'}])
    """
    messages = row.get("messages")
    if not (messages and messages[-1].get("role") == "assistant"):
        if row.get("prompt") is None or row.get("completion") is None:
            raise DataError(
                f"row {row.get('report_id', '?')} has neither `messages` ending in an assistant "
                "turn nor `prompt` + `completion`; re-run `radllama prepare`"
            )
        messages = style.chat(row["prompt"], row["completion"])
    return [dict(m) for m in messages[:-1]], [dict(messages[-1])]


def tokenize_pair(tokenizer, prompt: list[dict], completion: list[dict]) -> dict[str, list[int]]:
    """Render with the tokenizer's chat template; completion_mask marks the completion tokens.

    The completion starts where prompt-with-generation-prompt and prompt+completion stop
    agreeing (TRL's rule), so templates that render the prompt differently stay correct.
    """
    from trl.data_utils import common_prefix_length

    prompt_ids = _chat_ids(tokenizer, prompt, add_generation_prompt=True)
    full_ids = _chat_ids(tokenizer, prompt + completion, add_generation_prompt=False)
    n_prompt = common_prefix_length(prompt_ids, full_ids)
    return {
        "input_ids": full_ids,
        "completion_mask": [0] * n_prompt + [1] * (len(full_ids) - n_prompt),
    }


def _chat_ids(tokenizer, messages: list[dict], add_generation_prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=add_generation_prompt
    )
    return list(encoded["input_ids"])


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of everything that decides the token ids: vocabulary, merges, special tokens, template."""
    if getattr(tokenizer, "is_fast", False):
        vocabulary = tokenizer.backend_tokenizer.to_str()
    else:
        vocabulary = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return json_sha256(
        {
            "vocabulary": vocabulary,
            "special_tokens": tokenizer.special_tokens_map,
            "chat_template": tokenizer.chat_template,
        }
    )


def cache_key(
    tokenizer, dataset: DataDir, max_length: int, examples=None
) -> tuple[str, dict[str, Any]]:
    """Cache key and the inputs it is made of (saved beside the entry for inspection)."""
    inputs = {
        "format": CACHE_FORMAT,
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "chat_template": json_sha256(tokenizer.chat_template),
        "data": {
            split: file_sha256(p) for split, p in sorted(dataset.listed_splits(SPLITS).items())
        },
        "prompt_style": dataset.prompt_style.model_dump(),
        "max_length": max_length,
    }
    if examples is not None:  # (PromptStyle with k > 0, Retriever)
        style, retriever = examples
        identity = {k: v for k, v in (style.index or {}).items() if k != "path"}
        inputs["examples"] = {
            "k": style.num_examples, "max_words": style.example_max_words, "index": identity,
            "index_rows": len(retriever), "additions": retriever.meta.additions,
        }  # fmt: skip
    return json_sha256(inputs)[:24], inputs


def default_cache_root() -> Path:
    env = os.environ.get("RADLLAMA_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "radllama"
    return base / "tokenized"


def load_tokenized(
    dataset: DataDir,
    tokenizer,
    max_length: int,
    cache_root: str | Path | None = None,
    num_proc: int | None = None,
    examples=None,
) -> TokenizedData:
    """Tokenised splits from the cache, building (and saving) them on a miss.

    Under several processes the main process builds the entry first and the others load it.
    `examples`: (PromptStyle with num_examples > 0, radllama.retrieval.Retriever) or None.
    """
    from accelerate import PartialState
    from datasets import load_from_disk

    key, inputs = cache_key(tokenizer, dataset, max_length, examples)
    entry = Path(cache_root) if cache_root else default_cache_root()
    entry = entry / key
    hit = (entry / TokenizedCacheMeta.FILE_NAME).is_file()
    with PartialState().main_process_first():
        if not (entry / TokenizedCacheMeta.FILE_NAME).is_file():
            _build_entry(dataset, tokenizer, max_length, entry, inputs, num_proc, examples)
    meta = TokenizedCacheMeta.read(entry / TokenizedCacheMeta.FILE_NAME)
    splits = {s: load_from_disk(str(entry / s)) for s in meta.splits}
    return TokenizedData(splits["train"], splits.get("eval"), hit, entry, meta.stats)


def _build_entry(
    dataset, tokenizer, max_length, entry: Path, inputs, num_proc, examples=None
) -> None:
    tmp = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    stats: dict[str, dict[str, Any]] = {}
    for split, path in dataset.listed_splits(SPLITS).items():
        shown = None
        if examples is not None:
            path, shown = with_examples(path, split == "train", *examples, tmp / "_work")
        tokenized, stats[split] = tokenize_split(
            path, tokenizer, max_length, dataset.prompt_style, tmp / "_work", num_proc
        )
        if shown is not None:
            stats[split]["examples"] = shown
        tokenized.save_to_disk(str(tmp / split))
    shutil.rmtree(tmp / "_work", ignore_errors=True)
    TokenizedCacheMeta(key_inputs=inputs, splits=list(stats), stats=stats).write(
        tmp / TokenizedCacheMeta.FILE_NAME
    )
    entry.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(entry)
    except OSError:  # another process won the race; its entry is identical
        shutil.rmtree(tmp, ignore_errors=True)


def with_examples(path: Path, training: bool, style, retriever, work_dir: Path, chunk=8192):
    """Copy of a split file whose messages are rebuilt by `style.row_messages` with k
    retrieved examples (the row's own instruction and completion are kept).

    Returns (new path, counts: rows, examples shown, rows that got fewer than k). Rows are
    searched `chunk` at a time, each chunk one matrix search.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    out = work_dir / f"{path.stem}.examples.jsonl"
    counts = {"rows": 0, "examples": 0, "fewer_than_k": 0, "k": style.num_examples}
    with out.open("w", encoding="utf-8") as handle:
        batch: list[dict[str, Any]] = []
        for row in itertools.chain(iter_split_rows(path), [None]):  # None: flush the last batch
            if row is not None:
                batch.append(row)
            if batch and (row is None or len(batch) == chunk):
                found = retriever.search(batch, style.num_examples, training=training)
                for item, neighbours in zip(batch, found, strict=True):
                    item = {**item, "messages": _messages_with(item, neighbours, style)}
                    handle.write(json.dumps(item, ensure_ascii=False) + "\n")
                    counts["rows"] += 1
                    counts["examples"] += len(neighbours)
                    counts["fewer_than_k"] += len(neighbours) < style.num_examples
                batch = []
    return out, counts


def _messages_with(row: dict[str, Any], neighbours, style: PromptStyle) -> list[dict]:
    from radllama.core.prompts import INSTRUCTIONS

    completion = row.get("completion")
    if completion is None:
        completion = conversation(row, style)[1][0]["content"]
    index = row.get("instruction_index")
    instruction = INSTRUCTIONS[index] if isinstance(index, int) else None
    return style.row_messages(
        row, instruction=instruction, completion=completion, examples=neighbours
    )


def tokenize_split(
    path: Path, tokenizer, max_length: int, style: PromptStyle, work_dir: Path, num_proc=None
):
    """One split file -> (Dataset[input_ids, completion_mask], stats with drop reasons)."""
    from datasets import Dataset

    def rows(source: str, digest: str):  # digest: part of the datasets fingerprint
        for row in iter_split_rows(Path(source)):
            prompt, completion = conversation(row, style)
            yield {
                "prompt": prompt,
                "completion": completion,
                "modality": row.get("modality") or "unknown",
            }

    raw = Dataset.from_generator(
        rows, gen_kwargs={"source": str(path), "digest": file_sha256(path)}, cache_dir=str(work_dir)
    )

    def encode(example):
        encoded = tokenize_pair(tokenizer, example["prompt"], example["completion"])
        n_tokens, n_completion = len(encoded["input_ids"]), sum(encoded["completion_mask"])
        reason = "no_completion_tokens" if n_completion == 0 else ""
        reason = "longer_than_max_length" if n_tokens > max_length else reason
        return {
            **encoded,
            "n_tokens": n_tokens,
            "n_completion": n_completion,
            "drop_reason": reason,
        }

    encoded = raw.map(
        encode,
        remove_columns=["prompt", "completion"],
        num_proc=num_proc,
        desc=f"Tokenising {path.name}",
    )
    kept = encoded.filter(lambda r: r["drop_reason"] == "", num_proc=num_proc)
    stats = _split_stats(encoded, kept)
    if not len(kept):
        raise DataError(
            f"{path}: all {len(encoded)} rows were dropped ({stats['dropped']}); "
            f"raise max_length (now {max_length}) or check the data"
        )
    return kept.select_columns(["input_ids", "completion_mask"]), stats


def _split_stats(encoded, kept) -> dict[str, Any]:
    """Row/token counts, drops per reason and modality counts, computed in Arrow (no Python lists)."""
    import pyarrow.compute as pc

    def column(ds, name):
        return ds.with_format("arrow")[name]

    def counts(ds, name) -> dict[str, int]:
        pairs = pc.value_counts(column(ds, name)).to_pylist() if len(ds) else []
        return dict(sorted((p["values"], p["counts"]) for p in pairs))

    def total(name) -> int:
        return int(pc.sum(column(kept, name)).as_py() or 0) if len(kept) else 0

    return {
        "rows": len(encoded),
        "kept": len(kept),
        "dropped": {reason: n for reason, n in counts(encoded, "drop_reason").items() if reason},
        "tokens": total("n_tokens"),
        "completion_tokens": total("n_completion"),
        "max_tokens": int(pc.max(column(kept, "n_tokens")).as_py() or 0) if len(kept) else 0,
        "modality_counts": counts(kept, "modality"),
    }
