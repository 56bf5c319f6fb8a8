"""Stable 64-bit hashes shared by the data stages (filters, split, prepare).

Ground floor: numpy and hashlib only. The same input gives the same hash in every process
and on every run (unlike Python's `hash`), which is what makes duplicates, patient splits and
instruction draws independent of chunking and worker count.

>>> int(splitmix64(np.array([0], dtype=np.uint64))[0])
16294208416658607535
>>> text_hash("No acute process.") == text_hash("No acute process.")
True
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised: well-mixed uint64 from uint64 (wraps mod 2**64)."""
    z = values.astype(np.uint64, copy=True)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))) & _MASK64


def text_hash(text: str) -> int:
    """Stable 64-bit hash of one text (the same in every process, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
