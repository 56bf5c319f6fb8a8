"""Server configuration and the wire format (OpenAI-compatible + `/v1/impressions`).

Request models validate *types and shapes* only (strict: ``"10"`` is not an int); limits that
depend on the loaded model or the server config (context length, `max_tokens` ceiling) are
checked by the engine, which raises `ApiError` naming the offending field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from radllama.core.errors import RadllamaError
from radllama.generation.candidates import CandidateConfig
from radllama.generation.engines import EngineOptions


class ServeConfig(CandidateConfig, EngineOptions):
    """How `radllama serve` listens, authenticates and batches (and, for /v1/impressions,
    decodes: the `CandidateConfig` fields apply with decode=candidates)."""

    decode: Literal["greedy", "candidates"] = Field(
        "greedy",
        description="/v1/impressions: greedy, or candidates (greedy + N samples + the k nearest "
        "training impressions, judged by likelihood, consensus and the hallucination check; "
        "needs an index). Chat and completions stay plain.",
    )

    engine: Literal["builtin", "vllm"] = Field(
        "builtin",
        description="What generates: builtin (transformers in this process, dynamic batches) "
        "or vllm (radllama starts a vLLM server for the run from the engines venv, `make "
        "engines`, and stays in front of it). Page, /v1/impressions, auth and limits are "
        "radllama's either way.",
    )
    engine_url: str | None = Field(
        None,
        description="An already running OpenAI-compatible engine that takes token-id prompts "
        "(vLLM, SGLang), e.g. http://127.0.0.1:8001/v1; radllama serves in front of it and "
        "starts nothing.",
    )
    engine_model: str | None = Field(
        None,
        description="The model name at the engine (default: the LoRA module 'rad' if it is "
        "served, else the engine's first model).",
    )
    engine_concurrency: int = Field(
        64, ge=1, le=1024, description="Requests sent to the engine at once (it batches them)."
    )
    engine_api_key_env: str | None = Field(
        None,
        description="--engine-url: environment variable holding the engine's API key, sent as "
        "`Authorization: Bearer` (never logged).",
    )

    host: str = Field(
        "127.0.0.1", description="Bind address; loopback by default (reports are PHI)."
    )
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0 = pick a free one).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers for besides loopback names and the bind "
        "address (DNS-rebinding guard); other Host headers get 421. `*` answers any.",
    )
    api_key_env: str | None = Field(
        None,
        description="Environment variable holding the API key; when set, every /v1 call "
        "needs `Authorization: Bearer <key>`.",
    )
    model_name: str | None = Field(
        None,
        description="Name reported by /v1/models and required in `model` (default: the "
        "run directory's name).",
    )
    max_batch_size: int = Field(16, ge=1, le=1024, description="Most requests run as one batch.")
    batch_wait_ms: float = Field(
        10.0,
        ge=0,
        le=10_000,
        description="How long the first queued request waits for others "
        "to join its batch (ms); under load batches form without waiting.",
    )
    max_queue: int = Field(
        256, ge=1, description="Requests waiting beyond this are answered 503 + Retry-After."
    )
    request_timeout_s: float = Field(
        120.0,
        gt=0,
        description="A request not answered within this many seconds of its arrival gets 503 "
        "(tokenising, queueing and generation together).",
    )
    max_prep_queue: int = Field(
        64,
        ge=1,
        description="Requests waiting to be tokenised (one helper thread) beyond this are "
        "answered 503 + Retry-After at once.",
    )
    index: Path | None = Field(
        None,
        description="Retrieval index (DATA_DIR from `radllama index`) for a model trained with "
        "examples; default: the one recorded in the run.",
    )
    num_examples: int | None = Field(
        None, ge=0, description="k retrieved examples per prompt (default: the run's k)."
    )
    max_tokens_limit: int = Field(
        1024, ge=1, description="Largest `max_tokens` a client may ask for."
    )
    default_max_tokens: int = Field(
        256, ge=1, description="`max_tokens` for OpenAI endpoints when the client sends none."
    )
    impression_max_tokens: int = Field(
        128, ge=1, description="`max_tokens` for /v1/impressions when the client sends none."
    )
    default_temperature: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="Temperature when an OpenAI request sends none. 0 (greedy) "
        "rather than OpenAI's 1.0: an impression a radiologist reviews should be reproducible.",
    )
    max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="Larger request bodies are refused with 413, counted as the bytes arrive "
        "(chunked uploads without Content-Length too); the rest is never read.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A connection that has not sent complete request headers within this many "
        "seconds (of connecting, or of its previous response) is closed.",
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        description="A request body not fully received within this many seconds of its headers "
        "gets 408 and the connection is closed.",
    )
    keep_alive_s: float = Field(
        5.0, gt=0, description="Idle keep-alive connections are closed after this many seconds."
    )
    max_header_bytes: int = Field(
        16_384,
        ge=1024,
        description="Largest request line + headers (bytes); more is refused with 400.",
    )

    @model_validator(mode="after")
    def _one_engine(self) -> ServeConfig:
        if self.engine_url is not None and self.engine != "builtin":
            raise ValueError(
                "engine_url uses a running engine and engine=vllm starts one; pass one of them"
            )
        if self.engine_api_key_env is not None and self.engine_url is None:
            raise ValueError(
                "engine_api_key_env is the key of a running engine: pass it with engine_url"
            )
        if self.decode == "candidates" and self.remote_engine:
            raise ValueError(
                "decode=candidates scores candidates with the model in this process; use it "
                "with engine=builtin (drop --engine / --engine-url)"
            )
        return self

    @property
    def remote_engine(self) -> bool:
        """Generation happens in another process (started by us or already running)."""
        return self.engine != "builtin" or self.engine_url is not None

    @model_validator(mode="after")
    def _defaults_within_limit(self) -> ServeConfig:
        for name in ("default_max_tokens", "impression_max_tokens"):
            if getattr(self, name) > self.max_tokens_limit:
                raise ValueError(f"{name} must be <= max_tokens_limit ({self.max_tokens_limit})")
        return self


class ApiError(RadllamaError):
    """A request the server refuses, as an OpenAI-style error (status + field name).

    Also a `RadllamaError`, so `radllama impress` prints the same message as one line.
    """

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status
        self.type, self.code, self.headers = type, code, headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str, type: str = "invalid_request_error", param: str | None = None, code: Any = None
) -> dict[str, Any]:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _valid_unicode(text: str) -> str:
    # JSON may carry "\ud800" (a lone UTF-16 surrogate); it is not text and no tokenizer takes it.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"contains an unpaired surrogate (\\u{ord(text[error.start]):04x}) at character "
            f"{error.start}; send valid Unicode text"
        ) from None
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]


class _Wire(BaseModel):
    # Strict types (no "10" -> 10); unknown OpenAI parameters (user, seed, penalties, ...) are
    # ignored as vLLM does, so stock clients and tools work unchanged.
    model_config = ConfigDict(strict=True, extra="ignore")


class StreamOptions(_Wire):
    include_usage: bool = Field(False, description="Send a last chunk with `usage`.")


class _SamplingFields(_Wire):
    model: Text | None = Field(None, description="Served model name (see GET /v1/models).")
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    max_completion_tokens: int | None = Field(None, ge=1, description="Alias of max_tokens.")
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description="0 = greedy; default: the server's default_temperature."
    )
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    n: int = Field(1, ge=1, le=1, description="Choices per request (only 1).")
    stream: bool = Field(False, description="Answer as server-sent events (OpenAI chunks).")
    stream_options: StreamOptions | None = Field(None, description="Only with stream=true.")
    stop: Text | list[Text] | None = Field(None, description="Cut the text at the first of these.")

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_list(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return [s for s in stops if s]


class TextPart(_Wire):
    type: Literal["text"]
    text: Text


class ChatMessage(_Wire):
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(_SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation so far.")


class CompletionRequest(_SamplingFields):
    # A list of one string is accepted (the openai client sends that shape for batch prompts).
    prompt: Text | list[Text] = Field(description="The raw prompt text (no chat template).")

    def prompt_text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise ApiError("prompt: send exactly one prompt string per request", param="prompt")
        return self.prompt[0]


class ImpressionRequest(_Wire):
    model_config = ConfigDict(strict=True, extra="forbid")

    exam_code: Text = Field(
        description="Exam code or description, e.g. 'CT HEAD W/O' ('' if none)."
    )
    findings: Text = Field(description="The FINDINGS section of the report.")
    max_tokens: int | None = Field(None, ge=1, description="Most impression tokens to generate.")
    stream: bool = Field(
        False,
        description="Answer as server-sent events: {type: delta, text} events, then one "
        "{type: done, response} with the full object.",
    )


class ImpressionResponse(BaseModel):
    impression: str = Field(description="The generated IMPRESSION (prepend phrase removed).")
    model: str = Field(description="Served model name.")
    latency_ms: float = Field(description="Time from request to answer, in milliseconds.")
    flags: list[dict[str, Any]] = Field(
        description="Hallucination flags: impression statements not supported by the findings."
    )
    retrieved: list[dict[str, Any]] | None = Field(
        None,
        description="Similar prior reports shown to the model (row_id, similarity, impression); "
        "absent when the model uses no retrieved examples.",
    )
    retrieval: dict[str, Any] | None = Field(
        None,
        description="k and status of retrieval: ok, or failed (the impression was written "
        "without examples) with a detail line.",
    )
    source: str | None = Field(
        None,
        description="decode=candidates: where the chosen impression came from (model:greedy, "
        "model:sample-N, neighbour:ROW_ID); absent for greedy decoding.",
    )
