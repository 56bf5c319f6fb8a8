"""The learned second opinion: a token classifier whose PHI spans are redacted together with
the rules' spans (the union), so a name the rules miss is still masked.

The model is a Hugging Face token-classification directory trained by `radllama deid-train`
(`radllama.training.ner`): a BERT-style encoder (by default the shipped MiniLM) with one BIO
label per coarse PHI type (`NER_TYPES`). Fine types map onto them (MRN, SSN, device IDs -> ID;
FAX -> PHONE); a span the model finds takes the coarse type. Loading is safe by construction:
local files only (never the hub), no ``trust_remote_code``, weights from ``model.safetensors``
only (no pickle), and a model whose labels are not `bio_labels()` is refused with one line.

Decoding, pinned by hand (``^`` marks tokens the model calls PHI)::

    "Seen by Nguyen Van An today"      wordpieces: seen by ng ##uy ##en van an today
                ^^^^^^^^^^^^^                              ^^  ^^^^ ^^^^ ^^^ ^^
    -> one NAME span "Nguyen Van An": tokens of one type join across a gap of at most
       three characters without a line break, and every span grows to whole words
       (a tagged "##uy" never leaves "Ng" or "en" behind).

>>> bio_labels()[:5]
['O', 'B-NAME', 'I-NAME', 'B-DATE', 'I-DATE']
>>> coarse_type("MRN"), coarse_type("FAX"), coarse_type("STATE")
('ID', 'PHONE', None)
>>> text = "Seen by Nguyen Van An today"
>>> tokens = [(8, 10, "NAME", True), (10, 12, "NAME", False), (12, 14, "NAME", False),
...           (15, 18, "NAME", False), (19, 21, "NAME", False)]
>>> [text[s:e] for s, e, _ in decode_tokens(text, tokens)]
['Nguyen Van An']
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radllama.core.errors import ConfigError
from radllama.deid.config import PHI_TYPES
from radllama.deid.spans import Span, merge_spans

# Fine types (ours and the broad set's) -> the coarse type the model learns; None: not PHI.
_COARSE = {"MRN": "ID", "ACCESSION": "ID", "SSN": "ID", "DEVICE": "ID", "FAX": "PHONE"}
# Coarse PHI types the model predicts, in label order (B-/I- each, after "O"): the de-identifier's
# types less those folded into another (a saved model's label set is checked against this).
NER_TYPES: tuple[str, ...] = tuple(t for t in PHI_TYPES if t not in _COARSE)
_NOT_PHI = frozenset({"STATE"})  # Safe Harbor keeps the state
META_FILE = "radllama_ner.json"  # training record beside the weights
WEIGHTS_FILE = "model.safetensors"
_JOIN_GAP = re.compile(r"[ \t,.'^/&-]{0,3}")  # what may sit between two tokens of one span


def bio_labels() -> list[str]:
    """The label set every radllama NER model has: 'O', then B-/I- per `NER_TYPES`."""
    return ["O"] + [f"{tag}-{kind}" for kind in NER_TYPES for tag in ("B", "I")]


def coarse_type(kind: str) -> str | None:
    """The model's type for a fine PHI type; None for types that are not PHI (STATE)."""
    if kind in _NOT_PHI:
        return None
    kind = _COARSE.get(kind, kind)
    return kind if kind in NER_TYPES else "ID"


def model_fingerprint(model_dir: str | Path) -> str:
    """sha256 of the files that decide the model's output (weights, config, tokenizer)."""
    folder = Path(model_dir)
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, "config.json", "tokenizer.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\x00")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def check_model_dir(model_dir: str | Path) -> dict[str, Any]:
    """The model's config.json, after checking the folder is a radllama NER model (no torch).

    Every problem is a one-line ConfigError naming the fix (exit 2 on the command line)."""
    folder = Path(model_dir)
    retrain = "train one with `radllama deid-train --out DIR` and pass --ner DIR"
    if not folder.is_dir():
        raise ConfigError(f"--ner {folder}: no such model directory; {retrain}")
    for name in ("config.json", WEIGHTS_FILE, "tokenizer.json"):
        if not (folder / name).is_file():
            raise ConfigError(
                f"--ner {folder}: no {name} there (a token-classification model saved as "
                f"safetensors with a fast tokenizer is needed); {retrain}"
            )
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"--ner {folder}: config.json is not readable JSON ({error})") from None
    id2label = config.get("id2label") if isinstance(config, dict) else None
    labels = [id2label.get(str(i)) for i in range(len(id2label))] if id2label else []
    if labels != bio_labels():
        shown = ", ".join(str(label) for label in labels[:6]) or "none"
        raise ConfigError(
            f"--ner {folder}: the model's labels ({shown}{', ...' if len(labels) > 6 else ''}) "
            f"are not radllama's BIO set over {', '.join(NER_TYPES)}; {retrain}"
        )
    return dict(config)


def decode_tokens(text: str, tokens: Sequence[tuple[int, int, str, bool]]) -> list[Span]:
    """Character spans from PHI tokens ``(start, end, type, begins)`` in text order.

    A token joins the span before it when both have the same type, it does not begin a new
    entity (``begins`` False: the model said I- rather than B-) or touches it, and the gap
    is at most three characters of space or name punctuation; spans then grow to whole words.
    """
    spans: list[list[Any]] = []
    for start, end, kind, begins in tokens:
        if spans:
            last = spans[-1]
            gap = text[last[1] : start]
            if last[2] == kind and (gap == "" or (not begins and _JOIN_GAP.fullmatch(gap))):
                last[1] = max(last[1], end)
                continue
        spans.append([start, end, kind])
    out: list[Span] = []
    for start, end, kind in spans:
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        out.append(Span(start, end, kind))
    return merge_spans(out) if len(out) > 1 else out


def union_spans(rules: list[Span], model: list[Span]) -> tuple[list[Span], Counter[str]]:
    """Rules' spans plus the model's, merged; also counts, per type, the model spans that no
    single rule span contains (what the second opinion added to the redaction).

    >>> union_spans([Span(0, 5, "NAME")], [Span(0, 5, "NAME"), Span(10, 14, "CITY")])
    ([Span(start=0, end=5, kind='NAME'), Span(start=10, end=14, kind='CITY')], Counter({'CITY': 1}))
    """
    added: Counter[str] = Counter()
    if not model:
        return rules, added
    for start, end, kind in model:
        if not any(r_start <= start and end <= r_end for r_start, r_end, _ in rules):
            added[kind] += 1
    if not added:
        return rules, added
    return merge_spans([*rules, *model]), added


DEFAULT_THRESHOLD = 0.5  # for a model saved without one (nothing held out in training)


def saved_threshold(model_dir: str | Path, threshold: float | None = None) -> float:
    """`threshold`, else the one in the model's ``radllama_ner.json``, else the default."""
    if threshold is not None:
        return float(threshold)
    try:
        meta = json.loads((Path(model_dir) / META_FILE).read_text())
    except (OSError, ValueError):
        return DEFAULT_THRESHOLD
    return float(meta.get("threshold", DEFAULT_THRESHOLD)) if isinstance(meta, dict) else 0.5


class NerTagger:
    """A loaded NER model: `find_many(texts)` -> PHI spans per text (batched windows).

    Long texts are cut into windows of `max_length` tokens that overlap by `stride`; a token
    is PHI when the model gives it P(not O) >= `threshold`, typed by the PHI type with the
    highest B+I probability. Windows are sorted by length and run `batch_size` at a time.
    `threshold` None: the one saved with the model (``radllama_ner.json``, chosen by
    `radllama deid-train` on held-out records), else `DEFAULT_THRESHOLD`.
    """

    def __init__(
        self,
        model_dir: str | Path,
        threshold: float | None = None,
        batch_size: int = 32,
        device: str = "auto",
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        config = check_model_dir(model_dir)
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        if threads:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(
            self.model_dir, local_files_only=True, trust_remote_code=False
        )
        if not self.tokenizer.is_fast:  # offsets need a Rust tokenizer
            raise ConfigError(f"--ner {model_dir}: the tokenizer is not a fast tokenizer; retrain")
        self.model = AutoModelForTokenClassification.from_pretrained(
            self.model_dir, use_safetensors=True, local_files_only=True, trust_remote_code=False
        )
        self.model.to(self.device).eval()
        meta_path = self.model_dir / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        self.threshold = saved_threshold(self.model_dir, threshold)
        limit = int(config.get("max_position_embeddings", 512))
        self.max_length = min(int(meta.get("max_length", 256)), limit)
        self.stride = min(int(meta.get("stride", 32)), self.max_length // 4)

    def find_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """PHI spans per text, sorted and merged; empty texts give no spans."""
        return self.decode(texts, self.token_scores(texts), self.threshold)

    def token_scores(self, texts: Sequence[str]) -> list[list[tuple[int, int, float, str, bool]]]:
        """Per text, every token the model ran on: (start, end, P(not O), likeliest PHI type,
        B rather than I), in text order (tokens of overlapping windows may come twice)."""
        import torch

        if not texts:  # a chunk whose rows were all dropped before de-identification
            return []

        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        windows = encoded["input_ids"]
        owner = encoded["overflow_to_sample_mapping"]
        per_text: list[list[tuple[int, int, float, str, bool]]] = [[] for _ in texts]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        n_types = len(NER_TYPES)
        with torch.inference_mode():
            for first in range(0, len(order), self.batch_size):
                batch = order[first : first + self.batch_size]
                padded = self.tokenizer.pad(
                    {"input_ids": [windows[i] for i in batch]}, return_tensors="pt"
                )
                logits = self.model(
                    input_ids=padded["input_ids"].to(self.device),
                    attention_mask=padded["attention_mask"].to(self.device),
                ).logits.float()
                probs = logits.softmax(-1).cpu()  # (windows, tokens, 1 + 2 * types)
                phi = (1.0 - probs[..., 0]).tolist()
                pairs = probs[..., 1:].reshape(*probs.shape[:2], n_types, 2)
                kinds = pairs.sum(-1).argmax(-1)  # (windows, tokens)
                begins = (pairs[..., 0] >= pairs[..., 1]).gather(-1, kinds[..., None])[..., 0]
                kinds_list, begins_list = kinds.tolist(), begins.tolist()
                for row, window in enumerate(batch):
                    special = encoded["special_tokens_mask"][window]
                    offsets = encoded["offset_mapping"][window]
                    tokens = per_text[owner[window]]
                    for token, ((start, end), is_special) in enumerate(
                        zip(offsets, special, strict=True)
                    ):
                        if is_special or end <= start:
                            continue
                        tokens.append(
                            (
                                start,
                                end,
                                phi[row][token],
                                NER_TYPES[kinds_list[row][token]],
                                bool(begins_list[row][token]),
                            )
                        )
        for tokens in per_text:
            tokens.sort()
        return per_text

    @staticmethod
    def decode(
        texts: Sequence[str],
        scores: list[list[tuple[int, int, float, str, bool]]],
        threshold: float,
    ) -> list[list[Span]]:
        """Spans per text from `token_scores` at `threshold` (one model pass, any threshold)."""
        out: list[list[Span]] = []
        for text, tokens in zip(texts, scores, strict=True):
            hits: list[tuple[int, int, str, bool]] = []
            for start, end, phi, kind, begins in tokens:
                if phi >= threshold and not (hits and hits[-1][:2] == (start, end)):
                    hits.append((start, end, kind, begins))
            out.append(decode_tokens(text, hits) if hits else [])
        return out
