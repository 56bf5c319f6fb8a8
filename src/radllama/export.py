"""Merge a LoRA / QLoRA run into a standalone 16-bit model (for vLLM, TGI or llama.cpp).

The quality-preserving way (PEFT / QLoRA authors): reload the base *unquantised* in 16-bit,
apply the adapter, `merge_and_unload`. Merging into the 4-bit weights would round the update
into the NF4 grid. The run directory itself is untouched and its standard PEFT files stay
loadable by `vllm serve BASE --enable-lora --lora-modules NAME=RUN_DIR`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from radllama.artifacts import RUN_FILE, RunRecord
from radllama.errors import ConfigError
from radllama.provenance import utc_now

ADAPTER_FILE = "adapter_config.json"
DTYPES = ("bfloat16", "float16", "float32")


def read_run(run_dir: Path) -> RunRecord:
    if not (run_dir / RUN_FILE).is_file():
        raise ConfigError(
            f"{run_dir} has no {RUN_FILE}; pass a RUN_DIR written by `radllama train`"
        )
    return RunRecord.read(run_dir)


def export_merged(run_dir: str | Path, out_dir: str | Path, dtype: str = "bfloat16") -> Path:
    """Adapter run -> merged model directory (weights + tokenizer + run file). Returns out_dir."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    run = read_run(run_dir)
    if not (run_dir / ADAPTER_FILE).is_file():
        raise ConfigError(
            f"{run_dir} is a {run.method} fine-tune without an adapter: it already is "
            "a standalone model; serve or copy RUN_DIR itself"
        )
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)} (got {dtype})")
    if out_dir.resolve() == run_dir.resolve():
        raise ConfigError("--out must differ from RUN_DIR (the adapter run stays as it is)")
    base = _base_model(run, run_dir)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=getattr(torch, dtype))
    merged = PeftModel.from_pretrained(model, str(run_dir)).merge_and_unload()
    merged.config.use_cache = True  # training turned it off; generation wants it
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(run_dir).save_pretrained(out_dir)
    for name in ("README.md",):
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, out_dir / name)
    # The merged directory is a plain full-weight model: loaders must not quantise it or look
    # for an adapter, so method becomes "full" and the provenance moves under "export".
    export = {
        "merged_from_run": str(run_dir.resolve()),
        "merged_from_method": run.method,
        "base_model": base,
        "dtype": dtype,
        "created": utc_now(),
    }
    run.model_copy(update={"method": "full", "quantization": None, "export": export}).write(
        out_dir / RUN_FILE
    )
    return out_dir


def _base_model(run: RunRecord, run_dir: Path) -> str:
    adapter = json.loads((run_dir / ADAPTER_FILE).read_text())
    for candidate in (run.base_model, adapter.get("base_model_name_or_path")):
        if candidate and (Path(candidate) / "config.json").is_file():
            return candidate
    raise ConfigError(
        f"base model {run.base_model!r} of {run_dir} is not a local model directory; "
        f"put the base there or fix base_model in {RUN_FILE}"
    )
