"""`radllama prepare`: the DATA_DIR manifest (config fingerprint, counts, histograms, de-id
section, output hashes) built from the passes' results.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from radllama import __version__
from radllama.core.artifacts import (
    DataManifest,
    DeidCounts,
    DeidSection,
)
from radllama.core.provenance import (
    json_sha256,
    package_versions,
    utc_now,
)
from radllama.data.filters import (
    DROP_REASONS,
)
from radllama.data.ingest import (
    resolve_format,
)
from radllama.data.passes import PassOne
from radllama.data.prepare_config import (
    PrepareConfig,
    prompt_style,
)
from radllama.data.split import SPLIT_NAMES, leakage_report

# ---- manifest ---------------------------------------------------------------------------------


_NOT_HASHED = {"out", "workers", "audit", "audit_original_context"}


def config_hash(config: PrepareConfig) -> str:
    """Hash of everything in the config that can change DATA_DIR (not where things go, the
    worker count or the audit, which lives outside DATA_DIR)."""
    hashed = {
        "config": config.model_dump(mode="json", exclude=_NOT_HASHED),
        "version": __version__,
    }
    if config.deid.ner is not None:  # a retrained model in the same folder changes the output
        from radllama.deid.ner import model_fingerprint

        hashed["ner_model"] = model_fingerprint(config.deid.ner)
    return json_sha256(hashed)


def _histograms(pass_one: PassOne, codes: np.ndarray) -> dict[str, dict[str, int]]:
    counts = np.bincount(pass_one.label_codes[codes >= 0], minlength=len(pass_one.labels))
    modality: Counter = Counter()
    region: Counter = Counter()
    both: dict[str, int] = {}
    for label, count in zip(pass_one.labels, counts.tolist(), strict=True):
        if count:
            mod, reg = label.split("\t")
            modality[mod] += count
            region[reg] += count
            both[f"{mod} / {reg}"] = count
    return {
        "modality": dict(modality.most_common()),
        "body_region": dict(region.most_common()),
        "modality_region": dict(sorted(both.items(), key=lambda item: -item[1])),
    }


def deid_section(
    config: PrepareConfig, audit: Any, written: dict[str, Any] | None = None
) -> DeidSection:
    """The manifest's record of de-identification (every text goes through it); `written`:
    where the audit file went (outside DATA_DIR), its sha256 and whether it shows context."""
    report = audit.to_json() if audit is not None else None
    counts = None
    if isinstance(report, dict):
        counts = DeidCounts(
            total_redactions=report["total_redactions"],
            reports_with_phi=report["reports_with_phi"],
            reports_seen=report["reports_seen"],
            by_type={kind: n for kind, n in report["counts_by_type"].items() if n},
        )
    extra: dict[str, Any] = {}
    if config.deid.ner is not None:  # the learned second opinion and what it added
        from radllama.deid.ner import model_fingerprint, saved_threshold

        extra["ner"] = {
            "model": str(config.deid.ner.resolve()),
            "sha256": model_fingerprint(config.deid.ner),
            "threshold": saved_threshold(config.deid.ner, config.deid.ner_threshold),
            "added_total": report.get("ner_added_total", 0) if isinstance(report, dict) else 0,
            "added_by_type": report.get("ner_added_by_type", {})
            if isinstance(report, dict)
            else {},
        }
    return DeidSection(
        enabled=True,
        mode=config.deid.mode,
        kept_types=[str(kind) for kind in config.deid.keep_types],
        counts=counts,
        audit=written,
        **extra,
    )


def build_manifest(
    config: PrepareConfig,
    pass_one: PassOne,
    codes: np.ndarray,
    outputs: dict[str, dict],
    audit: dict[str, Any] | None = None,
) -> DataManifest:
    """The manifest; checks that every input row is kept or dropped with a reason. `audit`
    says where the de-identification audit went (it lives outside DATA_DIR)."""
    dropped = Counter(pass_one.dropped)
    dropped["duplicate"] = int(np.count_nonzero(codes < 0))
    splits = {name: int(np.count_nonzero(codes == i)) for i, name in enumerate(SPLIT_NAMES)}
    kept = sum(splits.values())
    if pass_one.input_rows != kept + sum(dropped.values()):  # a bug, never bad input
        raise RuntimeError(
            f"row accounting broken: {pass_one.input_rows} != {kept} + {dict(dropped)}"
        )
    kept_mask = codes >= 0
    section_counts = dict(pass_one.sections)
    return DataManifest(
        radllama_version=__version__,
        created_at=utc_now(),
        config_hash=config_hash(config),
        fingerprint=json_sha256([config_hash(config), pass_one.input_sha256]),
        config=config.model_dump(mode="json"),
        input={
            "path": str(config.input),
            "format": resolve_format(config.input, config.ingest),
            "sha256": pass_one.input_sha256,
        },
        counts={
            "input_rows": pass_one.input_rows,
            "kept": kept,
            "dropped": {reason: dropped.get(reason, 0) for reason in DROP_REASONS},
            "splits": splits,
            "stages": {
                "ingest": {
                    "rows": pass_one.input_rows,
                    "malformed": pass_one.malformed_count,
                    "blank_lines_skipped": pass_one.blank_lines,
                },
                "sections": section_counts,
                "filters": {"kept": len(codes)},
                "dedup": {"kept": kept},
                "split": splits,
            },
        },
        malformed_rows={
            "count": pass_one.malformed_count,
            "listed": [{"row": row, "reason": reason} for row, reason in pass_one.malformed],
            "listed_cap": config.max_listed_malformed,
        },
        histogram=_histograms(pass_one, codes),
        leakage=leakage_report(
            pass_one.findings_hashes[kept_mask], pass_one.group_keys[kept_mask], codes[kept_mask]
        ),
        prompt_style=prompt_style(config),
        deid=deid_section(config, pass_one.audit, audit),
        prepend_probability=config.prompt.prepend_probability,
        seed=config.seed,
        package_versions=package_versions(("radllama", "numpy", "pandas", "pyarrow", "pydantic")),
        outputs=outputs,
        data_hash=json_sha256({name: meta["sha256"] for name, meta in outputs.items()}),
    )
