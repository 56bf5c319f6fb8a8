"""A model directory is data, never code: the one check that its JSON names no custom code.

transformers imports a directory's own Python file when ``config.json`` (or
``tokenizer_config.json``) has an ``auto_map`` for a ``model_type`` it does not ship, and when
the caller did not pass ``trust_remote_code`` it *asks on stdin* ("Do you wish to run the
custom code? [y/N]"), so a ``yes |`` in a script runs it. Our own loads pass
``trust_remote_code=False``, but libraries we hand a directory to do not all (bert-score's
``AutoModel.from_pretrained(model_type)``). So every directory is read as JSON here first, by
every stage that loads one (the language model in `radllama.model.loader`, the BERTScore and
retrieval encoders), before any transformers call.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from radllama.core.errors import ConfigError


def builtin_model_types() -> frozenset[str]:
    """Every `model_type` whose code ships inside transformers (any task)."""
    from transformers.models.auto import configuration_auto

    return frozenset(configuration_auto.CONFIG_MAPPING_NAMES)  # type: ignore[attr-defined]


def check_no_custom_code(
    path: Path,
    model_types: Collection[str] | None = None,
    error: type[ConfigError] = ConfigError,
    what: str = "architecture built into transformers",
) -> dict[str, Any]:
    """`path`'s config.json, after checking that nothing in it or in tokenizer_config.json
    asks for the directory's own code: `model_type` in `model_types` (default: every type
    transformers ships) and a `tokenizer_class` that transformers ships. Raises `error`."""
    config = read_json_object(path / "config.json", error)
    model_type = config.get("model_type")
    allowed = builtin_model_types() if model_types is None else model_types
    if not isinstance(model_type, str) or model_type not in allowed:
        raise error(
            f"{path / 'config.json'} has model_type {model_type!r}, which is not a {what} "
            "(e.g. 'llama', 'mistral', 'qwen2', 'bert'); custom model code (auto_map) is never "
            "run: convert the model to a supported architecture"
        )
    tokenizer_config = path / "tokenizer_config.json"
    if tokenizer_config.is_file():
        import transformers

        name = read_json_object(tokenizer_config, error).get("tokenizer_class")
        if name is not None and not (
            isinstance(name, str) and name.isidentifier() and hasattr(transformers, name)
        ):
            raise error(
                f"{tokenizer_config} names tokenizer_class {name!r}, which transformers does not "
                "ship; custom tokenizer code is never run: use a standard tokenizer "
                "(e.g. PreTrainedTokenizerFast)"
            )
    return config


def read_json_object(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A JSON object from `path`, or `error` in one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        raise error(
            f"{path}: cannot read it as JSON ({problem}); re-run the step that wrote it"
        ) from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object; re-run the step that wrote it")
    return data
