"""`radllama prepare` settings: `PrepareConfig` (everything that decides a DATA_DIR's contents)
and `load_prepare_config` (YAML + CLI options + the input layout preset).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from radllama.core import prompts
from radllama.core.artifacts import (
    DEID_AUDIT_FILE,
    MANIFEST_FILE,
)
from radllama.core.config import StrictModel, read_yaml, validate_config
from radllama.core.errors import ConfigError
from radllama.data.filters import (
    FilterConfig,
)
from radllama.data.ingest import (
    IngestConfig,
)
from radllama.data.presets import preset_ingest
from radllama.data.split import SplitConfig
from radllama.deid.engine import DeidConfig

MANIFEST = MANIFEST_FILE
DEID_AUDIT = DEID_AUDIT_FILE  # where radllama before issue 13 put the audit (with PHI)
SPOOL = ".prepare-spool.tmp"
STAGING = ".prepare-staging"  # inside DATA_DIR: same file system, so renames are atomic
LOCK = ".prepare.lock"


class FormatConfig(StrictModel):
    """How a kept pair becomes an instruction row (paper: 20 instructions, 10 prepend phrases)."""

    prepend_probability: float = Field(
        0.3, ge=0.0, le=1.0, description="Chance that the completion starts with a prepend phrase."
    )
    exam_field: Literal["code", "description"] = Field(
        "code",
        description="What the prompt shows as EXAM (the other one is the fallback when empty).",
    )


_DEFAULT_STYLE = prompts.PromptStyle()


class PrepareConfig(StrictModel):
    """Everything that decides the contents of a DATA_DIR (all of it goes into the manifest)."""

    input: Path = Field(
        description="Report export: .csv/.tsv/.json/.jsonl/.parquet file or a folder."
    )
    out: Path = Field(description="Output DATA_DIR.")
    preset: str | None = Field(
        "mgh",
        description="Input layout preset (mgh, iu-xray, openi, mimic-cxr); ingest.* overrides it.",
    )
    output_format: Literal["jsonl", "parquet"] = Field("jsonl", description="Split file format.")
    ingest: IngestConfig = Field(description="Input format and column mapping (from the preset).")
    deid: DeidConfig = Field(default_factory=DeidConfig, description="De-identification settings.")
    filters: FilterConfig = Field(default_factory=FilterConfig, description="Row filters.")
    prompt: FormatConfig = Field(
        default_factory=FormatConfig, description="Instruction formatting."
    )
    split: SplitConfig = Field(default_factory=SplitConfig, description="Test/eval/train split.")
    seed: int = Field(0, description="Seed for instruction/prepend draws and the split.")
    workers: int = Field(
        2, ge=0, description="Worker processes (0 or 1: in-process). Does not change the output."
    )
    max_listed_malformed: int = Field(
        100,
        ge=0,
        description="Malformed rows listed by row number in the manifest (all are counted).",
    )
    audit: Path | None = Field(
        None,
        description="De-identification audit JSON (redactions per type + a review sample). It "
        "shows original identifiers, so it never goes into DATA_DIR: default INPUT_NAME."
        "deid_audit.json beside the input, i.e. with the raw data.",
    )
    ner: Path | None = Field(
        None,
        description="Token-classification model directory (`radllama deid-train`): redact the "
        "union of the rules' and the model's spans; the manifest counts what only the model "
        "found. Same as deid.ner in YAML.",
    )
    audit_original_context: bool = Field(
        True,
        description="Show the original text around each sampled redaction in the audit (PHI, "
        "for a reviewer allowed to see it); false keeps counts and redacted context only.",
    )

    @model_validator(mode="after")
    def _ner_into_deid(self) -> PrepareConfig:
        """`ner` (the --ner option) is `deid.ner`; given both, they must agree."""
        if self.ner is not None:
            if self.deid.ner is not None and self.deid.ner != self.ner:
                raise ValueError(
                    f"ner ({self.ner}) and deid.ner ({self.deid.ner}) differ; set one of them"
                )
            if self.deid.ner is None:
                self.deid.ner = self.ner
        return self

    def audit_path(self) -> Path:
        """Where the audit goes: `audit`, or INPUT_NAME.deid_audit.json beside the input."""
        return self.audit or self.input.parent / f"{self.input.name}.deid_audit.json"


def load_prepare_config(path: str | Path | None = None, **options: Any) -> PrepareConfig:
    """YAML (optional) + CLI options -> PrepareConfig, with the preset under `ingest`.

    The preset gives the ingest defaults; keys under `ingest:` replace them (a given
    `ingest.columns` replaces the preset's column map as a whole).
    """
    data = read_yaml(path) if path else {}
    data.update({key: value for key, value in options.items() if value is not None})
    source = str(path) if path else "options"
    for key, fix in (("input", "--input FILE"), ("out", "--out DIR")):
        if not data.get(key):
            raise ConfigError(f"{source}: no {key} given; pass {fix} or set '{key}:' in the config")
    preset = data.setdefault("preset", "mgh")
    ingest = dict(data.get("ingest") or {})
    data["ingest"] = {**(preset_ingest(preset) if preset else {}), **ingest}
    return validate_config(PrepareConfig, data, source)


def prompt_style(config: PrepareConfig) -> prompts.PromptStyle:
    """The prompt style of the rows this config writes (saved in the manifest, then the run)."""
    return prompts.PromptStyle(exam_field=f"exam_{config.prompt.exam_field}")
