"""Real serving engines behind `radllama serve`: a vLLM server that radllama starts and
supervises (``--engine vllm``), or an OpenAI-compatible engine already running (``--engine-url``,
with ``--engine-api-key-env`` when it wants a key).

radllama stays in front: the page, ``/v1/impressions`` with retrieved examples and hallucination
flags, streaming, auth, limits and the Host check are the same code as with the builtin engine.
Only generation moves, through `radllama.generation.engines` (token-id prompts rendered by
radllama, so the engine's greedy text is the builtin engine's). The engine batches concurrent
requests itself (continuous batching), so radllama hands them over as they come
(`DynamicBatcher` with one request per batch, `engine_concurrency` workers)::

    with open_engine(RUN_DIR, config) as (model, remote):   # model: no weights in this process
        app = create_app(ServingEngine(model, config, remote=remote))
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radllama.core.errors import ConfigError
from radllama.core.prompts import strip_prepend
from radllama.generation.engines import (
    EngineClient,
    EngineError,
    EngineProcess,
    engine_python,
    env_api_key,
    launch,
)
from radllama.serving.schemas import ServeConfig
from radllama.serving.streaming import stable_text

if TYPE_CHECKING:
    from radllama.generation.inference import GenerationOutput, ImpressionModel
    from radllama.serving.engine import GenerationJob

__all__ = ["EngineError", "EngineProcess", "RemoteEngine", "engine_python", "open_engine"]


class RemoteEngine:
    """The serving side of an `EngineClient`: runs one `GenerationJob` (streamed to its sink,
    stopped when the job is cancelled)."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client

    @property
    def max_context(self) -> int | None:
        return self.client.max_context

    @property
    def alive(self) -> bool:
        return self.client.alive

    def describe(self) -> dict[str, Any]:
        return self.client.describe()

    def generate(self, job: GenerationJob) -> GenerationOutput:
        from radllama.generation.inference import GenerationOutput

        def on_text(text: str) -> None:
            if job.sink is not None:
                job.sink.offer(stable_text(text, job.stop, job.impression))

        ids = self.client.encode(job.prompt)
        text, finish, completion_tokens = self.client.complete(
            ids, job.max_tokens, temperature=job.temperature, top_p=job.top_p,
            stop=list(job.stop), on_text=on_text, cancelled=job.cancel.is_set,
        )  # fmt: skip
        raw = text.strip()
        output = GenerationOutput(raw, strip_prepend(raw), len(ids), completion_tokens, finish)
        if job.sink is not None and not job.cancel.is_set():
            job.sink.finish(output.prediction if job.impression else output.raw_text)
        return output


@contextlib.contextmanager
def open_engine(
    model_dir: str | Path, config: ServeConfig
) -> Iterator[tuple[ImpressionModel, RemoteEngine]]:
    """The run's prompting side (no weights) and its engine: started (engine=vllm) or
    connected to (engine_url). Whatever we started is stopped on exit."""
    if not config.remote_engine:
        raise ConfigError("open_engine: engine=builtin runs in this process")
    api_key = env_api_key(config.engine_api_key_env, "--engine-api-key-env")
    with launch(model_dir, config, url=config.engine_url, engine_model=config.engine_model,
                api_key=api_key, index=config.index,
                num_examples=config.num_examples) as (model, client):  # fmt: skip
        yield model, RemoteEngine(client)
