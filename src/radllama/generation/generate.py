"""The generate stage: a model + the test split -> PREDS.jsonl (one prediction per report).

Backends implement `GenerationBackend` and are registered by name (`register_backend`);
``--backend NAME`` resolves through `BACKENDS`. Three ship with radllama and write the same rows:

- ``hf``: in-process transformers through `radllama.generation.inference.ImpressionModel` (batched,
  left padding, KV cache, greedy), for a RUN_DIR or a bare HF model (zero-shot baseline);
- ``vllm``: vLLM started from the engines venv (``make engines``) for ``--model``, or a running
  engine at ``--base-url`` (vLLM, SGLang: anything taking token-id completions), sent prompts
  rendered and tokenised here (`radllama.generation.engines`): the hf backend's greedy text
  with continuous batching;
- ``openai``: any OpenAI-compatible chat server (vLLM, SGLang, TGI, llama.cpp,
  `radllama serve`, or a hosted model for a zero-shot comparison), with bounded concurrency.
  The openai client retries 408/409/429/5xx, timeouts and dropped connections with
  exponential back-off (``max_retries``); a row that still fails is written with an
  ``error`` field and ``prediction: null`` (evaluate skips it with a counted reason).

Rows are appended and flushed as they finish, so a crash keeps everything written so far;
a rerun skips report_ids already in the output (and retries rows that failed).

PREDS.jsonl row (docs/ARCHITECTURE.md): ``report_id, system, exam_code, findings, prompt``
(the user turn), ``raw_output, prediction`` (prepend phrase stripped), ``reference`` (the
row's impression), ``modality, body_region, latency_s`` (seconds until this row's answer:
the batch's wall time for hf), ``prompt_tokens, completion_tokens, finish_reason``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from radllama.core.artifacts import DataManifest, PredictionRow, RunRecord, load_split
from radllama.core.errors import ConfigError, DataError, check_failure_rate
from radllama.core.guard import check_phi_guard, is_loopback_url
from radllama.core.jsonl import write_jsonl
from radllama.core.prompts import PromptStyle, strip_prepend
from radllama.core.registry import Registry
from radllama.generation.candidates import CandidateConfig, Flagger
from radllama.generation.engines import EngineOptions


class GenerateConfig(CandidateConfig, EngineOptions):
    """What `radllama generate` runs (decode=candidates: the `CandidateConfig` fields; backend
    vllm: the `EngineOptions` fields)."""

    data: Path = Field(
        description="Test split file (DATA_DIR/test.jsonl or .parquet) or a DATA_DIR."
    )
    out: Path = Field(
        description="PREDS.jsonl to write (appended; existing report_ids are skipped)."
    )
    model: Path | None = Field(
        None,
        description="RUN_DIR or HF model dir (hf and vllm backends); for openai, optional: a "
        "RUN_DIR whose prompt style to use.",
    )
    backend: str = Field(
        "hf",
        description="A registered backend: hf (in-process), vllm (token-id prompts to vLLM: "
        "started from the engines venv, or the engine at --base-url), openai (chat server), or "
        "your own.",
    )
    system: str | None = Field(
        None, description="System name in the rows (default: model dir name or --api-model)."
    )
    max_new_tokens: int = Field(128, ge=1, description="Generation length cap in tokens.")
    batch_size: int = Field(16, ge=1, description="hf: prompts per forward pass.")
    concurrency: int = Field(
        4, ge=1, description="openai, vllm: requests in flight at most (vLLM batches them)."
    )
    limit: int | None = Field(None, ge=1, description="Use only the first N rows of the split.")
    exam_field: Literal["exam_code", "exam_description"] | None = Field(
        None,
        description="Row field shown as EXAM (default: the run's saved prompt style; for a bare "
        "model, the data's).",
    )
    base_url: str | None = Field(
        None,
        description="openai: server URL, e.g. http://127.0.0.1:8000/v1; vllm: a running engine "
        "to use instead of starting one.",
    )
    api_model: str | None = Field(
        None,
        description="openai: model name sent to the server; vllm: the engine's model (default: "
        "the LoRA module 'rad' if served, else the first).",
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="openai, vllm --base-url: env var with the API key, sent as Bearer "
        "(optional on loopback).",
    )
    timeout_s: float = Field(120.0, gt=0, description="openai: seconds per request attempt.")
    max_retries: int = Field(3, ge=0, description="openai: retries with back-off per request.")
    max_failure_rate: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Exit non-zero (3) when more than this share of the rows fail (all failing "
        "always does); a smaller share is a warning.",
    )
    allow_remote: bool = Field(
        False,
        description="openai: send report text to a non-loopback endpoint although the "
        "dataset manifest does not say it was de-identified.",
    )
    device: str | None = Field(None, description="hf: torch device (default cuda if available).")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] | None = Field(
        None,
        description="hf: weights dtype; default float32 on CPU, bfloat16 on GPU. auto: as "
        "training's `bf16: auto` (a CPU measured fast at bf16: bfloat16; on the AMX Xeon 2.0x "
        "the tokens/s, but 5 of 16 greedy SmolLM2 outputs differed from fp32).",
    )
    load_in_4bit: bool | None = Field(
        None, description="hf: 4-bit base (default: qlora runs on GPU)."
    )
    index: Path | None = Field(
        None,
        description="Retrieval index (DATA_DIR or DATA_DIR/index from `radllama index`); "
        "default: the one the run was trained with.",
    )
    num_examples: int | None = Field(
        None, ge=0, description="k similar prior reports in the prompt (default: the run's k)."
    )
    decode: Literal["greedy", "candidates"] = Field(
        "greedy",
        description="greedy, or candidates: greedy + N sampled answers + the k nearest training "
        "impressions, judged by the model's likelihood, their consensus and the hallucination "
        "check (hf backend; needs an index).",
    )

    @field_validator("backend")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in BACKENDS.load_plugins():
            raise ValueError(
                f"unknown backend {name!r}; registered backends are [{', '.join(BACKENDS)}]"
            )
        return name


@dataclass
class GenerateSummary:
    """What a generate run did; every input row is generated, already done, failed or dropped."""

    out: Path
    system: str
    rows: int = 0  # rows read from the split (after --limit)
    already_done: int = 0  # skipped: report_id already in the output
    generated: int = 0
    errors: int = 0  # written with an `error` field (retried on the next run)
    retried: int = 0  # failed rows of a previous run removed from the output to retry them
    dropped: Counter = field(default_factory=Counter)  # reason -> count (not written)
    seconds: float = 0.0
    first_error: str | None = None

    def check_failures(self, max_rate: float) -> str | None:
        """A warning line when some rows failed; FailureRateError when (nearly) all did."""
        fix = f"failed rows are kept in {self.out} with an `error` field; a rerun retries them"
        total = self.generated + self.errors + self.already_done  # the whole output file
        return check_failure_rate(self.errors, total, max_rate, "generate", self.first_error, fix)

    def describe(self) -> str:
        dropped = ", ".join(f"{n} {reason}" for reason, n in self.dropped.items()) or "none"
        return (
            f"{self.system}: {self.rows} rows -> {self.generated} generated, {self.errors} failed, "
            f"{self.already_done} already done (skipped), dropped: {dropped}"
            + (f"; retrying {self.retried} failed rows of the last run" if self.retried else "")
            + f" in {self.seconds:.1f} s -> {self.out}"
        )


# ---- input -------------------------------------------------------------------------------


def read_manifest(data: Path) -> DataManifest | None:
    """The DATA_DIR manifest next to a split file (None when absent)."""
    return DataManifest.read_optional(data if data.is_dir() else data.parent)


def resolve_prompt_style(
    exam_field: str | None, run: RunRecord | None, manifest: DataManifest | None
) -> PromptStyle:
    """The prompt style to generate with.

    A RUN_DIR's own saved style (what it was trained on); for a bare model, which was never
    fine-tuned, the style the data was prepared with; the default style without either.
    ``--exam-field`` overrides the style's exam field.
    """
    if run is not None:
        style = run.prompt_style
    elif manifest is not None:
        style = manifest.prompt_style
    else:
        style = PromptStyle()
    return style.model_copy(update={"exam_field": exam_field}) if exam_field else style


# ---- output (resumable) ------------------------------------------------------------------


def prepare_output(out: Path, system: str) -> tuple[set[str], int]:
    """Report ids already done in `out`; failed rows are removed so that they are retried.

    A last line cut off by a crash is dropped; rows of another system are an error (one
    PREDS file holds one system).
    """
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        return set(), 0
    lines = out.read_text(encoding="utf-8").splitlines()
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                continue  # the partial last line of an interrupted run: redo that row
            raise DataError(f"{out}:{number}: not valid JSON; fix or delete the file") from None
    others = {r.get("system") for r in rows} - {system}
    if others:
        raise DataError(
            f"{out} holds predictions of system {sorted(map(str, others))[0]!r}, not {system!r}; "
            "write to another --out or pass the same --system"
        )
    kept = [r for r in rows if not r.get("error") and r.get("report_id") is not None]
    if len(kept) != len(lines):
        write_jsonl(out, kept)  # atomic: drop failed rows and any partial last line
    return {str(r["report_id"]) for r in kept}, len(rows) - len(kept)


def error_result(message: str, latency_s: float) -> dict[str, Any]:
    return {
        "raw_output": None,
        "prediction": None,
        "latency_s": round(latency_s, 4),
        "error": message,
    }


@dataclass
class _Sink:
    """Appends finished rows to PREDS.jsonl (flushed per row) and counts them."""

    out: Path
    system: str
    style: PromptStyle
    summary: GenerateSummary
    retriever: Any = None  # radllama.retrieval.Retriever when the prompt has k examples
    # decode=candidates: the index the candidate neighbours come from, and the flagger
    candidate_retriever: Any = None
    flagger: Flagger | None = None

    def items(self, rows: list[dict[str, Any]]) -> list[tuple]:
        """(exam, findings, neighbours) per row; all rows' neighbours in one matrix search."""
        from radllama.retrieval.prompting import examples_for

        exams = [self.style.exam(r) for r in rows]
        queries = [{**r, "exam_code": exam} for r, exam in zip(rows, exams, strict=True)]
        found = examples_for(self.retriever, self.style, queries) if rows else []
        return list(zip(exams, [r["findings"] for r in rows], found, strict=True))

    def messages(self, item: tuple) -> list[dict[str, str]]:
        return self.style.messages(item[0], item[1], examples=item[2] or None)

    def write(self, row: dict[str, Any], item: tuple, result: dict[str, Any]) -> None:
        prompt = self.style.user_prompt(item[0], item[1], examples=item[2] or None)
        if item[2]:  # the retrieved prior cases, as /v1/impressions returns them
            result = {**result, "retrieved": [n.evidence() for n in item[2]]}
        PredictionRow.for_row(row, self.system, prompt, **result).append(self.out)
        if result.get("error"):
            self.summary.errors += 1
            self.summary.first_error = self.summary.first_error or result["error"]
        else:
            self.summary.generated += 1


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields `advance(n)`."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


# ---- backends ----------------------------------------------------------------------------


class GenerationBackend(Protocol):
    """One way to generate impressions. Built from the config (cheap checks only: a wrong
    option fails before any model loads), then asked to generate the pending rows."""

    def default_system(self) -> str:
        """The system name written in the rows when --system is not given."""
        ...

    def run_record(self) -> RunRecord | None:
        """The RUN_DIR record whose prompt style to use (None: not a fine-tuned run)."""
        ...

    def generate(self, rows: list[dict[str, Any]], sink: _Sink) -> None:
        """Write one result per row through `sink.write` (prompts from `sink.style`)."""
        ...


BackendFactory = Callable[[GenerateConfig, DataManifest | None], GenerationBackend]
BACKENDS: Registry[BackendFactory] = Registry("backend", group="radllama.backends")


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a backend factory (a class taking (config, manifest)) under `name`."""

    return BACKENDS.add(name)


class _ModelDirBackend:
    """A backend whose --model directory names the system and holds its run record."""

    model_dir: Path

    def default_system(self) -> str:
        return self.model_dir.name

    def run_record(self) -> RunRecord | None:
        return RunRecord.read_optional(self.model_dir) if self.model_dir.is_dir() else None


@register_backend("hf")
class HFBackend(_ModelDirBackend):
    """In-process transformers through `radllama.generation.inference.ImpressionModel`."""

    def __init__(self, config: GenerateConfig, manifest: DataManifest | None) -> None:
        if config.model is None:
            raise ConfigError("the hf backend needs --model RUN_OR_MODEL_DIR")
        self.config, self.model_dir = config, config.model.expanduser()

    def generate(self, rows: list[dict[str, Any]], sink: _Sink) -> None:
        from radllama.generation.inference import ImpressionModel

        config = self.config
        model = ImpressionModel.load(
            self.model_dir,
            device=config.device,
            dtype=config.dtype,
            load_in_4bit=config.load_in_4bit,
            num_examples=0,  # the sink holds the style and the index, loaded once
        )
        model.prompt_style = sink.style
        _run_hf(model, rows, config, sink)


@register_backend("openai")
class OpenAIBackend:
    """Any OpenAI-compatible chat server; report text leaves the process, so the PHI guard
    (`radllama.core.guard`) decides first."""

    def __init__(self, config: GenerateConfig, manifest: DataManifest | None) -> None:
        if not (config.base_url and config.api_model):
            raise ConfigError("the openai backend needs --base-url and --api-model")
        check_phi_guard(config.base_url, manifest, config.allow_remote)
        self.config = config

    def default_system(self) -> str:
        return str(self.config.api_model)

    def run_record(self) -> RunRecord | None:  # --model names a RUN_DIR for its prompt style
        model = self.config.model
        return RunRecord.read_optional(model) if model is not None and model.is_dir() else None

    def generate(self, rows: list[dict[str, Any]], sink: _Sink) -> None:
        _run_openai(rows, self.config, sink)


@register_backend("vllm")
class VLLMBackend(_ModelDirBackend):
    """vLLM (or another engine taking token-id completions): started from the engines venv for
    --model, or the one at --base-url. Prompts are rendered and tokenised here, as for hf, so
    greedy text is the hf backend's."""

    def __init__(self, config: GenerateConfig, manifest: DataManifest | None) -> None:
        if config.model is None:
            raise ConfigError(
                "the vllm backend needs --model RUN_OR_MODEL_DIR (its prompt style and "
                "tokenizer; and what to serve when no --base-url is given)"
            )
        if config.base_url is not None:
            check_phi_guard(config.base_url, manifest, config.allow_remote)
        else:  # before reading anything: one line naming `make engines`
            from radllama.generation.engines import engine_python

            engine_python("vllm")
        self.config, self.model_dir = config, config.model.expanduser()

    def generate(self, rows: list[dict[str, Any]], sink: _Sink) -> None:
        from radllama.generation.engines import launch

        config = self.config
        key = _api_key(config) if config.base_url is not None else None
        with launch(self.model_dir, config, url=config.base_url, engine_model=config.api_model,
                    api_key=key, num_examples=0) as (model, client):  # fmt: skip
            model.prompt_style = sink.style  # the sink holds the style and the index
            _run_engine(model, client, rows, config, sink)


def _run_engine(model, client, rows, config: GenerateConfig, sink: _Sink) -> None:
    """Every row through `client` (an `EngineClient`), `concurrency` requests at once."""
    import openai

    items = sink.items(rows)
    context = min(c for c in (model.max_context, client.max_context) if c)

    def ask(item: tuple) -> dict[str, Any]:
        began = time.perf_counter()
        ids = client.encode(model.build_prompt(*item))
        if len(ids) >= context:
            message = f"prompt has {len(ids)} tokens; the model's context is {context}"
            return error_result(message, 0.0)
        try:
            text, finish, completion_tokens = client.complete(
                ids, min(config.max_new_tokens, context - len(ids))
            )
        except openai.APIError as error:
            return error_result(_describe_api_error(error, 0), time.perf_counter() - began)
        raw = text.strip()
        return {"raw_output": raw, "prediction": strip_prepend(raw),
                "latency_s": round(time.perf_counter() - began, 4), "prompt_tokens": len(ids),
                "completion_tokens": completion_tokens, "finish_reason": finish}  # fmt: skip

    pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="generate")
    try:
        futures = {pool.submit(ask, items[i]): i for i in range(len(rows))}
        with progress_bar(len(rows), f"generate {sink.system}") as advance:
            for future in as_completed(futures):  # rows are written by this thread only
                i = futures[future]
                sink.write(rows[i], items[i], future.result())
                advance(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_hf(model, rows, config: GenerateConfig, sink: _Sink) -> None:
    from radllama.generation.inference import GenerationSettings

    settings = GenerationSettings(
        max_new_tokens=config.max_new_tokens, batch_size=config.batch_size
    )
    items = sink.items(rows)
    if config.decode == "candidates":
        from radllama.generation.candidates import decode_batch

        queries = [{**r, "exam_code": item[0]} for r, item in zip(rows, items, strict=True)]
        found = sink.candidate_retriever.search(queries, config.candidate_neighbours)

        def run_batch(batch: list[int]) -> list[dict[str, Any]]:
            return decode_batch(model, [items[i] for i in batch], [found[i] for i in batch],
                                config, settings, sink.flagger)  # fmt: skip
    else:

        def run_batch(batch: list[int]) -> list[dict[str, Any]]:
            outputs = model.generate([items[i] for i in batch], settings)
            return [
                {
                    "raw_output": output.raw_text,
                    "prediction": output.prediction,
                    "prompt_tokens": output.prompt_tokens,
                    "completion_tokens": output.completion_tokens,
                    "finish_reason": output.finish_reason,
                }
                for output in outputs
            ]

    lengths = [model.prompt_tokens(*item) for item in items]
    # Similar lengths in one batch waste little compute on padding.
    order = sorted(range(len(rows)), key=lambda i: lengths[i])
    too_long = [i for i in order if lengths[i] >= model.max_context]
    order = [i for i in order if lengths[i] < model.max_context]
    with progress_bar(len(rows), f"generate {sink.system}") as advance:
        for i in too_long:
            message = f"prompt has {lengths[i]} tokens; the model's context is {model.max_context}"
            sink.write(rows[i], items[i], error_result(message, 0.0))
            advance(1)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            began = time.perf_counter()
            results = run_batch(batch)
            latency = round(time.perf_counter() - began, 4)
            for i, result in zip(batch, results, strict=True):
                sink.write(rows[i], items[i], {**result, "latency_s": latency})
            advance(len(batch))


def _api_key(config: GenerateConfig) -> str | None:
    """The key in `api_key_env`; None on loopback without one (local servers take none)."""
    key = os.environ.get(config.api_key_env, "").strip()
    if key:
        return key
    if is_loopback_url(config.base_url or ""):
        return None  # local servers (vLLM, llama.cpp, radllama serve) ignore the key
    raise ConfigError(
        f"environment variable {config.api_key_env} is empty; export the endpoint's API key "
        "there or pass --api-key-env NAME"
    )


def _describe_api_error(error: Exception, max_retries: int) -> str:
    """One line for a failed request; says whether the client retried it."""
    import openai

    status = getattr(error, "status_code", None)
    retried = isinstance(error, openai.APITimeoutError | openai.APIConnectionError) or (
        status is not None and (status in (408, 409, 429) or status >= 500)
    )
    kind = f"HTTP {status}" if status else type(error).__name__
    message = f"{kind}: {getattr(error, 'message', error)}".splitlines()[0][:300]
    return message + (f" (after {max_retries} retries)" if retried else "")


def _ask(client, config: GenerateConfig, messages: list[dict[str, str]]) -> dict[str, Any]:
    """One chat completion -> result fields; failures (after the client's retries) -> error."""
    import openai

    began = time.perf_counter()
    try:
        response = client.chat.completions.create(
            model=config.api_model,
            messages=messages,
            max_tokens=config.max_new_tokens,
            temperature=0.0,
        )
    except openai.APIError as error:
        return error_result(
            _describe_api_error(error, config.max_retries), time.perf_counter() - began
        )
    choice = response.choices[0]
    raw = (choice.message.content or "").strip()
    usage = response.usage
    return {
        "raw_output": raw,
        "prediction": strip_prepend(raw),
        "latency_s": round(time.perf_counter() - began, 4),
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "finish_reason": choice.finish_reason,
    }


def _run_openai(rows, config: GenerateConfig, sink: _Sink) -> None:
    import openai

    client = openai.OpenAI(
        base_url=config.base_url,
        api_key=_api_key(config) or "not-needed",
        timeout=config.timeout_s,
        max_retries=config.max_retries,  # the client's exponential back-off with jitter
    )
    items = sink.items(rows)
    pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="generate")
    try:
        futures = {
            pool.submit(_ask, client, config, sink.messages(items[i])): i for i in range(len(rows))
        }
        with progress_bar(len(rows), f"generate {sink.system}") as advance:
            for future in as_completed(futures):  # rows are written by this thread only
                i = futures[future]
                sink.write(rows[i], items[i], future.result())
                advance(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: drop what is queued
        client.close()


# ---- entry point -------------------------------------------------------------------------


def _candidate_retriever(config: GenerateConfig, style: PromptStyle, retriever):
    """The index the candidate neighbours come from (--index, else the run's), checked."""
    from radllama.generation.candidates import check_candidate_request, neighbour_source
    from radllama.retrieval import Retriever

    path = config.index or (style.index or {}).get("path")
    if path is None:
        check_candidate_request(config, None)
    found = retriever if retriever is not None else Retriever.load(path)
    check_candidate_request(config, len(found))
    return neighbour_source(config, found)


def generate_predictions(config: GenerateConfig, flagger: Flagger | None = None) -> GenerateSummary:
    """Generate a prediction for every row of the split not yet in `config.out`.

    `flagger` (decode=candidates): the hallucination check, ``(findings, impression) ->
    flags``; the evaluate stage owns it, so the caller above passes it in."""
    began = time.perf_counter()
    if config.decode == "candidates":
        if config.backend != "hf":
            raise ConfigError(
                "--decode candidates scores every candidate with the model in-process: use "
                "--backend hf"
            )
        if flagger is None:
            raise ConfigError(
                "--decode candidates needs the hallucination check: pass "
                "flagger=radllama.evaluate.hallucination.hallucination_flags"
            )
    manifest = read_manifest(config.data)
    backend = BACKENDS[config.backend](config, manifest)
    rows, dropped = load_split(config.data, config.limit)
    system = config.system or backend.default_system()
    # Check the output before loading a model: a wrong --out should fail in a second.
    done, retried = prepare_output(config.out, system)
    pending = [r for r in rows if str(r["report_id"]) not in done]
    summary = GenerateSummary(out=config.out, system=system, rows=len(rows), dropped=dropped,
                              already_done=len(rows) - len(pending), retried=retried)  # fmt: skip
    style = resolve_prompt_style(config.exam_field, backend.run_record(), manifest)
    if pending:
        from radllama.retrieval.prompting import attach_retrieval

        # The index loads once, here, checked against the one the run was trained with.
        style, retriever = attach_retrieval(style, config.index, config.num_examples)
        sink = _Sink(config.out, system, style, summary, retriever, flagger=flagger)
        if config.decode == "candidates":
            sink.candidate_retriever = _candidate_retriever(config, style, retriever)
        backend.generate(pending, sink)
    summary.seconds = time.perf_counter() - began
    return summary
