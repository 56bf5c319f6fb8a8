"""De-identification settings and the identifier types with their placeholders."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from radllama.core.config import StrictModel

PhiType = Literal[
    "NAME",
    "DATE",
    "TIME",
    "AGE",
    "MRN",
    "ACCESSION",
    "SSN",
    "ID",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "ADDRESS",
    "ZIP",
    "CITY",
    "HOSPITAL",
]
PHI_TYPES: tuple[str, ...] = get_args(PhiType)  # the type names, in this order
PLACEHOLDERS: dict[str, str] = {
    "NAME": "[NAME]",
    "DATE": "[DATE]",
    "TIME": "[TIME]",
    "AGE": "[AGE]",
    "MRN": "[ID]",
    "ACCESSION": "[ID]",
    "SSN": "[ID]",
    "ID": "[ID]",
    "PHONE": "[PHONE]",
    "FAX": "[PHONE]",
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "IP": "[IP]",
    "ADDRESS": "[ADDRESS]",
    "ZIP": "[ZIP]",
    "CITY": "[CITY]",
    "HOSPITAL": "[HOSPITAL]",
}


class DeidConfig(StrictModel):
    """De-identification settings (the `deid:` block of a prepare config)."""

    mode: Literal["placeholder", "surrogate"] = Field(
        "placeholder",
        description="placeholder: typed tags such as [NAME], [DATE]; surrogate: consistent fake "
        "values (same original -> same surrogate, dates shifted by a fixed offset, year kept).",
    )
    surrogate_seed: int = Field(
        0, description="Seed of the surrogate values and of the date shift (surrogate mode)."
    )
    audit_sample_size: int = Field(
        50, ge=0, description="Redactions shown with context in the audit for human review."
    )
    keep_types: list[PhiType] = Field(
        default_factory=list,
        description="Identifier types to leave in the text (e.g. DATE under a data use "
        "agreement that allows dates). Empty = remove every Safe Harbor type.",
    )
    extra_allow_terms: list[str] = Field(
        default_factory=list,
        description="Site-specific words that are never names (local eponyms, device brands), "
        "added to the built-in clinical allow-list; matched case-insensitively.",
    )
    audit_context_chars: int = Field(
        40, ge=0, description="Characters of context on each side of an audited redaction."
    )
    ner: Path | None = Field(
        None,
        description="Token-classification model directory from `radllama deid-train`: its PHI "
        "spans are redacted together with the rules' (the union); the audit counts what only "
        "the model found. Costs a transformer forward pass per 256 tokens (see RESULTS.md).",
    )
    ner_threshold: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="--ner: a token is PHI when the model gives it P(not O) >= this; lower "
        "redacts more (recall up, clinical text kept down). Unset: the threshold saved with "
        "the model (chosen by deid-train on held-out records), else 0.5.",
    )
    ner_batch_size: int = Field(32, ge=1, description="--ner: token windows per forward pass.")
    ner_device: str = Field(
        "auto", description="--ner: torch device of the model (auto: cuda if available, else cpu)."
    )
