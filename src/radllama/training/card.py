"""Hugging Face style model card (README.md) for a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LIMITATION = (
    "This model is an assistant, not a radiologist. It drafts the IMPRESSION from the exam and "
    "FINDINGS it is given and can omit key findings or state conclusions the findings do not "
    "support. **A radiologist must review and, where needed, correct every impression before it "
    "is used for patient care.**"
)


def deid_totals(data_dir: str | Path) -> dict[str, int] | None:
    """Redactions per identifier type (non-zero ones), plus their total under "total", from
    the manifest's `deid.counts` (the audit file itself lives outside DATA_DIR: it holds
    PHI) or an older DATA_DIR/deid_audit.json; None when the dataset records neither."""
    from radllama.core.artifacts import ArtifactError, DataManifest

    try:
        manifest = DataManifest.read_optional(data_dir)
    except ArtifactError:
        manifest = None
    counts = manifest.deid.counts if manifest is not None and manifest.deid else None
    if counts is not None:
        return {
            **{kind: n for kind, n in counts.by_type.items() if n},
            "total": counts.total_redactions,
        }
    path = Path(data_dir) / "deid_audit.json"
    try:
        audit = json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        audit = None
    if not isinstance(audit, dict):
        return None
    for key in ("counts_by_type", "totals", "counts", "by_type"):
        counts = audit.get(key)
        if isinstance(counts, dict) and all(isinstance(v, int) for v in counts.values()):
            totals = {name: n for name, n in counts.items() if n}
            totals["total"] = int(audit.get("total_redactions", sum(counts.values())))
            return totals
    return None


def _table(rows: dict[str, Any]) -> str:
    lines = ["| key | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def model_card(record: dict[str, Any]) -> str:
    """Markdown card from a run record (`radllama_run.json` contents)."""
    data = record.get("data", {})
    train_stats = data.get("stats", {}).get("train", {})
    modality = train_stats.get("modality_counts") or {}
    deid = data.get("deid_audit_totals")
    adapter = record["method"] in ("lora", "qlora")
    usage = (
        "Load the base model and this PEFT adapter (`PeftModel.from_pretrained(base, RUN_DIR)`), "
        "serve it with `vllm serve BASE --enable-lora --lora-modules radllama=RUN_DIR`, or merge "
        "it with `radllama export RUN_DIR --merge --out DIR`."
        if adapter
        else "Load with `AutoModelForCausalLM.from_pretrained(RUN_DIR)`."
    )
    sections = [
        "---",
        f"base_model: {record['base_model']}",
        "library_name: " + ("peft" if adapter else "transformers"),
        "tags: [radiology, impression-generation, trl, sft" + (", lora" if adapter else "") + "]",
        "---",
        "# radllama impression writer",
        f"Fine-tuned from `{record['base_model']}` with **{record['method']}** supervised "
        "fine-tuning (TRL SFTTrainer, completion-only loss, packed sequences) to write the "
        "IMPRESSION of a radiology report from its exam code and FINDINGS.",
        "## Intended use",
        "Drafting impressions for radiologist review inside the hospital that trained it; "
        "prompts must use the saved prompt style (`radllama_run.json` -> `prompt_style`, "
        f"instruction set `{record['prompt_style'].get('version')}`). {usage}",
        "## Limitations",
        LIMITATION,
        "## Training data",
        _table(
            {
                "dataset directory": data.get("dir"),
                "data manifest hash": record.get("data_manifest_hash"),
                "train pairs (kept / rows)": f"{train_stats.get('kept')} / {train_stats.get('rows')}",
                "eval pairs": data.get("stats", {}).get("eval", {}).get("kept"),
                "dropped (train)": train_stats.get("dropped") or "none",
            }
        ),
        "Pairs per modality (train): "
        + (", ".join(f"{k}: {v}" for k, v in modality.items()) or "not recorded"),
        "De-identification audit (redactions per type): "
        + (
            ", ".join(f"{k}: {v}" for k, v in deid.items())
            if deid
            else "no audit totals in the dataset"
        ),
        "## Hyperparameters",
        _table({k: _fmt(v) for k, v in record["hyperparameters"].items()}),
        "## Final metrics",
        _table({k: _fmt(v) for k, v in record["final_metrics"].items()}),
        f"Seed {record['seed']}; package versions are in `radllama_run.json`.",
    ]
    return "\n\n".join(sections) + "\n"
