"""`radllama synth` settings (`SynthConfig`: defect and PHI rates), its summary and the
export's column layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

from radllama.core.config import StrictModel
from radllama.core.exams import (  # noqa: F401  (EXAM_CODES etc. stay importable from here)
    BODY_REGIONS,
    EXAM_CODES,
    EXAMS,
    MODALITIES,
    UNKNOWN,
    modality_and_region,
)

CSV_COLUMNS = (
    "report_id",
    "patient_id",
    "exam_code",
    "exam_description",
    "report_date",
    "report_text",
)
DEFECT_KINDS = (
    "missing_findings",
    "missing_impression",
    "short_findings",
    "duplicate",
    "extra_whitespace",
    "empty_row",
)


def _rate(default: float, description: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class SynthConfig(StrictModel):
    """How the synthetic corpus is drawn. Same config + seed -> byte-identical files."""

    missing_findings_rate: float = _rate(0.02, "Share of reports without a FINDINGS section.")
    missing_impression_rate: float = _rate(0.02, "Share of reports without an IMPRESSION section.")
    short_findings_rate: float = _rate(0.02, "Share of reports whose findings have under 10 words.")
    duplicate_rate: float = _rate(
        0.02, "Share of rows that repeat an earlier report's text exactly (new report_id)."
    )
    extra_whitespace_rate: float = _rate(
        0.02, "Share of reports with extra spaces, tabs and blank lines."
    )
    empty_row_rate: float = _rate(0.02, "Share of rows with an empty report_text.")
    abnormal_rate: float = _rate(0.6, "Share of studies with 1-3 abnormal observations.")
    over89_age_rate: float = _rate(0.04, "Share of patients aged 90+ (an identifier under HIPAA).")
    phi_in_findings_rate: float = _rate(
        0.08, "Share of findings that carry PHI (prior dates, 'reviewed with Dr. X')."
    )
    phi_in_impression_rate: float = _rate(
        0.05, "Share of non-critical impressions with a 'discussed with Dr. X at TIME' line."
    )
    critical_discussion_rate: float = _rate(
        0.5, "Share of impressions with a critical (severity 5) finding that name who was called."
    )
    combined_section_rate: float = _rate(0.03, "Share under one 'FINDINGS AND IMPRESSION' header.")
    conclusion_header_rate: float = _rate(0.05, "Share titled 'CONCLUSION' instead of IMPRESSION.")
    impression_recommendation_rate: float = _rate(0.03, "Share titled 'IMPRESSION/RECOMMENDATION'.")
    misspelled_header_rate: float = _rate(0.01, "Share of headers misspelt (IMPRESSON, FINDNGS).")
    numbered_impression_rate: float = _rate(
        0.5, "Share of multi-item impressions written as '1. ... 2. ...'."
    )
    addendum_rate: float = _rate(0.05, "Share of reports with an ADDENDUM after the impression.")
    eponym_history_rate: float = _rate(
        0.08, "Share of histories naming an eponym (Hodgkin, Crohn, Graves...)."
    )
    incidental_rate: float = _rate(
        0.2, "Share of findings with a minor incidental remark that the impression leaves out."
    )
    max_reports_per_patient: int = Field(
        5, ge=1, le=50, description="Patients have 1..this many reports (patient-level splits)."
    )
    chunk_size: int = Field(
        5000,
        ge=100,
        description="Reports per independently seeded chunk (part of the output's identity).",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: CPU count). Never changes the output."
    )

    @model_validator(mode="after")
    def _defects_fit(self) -> SynthConfig:
        total = sum(getattr(self, f"{kind}_rate") for kind in DEFECT_KINDS)
        if total > 1.0:
            raise ValueError(f"defect rates sum to {total:.3f}; they must sum to at most 1")
        return self


class SynthSummary(BaseModel):
    """What `synthesize` wrote, with the exact planted counts."""

    csv_path: Path
    phi_path: Path
    meta_path: Path
    n_reports: int
    n_patients: int
    seed: int
    defect_counts: dict[str, int]
    expected_drops: dict[str, int]
    phi_counts: dict[str, int]
    keep_count: int
    seconds: float
    reports_per_second: float

    def line(self) -> str:
        defects = ", ".join(f"{k}={v}" for k, v in self.defect_counts.items())
        return (
            f"wrote {self.n_reports} reports ({self.n_patients} patients) to {self.csv_path} in "
            f"{self.seconds:.1f} s ({self.reports_per_second:,.0f} reports/s); "
            f"{sum(self.phi_counts.values())} PHI spans -> {self.phi_path.name}; defects: {defects}"
        )
