"""Wiring an index into a prompt style: which index, how many examples, checked once at load.

Training, `generate`, `serve` and `impress` all call `attach_retrieval` with the run's saved
`PromptStyle` (and the user's --index / --num-examples), then `examples_for` per batch, so
the prompt a model sees at inference is built exactly as in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radllama.core.errors import ConfigError
from radllama.core.prompts import Example, PromptStyle
from radllama.retrieval.index import Neighbour, Retriever


def attach_retrieval(
    style: PromptStyle, index: str | Path | None = None, num_examples: int | None = None
) -> tuple[PromptStyle, Retriever | None]:
    """(style with k and the index identity, loaded retriever or None when k = 0).

    A run trained with examples records its index identity; the index found must match it
    (same encoder, same dataset), else a one-line ConfigError. A bare model (zero-shot) given
    --num-examples takes the index as it is and records its identity.
    """
    k = style.num_examples if num_examples is None else num_examples
    if k < 0:
        raise ConfigError(f"--num-examples must be >= 0 (got {k})")
    if k == 0:
        return style.model_copy(update={"num_examples": 0}), None
    recorded = style.index or {}
    path = index or recorded.get("path")
    if path is None:
        raise ConfigError(
            f"{k} retrieved examples per prompt need an index; build one with `radllama index "
            "DATA_DIR` and pass --index DATA_DIR"
        )
    expect = recorded if style.num_examples > 0 and recorded.get("encoder_sha256") else None
    retriever = Retriever.load(path, expect=expect)
    if k > len(retriever):
        raise ConfigError(
            f"k={k} examples but the index at {retriever.folder} holds {len(retriever)} reports; "
            "lower --num-examples or index more reports"
        )
    identity = {**retriever.identity, "path": str(retriever.folder.resolve())}
    return style.model_copy(update={"num_examples": k, "index": identity}), retriever


def examples_for(
    retriever: Retriever | None, style: PromptStyle, rows: list[dict[str, Any]], training=False
) -> list[list[Neighbour]]:
    """Neighbours for a batch of rows (one matrix search); [] per row when k = 0."""
    if retriever is None or style.num_examples == 0:
        return [[] for _ in rows]
    return retriever.search(rows, style.num_examples, training=training)


def as_examples(neighbours: list[Neighbour]) -> list[Example]:
    return [n.example() for n in neighbours]
