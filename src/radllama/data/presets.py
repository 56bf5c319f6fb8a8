"""Dataset presets: the `IngestConfig` fields of one export layout (MGH-like CSV, the IU
X-ray CSV, Open-i JSONL, a MIMIC-CXR folder), in one `Registry`. `--preset NAME` starts from
one; keys under `ingest:` in a prepare config replace its values.
"""

from __future__ import annotations

import json
from typing import Any

from radllama.core.config import validate_config
from radllama.core.registry import Registry
from radllama.data.ingest import IngestConfig


def _check_preset(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    validate_config(IngestConfig, settings, source=f"preset {name!r}")
    return json.loads(json.dumps(settings))  # a private copy


PRESETS: Registry[dict[str, Any]] = Registry(
    "preset", group="radllama.presets", check=_check_preset
)
_BUILT_IN_PRESETS: dict[str, dict[str, Any]] = {
    # The synthetic / MGH-like export written by `radllama synth`.
    "mgh": {
        "columns": {
            "text": "report_text",
            "exam_code": "exam_code",
            "exam_description": "exam_description",
            "patient_id": "patient_id",
            "report_id": "report_id",
            "report_date": "report_date",
        }
    },
    # ../shared/data/iu_xray/indiana_reports_dev.csv: separate columns, `image` describes the exam.
    "iu-xray": {
        "format": "csv",
        "columns": {
            "findings": "findings",
            "impression": "impression",
            "exam_description": "image",
            "report_id": "uid",
        },
        "modality": "XR",
        "body_region": "chest",
    },
    # ../shared/data/openi/*.jsonl: {"idx", "inputs": findings, "target": impression}; no exam.
    "openi": {
        "format": "jsonl",
        "columns": {"findings": "inputs", "impression": "target", "report_id": "idx"},
        "modality": "XR",
        "body_region": "chest",
    },
    # A MIMIC-CXR `files/` folder: p10/p10000032/s50414267.txt (patient folder, study file).
    "mimic-cxr": {
        "format": "mimic-cxr",
        "columns": {"text": "text", "report_id": "report_id", "patient_id": "patient_id"},
        "modality": "XR",
        "body_region": "chest",
    },
}

for _name, _settings in _BUILT_IN_PRESETS.items():
    PRESETS.register(_name, _settings)


def register_preset(name: str, settings: dict[str, Any]) -> None:
    """Add (or replace) a dataset preset: `IngestConfig` fields for one export layout.

    Checked now, so a bad preset fails where it is registered, not in a later `prepare`:

    >>> register_preset("my-site", {"format": "csv", "columns": {"text": "REPORT"}})
    >>> preset_ingest("my-site")["columns"]
    {'text': 'REPORT'}
    >>> del PRESETS["my-site"]
    """
    PRESETS.register(name, settings)


def preset_ingest(name: str) -> dict[str, Any]:
    """The ingest settings of a preset (a copy); unknown names list the presets."""
    return json.loads(json.dumps(PRESETS.lookup(name)))
