"""Requests -> validated generation jobs -> `ImpressionModel.generate_prompts` -> responses.

The engine is the part of the server that knows the model: it renders prompts (the model's
prompt style for impressions, its chat template for chat messages), counts tokens against the
context length, runs a batch of jobs on the worker thread, and builds the `/v1/impressions`
object. `radllama impress` uses the same engine without HTTP, so its ``--json`` output is the
server's answer.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from radllama.core.prompts import strip_prepend
from radllama.serving.schemas import (
    ApiError,
    ChatCompletionRequest,
    CompletionRequest,
    ServeConfig,
)
from radllama.serving.streaming import BatchStreamer, RowDecoder, StreamSink, cancelled_rows

if TYPE_CHECKING:
    from radllama.generation.inference import GenerationOutput, ImpressionModel
    from radllama.serving.engines import RemoteEngine

logger = logging.getLogger("radllama.serving")


def check_max_tokens(requested: int | None, config: ServeConfig) -> None:
    limit = config.max_tokens_limit
    if requested is not None and not 1 <= requested <= limit:
        raise ApiError(
            f"max_tokens must be between 1 and {limit} (got {requested})", param="max_tokens"
        )


def check_impression_request(findings: str, max_tokens: int | None, config: ServeConfig) -> None:
    """The checks that need no model (the CLI runs them before a slow model load)."""
    if not findings.strip():
        raise ApiError("findings is empty; send the FINDINGS text of the report", param="findings")
    check_max_tokens(max_tokens, config)


@dataclass(frozen=True)
class GenerationJob:
    """One request's rendered prompt and decoding settings (the batcher's payload)."""

    prompt: str
    prompt_tokens: int
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...] = ()
    # /v1/impressions only: the retrieved prior cases and whether retrieval worked.
    retrieval: dict[str, Any] | None = field(default=None, compare=False)
    # Streaming requests get a sink (text deltas to the client); every job gets a cancel event
    # that stops its row mid-`generate` (client disconnected or timed out).
    sink: StreamSink | None = field(default=None, compare=False)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    impression: bool = False  # prediction = raw text minus a leading prepend phrase
    # decode=candidates (/v1/impressions): ((exam, findings, prompt examples), neighbours)
    candidates: tuple | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[int, float, float, bool]:
        # Only requests with the same decoding settings share a `generate` call.
        return (self.max_tokens, self.temperature, self.top_p, self.candidates is not None)


class ServingEngine:
    """An `ImpressionModel` plus the server's limits."""

    def __init__(
        self,
        model: ImpressionModel,
        config: ServeConfig | None = None,
        remote: RemoteEngine | None = None,
    ) -> None:
        self.model = model
        self.config = config or ServeConfig()
        self.name = self.config.model_name or model.name
        # remote: another process generates (`radllama.serving.engines`); its context may be
        # shorter than the model's (vLLM reserves KV cache for --engine-max-model-len).
        self.remote = remote
        limits = [model.max_context, remote.max_context if remote is not None else None]
        self.max_context = min(limit for limit in limits if limit)
        # Request validation runs on the event loop while the worker thread tokenizes a batch;
        # a fast tokenizer's Rust state must not be shared across threads ("Already borrowed").
        self._tokenizer = copy.deepcopy(model.tokenizer)
        self.candidate_retriever = (
            candidate_retriever(model, self.config) if self.config.decode == "candidates" else None
        )

    # ---- validation ---------------------------------------------------------------------
    def count_tokens(self, prompt: str) -> int:
        # Same encoding as ImpressionModel._encode: rendered prompts already carry BOS.
        return len(self._tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def check_model(self, requested: str | None) -> None:
        if requested is not None and requested != self.name:
            raise ApiError(
                f"model '{requested}' is not served here; use '{self.name}' (GET /v1/models)",
                param="model",
                status=404,
                code="model_not_found",
            )

    def _max_tokens(
        self, requested: int | None, default: int, prompt_tokens: int, param: str
    ) -> int:
        """Check `max_tokens` against the server limit and the room left in the context."""
        check_max_tokens(requested, self.config)
        room = self.max_context - prompt_tokens
        if room < 1:
            raise ApiError(
                f"{param} is too long: the prompt has {prompt_tokens} tokens but the model's "
                f"context is {self.max_context}; shorten the {param}",
                param=param,
                code="context_length_exceeded",
            )
        if requested is not None and requested > room:
            raise ApiError(
                f"max_tokens={requested} does not fit: the prompt has {prompt_tokens} tokens and "
                f"the context is {self.max_context}; ask for at most {room}",
                param="max_tokens",
                code="context_length_exceeded",
            )
        return min(requested or default, room)

    # ---- jobs ---------------------------------------------------------------------------
    def impression_job(
        self, exam_code: str, findings: str, max_tokens: int | None = None
    ) -> GenerationJob:
        if not findings.strip():
            raise ApiError(
                "findings is empty; send the FINDINGS text of the report", param="findings"
            )
        neighbours, retrieval = self._retrieve(exam_code, findings)
        prompt = self.model.build_prompt(exam_code, findings, neighbours)
        n_prompt = self.count_tokens(prompt)
        n_new = self._max_tokens(
            max_tokens, self.config.impression_max_tokens, n_prompt, "findings"
        )
        candidates = None
        if self.candidate_retriever is not None:  # greedy + seeded samples: reproducible too
            query = {"exam_code": exam_code, "findings": findings}
            found = self.candidate_retriever.search([query], self.config.candidate_neighbours)
            candidates = ((exam_code, findings, neighbours or None), found[0])
        # Impressions are always greedy: the same findings give the same impression.
        return GenerationJob(
            prompt, n_prompt, n_new, 0.0, 1.0, impression=True, retrieval=retrieval,
            candidates=candidates,
        )  # fmt: skip

    def _retrieve(self, exam_code: str, findings: str) -> tuple[list, dict[str, Any] | None]:
        """Similar prior reports for the prompt; a failed retrieval never fails the request:
        the impression is written without examples and the response says so."""
        k = self.model.prompt_style.num_examples
        if not k or self.model.retriever is None:
            return [], None
        try:
            self._reload_changed_index()
            neighbours = self.model.retrieve([{"exam_code": exam_code, "findings": findings}])[0]
        except Exception as error:  # the index is evidence, not a precondition
            logger.warning(
                "retrieval failed (%s); answering without examples", type(error).__name__
            )
            detail = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            return [], {"k": k, "status": "failed", "detail": detail, "cases": []}
        cases = [n.evidence() for n in neighbours]
        return neighbours, {"k": k, "status": "ok", "cases": cases}

    def _reload_changed_index(self) -> None:
        """An index changed on disk (`radllama index --add`, a rebuild) is loaded again before
        it answers; one that cannot be used (another dataset, half written) raises, so the
        request gets no retrieved cases rather than rows the index no longer holds."""
        retriever = self.model.retriever
        fresh = retriever.current()
        if fresh is not retriever:
            self.model.retriever = fresh
            logger.info("index %s changed on disk: reloaded, %d rows", fresh.folder, len(fresh))

    def chat_job(self, request: ChatCompletionRequest) -> GenerationJob:
        self.check_model(request.model)
        messages = [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in request.messages
        ]
        try:
            prompt = self._tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        except Exception as error:  # jinja2 TemplateError from the model's template
            raise ApiError(
                f"messages: the model's chat template rejected them ({error})", param="messages"
            ) from None
        return self._sampling_job(request, prompt, "messages")

    def completion_job(self, request: CompletionRequest) -> GenerationJob:
        self.check_model(request.model)
        text = request.prompt_text()
        if not text.strip():
            raise ApiError("prompt is empty", param="prompt")
        bos = self._tokenizer.bos_token
        # As vLLM does for completions: a raw prompt gets the BOS the tokenizer would add.
        prompt = text if not bos or text.startswith(bos) else bos + text
        return self._sampling_job(request, prompt, "prompt")

    def _sampling_job(self, request: Any, prompt: str, param: str) -> GenerationJob:
        n_prompt = self.count_tokens(prompt)
        n_new = self._max_tokens(
            request.requested_max_tokens, self.config.default_max_tokens, n_prompt, param
        )
        temperature = (
            self.config.default_temperature if request.temperature is None else request.temperature
        )
        return GenerationJob(
            prompt, n_prompt, n_new, temperature, request.top_p, tuple(request.stop_list)
        )

    # ---- running (worker thread) --------------------------------------------------------
    def run_batch(self, jobs: list[GenerationJob]) -> list[GenerationOutput]:
        """Generate for jobs that share decoding settings, as one batch; apply stop strings."""
        from radllama.generation.inference import GenerationSettings

        if self.remote is not None:  # the engine batches by itself (one job per call here)
            return [self.remote.generate(job) for job in jobs]
        first = jobs[0]
        settings = GenerationSettings(
            max_new_tokens=first.max_tokens,
            temperature=first.temperature,
            top_p=first.top_p,
            batch_size=len(jobs),
        )
        if first.candidates is not None:
            return self._run_candidates(jobs, settings)
        rows = [self._row_decoder(job) if job.sink is not None else None for job in jobs]
        kwargs: dict[str, Any] = {"stopping_criteria": [cancelled_rows([j.cancel for j in jobs])]}
        if any(rows):
            kwargs["streamer"] = BatchStreamer(rows)
        outputs = self.model.generate_batch([job.prompt for job in jobs], settings, **kwargs)
        outputs = [_apply_stop(output, job.stop) for output, job in zip(outputs, jobs, strict=True)]
        for job, output in zip(jobs, outputs, strict=True):
            if job.sink is not None and not job.cancel.is_set():
                job.sink.finish(output.prediction if job.impression else output.raw_text)
        return outputs

    def _run_candidates(self, jobs: list[GenerationJob], settings) -> list[GenerationOutput]:
        """decode=candidates: the chosen candidate per job (streams get it in one piece)."""
        from radllama.evaluate.hallucination import hallucination_flags
        from radllama.generation.candidates import decode_batch
        from radllama.generation.inference import GenerationOutput

        results = decode_batch(self.model, [job.candidates[0] for job in jobs],
                               [job.candidates[1] for job in jobs], self.config, settings,
                               hallucination_flags)  # fmt: skip
        outputs = []
        for job, result in zip(jobs, results, strict=True):
            output = GenerationOutput(
                result["raw_output"], result["prediction"], result["prompt_tokens"],
                result["completion_tokens"], result["finish_reason"],
                source=result["candidate_source"],
            )  # fmt: skip
            if job.sink is not None and not job.cancel.is_set():
                job.sink.finish(output.prediction)
            outputs.append(output)
        return outputs

    def _row_decoder(self, job: GenerationJob) -> RowDecoder:
        # Runs on the worker thread: the model's own tokenizer (not the event loop's copy).
        return RowDecoder(
            self.model.tokenizer,
            self.model.eos_token_ids,
            job.sink,
            stops=job.stop,
            strip_prepend=job.impression,
        )

    def generate_one(self, job: GenerationJob) -> GenerationOutput:
        return self.run_batch([job])[0]

    # ---- responses ----------------------------------------------------------------------
    def impression_response(
        self,
        findings: str,
        output: GenerationOutput,
        latency_ms: float,
        job: GenerationJob | None = None,
    ) -> dict:
        """The /v1/impressions object (also `radllama impress --json`)."""
        from radllama.evaluate.hallucination import hallucination_flags

        response = {
            "impression": output.prediction,
            "model": self.name,
            "latency_ms": round(latency_ms, 1),
            "flags": hallucination_flags(findings, output.prediction),
        }
        if output.source is not None:  # decode=candidates: model:greedy | neighbour:ROW_ID ...
            response["source"] = output.source
        retrieval = job.retrieval if job is not None else None
        if retrieval is not None:  # the prompt had retrieved examples (or tried to)
            response["retrieved"] = retrieval["cases"]
            response["retrieval"] = {k: v for k, v in retrieval.items() if k != "cases"}
        return response


def _apply_stop(output: GenerationOutput, stops: tuple[str, ...]) -> GenerationOutput:
    """Cut the text at the first stop string (OpenAI `stop`); the reason becomes "stop"."""
    cuts = [output.raw_text.find(s) for s in stops if s in output.raw_text]
    if not cuts:
        return output
    raw = output.raw_text[: min(cuts)].rstrip()
    return replace(output, raw_text=raw, prediction=strip_prepend(raw), finish_reason="stop")


def candidate_retriever(model: ImpressionModel, config: ServeConfig):
    """The index candidate neighbours come from (config.index, else the run's), checked."""
    from radllama.generation.candidates import check_candidate_request, neighbour_source
    from radllama.retrieval import Retriever

    path = config.index or (model.prompt_style.index or {}).get("path")
    if path is None and model.retriever is None:
        check_candidate_request(config, None)
    found = model.retriever if model.retriever is not None else Retriever.load(path)
    check_candidate_request(config, len(found))
    return neighbour_source(config, found)


def check_candidate_index(model_path, config: ServeConfig) -> None:
    """Before a slow model load: decode=candidates with neither --index nor a run that
    recorded one is a one-line error."""
    from radllama.generation.candidates import check_candidate_request
    from radllama.generation.inference import read_run_file

    if config.decode != "candidates" or config.index is not None:
        return
    run = read_run_file(model_path)
    if run is None or not (run.prompt_style.index or {}).get("path"):
        check_candidate_request(config, None)


def impress(
    model: ImpressionModel,
    exam_code: str,
    findings: str,
    max_tokens: int | None = None,
    config: ServeConfig | None = None,
) -> dict:
    """One impression without a server: the same validation and object as POST /v1/impressions
    (`config.decode` = candidates: candidate-set decoding, as the server does)."""
    started = time.perf_counter()
    engine = ServingEngine(model, config)
    job = engine.impression_job(exam_code, findings, max_tokens)
    output = engine.generate_one(job)
    latency_ms = (time.perf_counter() - started) * 1000
    return engine.impression_response(findings, output, latency_ms, job)
