"""Real serving engines behind `radllama serve`: a vLLM server that radllama starts and
supervises (``--engine vllm``), or an OpenAI-compatible engine already running (``--engine-url``).

radllama stays in front: the page, ``/v1/impressions`` with retrieved examples and hallucination
flags, streaming, auth, limits and the Host check are the same code as with the builtin engine.
Only generation moves: each request is rendered and tokenised by radllama (the run's prompt
style and chat template) and sent to the engine as *token ids* through the openai client, so
the engine sees exactly the prompt the builtin engine would, and its greedy text is the same.
The engine batches concurrent requests itself (continuous batching), so radllama hands them
over as they come (`DynamicBatcher` with one request per batch, `engine_concurrency` workers).

The vLLM CPU build lives in its own venv (its torch and transformers pins are not ours):
``make engines`` builds ``.venv-engines/vllm``; radllama looks for it in ``$RADLLAMA_ENGINES_DIR``
(default ``./.venv-engines``). For a LoRA run vLLM loads the base and serves the adapter as the
LoRA module ``rad``; a full run (or a merged export) is served as it is::

    with open_engine(RUN_DIR, config) as (model, remote):   # model: no weights in this process
        app = create_app(ServingEngine(model, config, remote=remote))

Stopping radllama stops the engine (its whole process group; also when radllama dies, through
the parent-death signal on Linux).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radllama.core.errors import ConfigError, RadllamaError
from radllama.core.prompts import strip_prepend
from radllama.model import loader
from radllama.serving.schemas import ServeConfig
from radllama.serving.streaming import stable_text

if TYPE_CHECKING:
    from radllama.generation.inference import GenerationOutput, ImpressionModel
    from radllama.serving.engine import GenerationJob

logger = logging.getLogger("radllama.serving")

ENGINES_ENV = "RADLLAMA_ENGINES_DIR"
LORA_NAME = "rad"  # the adapter's name at the engine (`--lora-modules rad=RUN_DIR`)
# vLLM accepts only these LoRA ranks for --max-lora-rank.
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


class EngineError(RadllamaError):
    """An engine is missing, does not start, or does not answer."""


def engines_dir() -> Path:
    """Where the engine venvs are: ``$RADLLAMA_ENGINES_DIR``, else ``./.venv-engines``."""
    return Path(os.environ.get(ENGINES_ENV) or ".venv-engines").expanduser().absolute()


def engine_python(name: str) -> Path:
    """The python of engine venv `name` (vllm, llamacpp), checked to be completely built."""
    venv = engines_dir() / name
    python = venv / "bin" / "python"
    if not python.is_file() or not (venv / ".installed").is_file():
        raise EngineError(
            f"--engine {name}: no {name} engine at {venv}; build it with `make engines` in the "
            f"radllama checkout (or set {ENGINES_ENV} to the folder that holds {name}/)"
        )
    return python


# ---- talking to an engine ----------------------------------------------------------------------
@dataclass
class RemoteEngine:
    """An OpenAI-compatible engine at `base_url` serving `model_name` (token-id prompts)."""

    base_url: str
    model_name: str
    max_context: int | None  # the engine's max_model_len when it reports one
    tokenizer: Any  # radllama's tokenizer: prompts -> ids (a copy used under a lock)
    eos_token_ids: list[int]
    kind: str = "url"
    process: EngineProcess | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        import openai

        # One client for all worker threads (httpx pools connections); retries are the
        # batcher's business, not the client's.
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key="EMPTY", max_retries=0, timeout=600
        )

    @property
    def alive(self) -> bool:
        return self.process is None or self.process.running

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.base_url, "model": self.model_name,
                "alive": self.alive}  # fmt: skip

    def encode(self, prompt: str) -> list[int]:
        with self._lock:  # a fast tokenizer's state must not be shared across threads
            return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]

    def generate(self, job: GenerationJob) -> GenerationOutput:
        """One job, streamed from the engine (so a cancelled job stops it: closing the
        stream aborts the request at vLLM); text deltas go to the job's sink."""
        from radllama.generation.inference import GenerationOutput

        ids = self.encode(job.prompt)
        stream = self.client.completions.create(
            model=self.model_name,
            prompt=ids,
            max_tokens=job.max_tokens,
            temperature=job.temperature,
            top_p=job.top_p,
            stop=list(job.stop) or None,
            stream=True,
            stream_options={"include_usage": True},
            # As the builtin engine: stop at every EOS id radllama knows, no special tokens.
            extra_body={"stop_token_ids": self.eos_token_ids, "skip_special_tokens": True},
        )
        text, finish, completion_tokens = "", None, 0
        with contextlib.closing(stream):
            for chunk in stream:
                for choice in chunk.choices:
                    text += choice.text or ""
                    finish = choice.finish_reason or finish
                if chunk.usage is not None:
                    completion_tokens = chunk.usage.completion_tokens
                if job.sink is not None:
                    job.sink.offer(stable_text(text, job.stop, job.impression))
                if job.cancel.is_set():
                    break
        raw = text.strip()
        output = GenerationOutput(raw, strip_prepend(raw), len(ids), completion_tokens,
                                  "stop" if finish == "stop" else "length")  # fmt: skip
        if job.sink is not None and not job.cancel.is_set():
            job.sink.finish(output.prediction if job.impression else output.raw_text)
        return output


def connect(
    base_url: str, model: ImpressionModel, config: ServeConfig, wait_s: float = 5.0
) -> RemoteEngine:
    """A `RemoteEngine` for the engine at `base_url`; one line when it does not answer."""
    import copy

    import httpx

    base_url = base_url.rstrip("/")
    base_url = base_url if base_url.endswith("/v1") else base_url + "/v1"
    try:
        response = httpx.get(f"{base_url}/models", timeout=wait_s)
        response.raise_for_status()
        served = response.json()["data"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise EngineError(
            f"--engine-url {base_url} does not answer GET /models as an OpenAI-compatible "
            f"server ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            "; start the engine or fix the URL"
        ) from None
    names = [card.get("id") for card in served if isinstance(card, dict)]
    name = config.engine_model or (LORA_NAME if LORA_NAME in names else (names or [None])[0])
    if name is None or name not in names:
        raise EngineError(
            f"the engine at {base_url} serves {names}, not {name!r}; pass --engine-model "
            "with one of those"
        )
    card = served[names.index(name)]
    parent = next((c for c in served if c.get("id") == card.get("parent")), card)
    max_len = card.get("max_model_len") or parent.get("max_model_len")
    return RemoteEngine(base_url, name, int(max_len) if max_len else None,
                        copy.deepcopy(model.tokenizer), list(model.eos_token_ids))  # fmt: skip


# ---- starting vLLM -------------------------------------------------------------------------------
def vllm_command(
    python: Path, model_dir: str | Path, config: ServeConfig, port: int
) -> tuple[list[str], str]:
    """The vLLM OpenAI server command for a run, and the model name to ask it for: a full
    run or model directory as it is (a .gguf: its converted directory), an adapter run as its
    base plus the LoRA module ``rad``."""
    source = loader.resolve_model(Path(model_dir).expanduser())
    if source.kind == "hub":
        raise EngineError("--engine vllm serves local models only; pass a RUN_DIR or model dir")
    weights = loader.weights_dir(source)  # a GGUF: its converted HF directory
    name = Path(weights).name if source.is_adapter else source.path.name
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server",
               "--model", weights, "--tokenizer", loader.tokenizer_dir(source),
               "--served-model-name", name, "--host", "127.0.0.1", "--port", str(port),
               "--dtype", config.engine_dtype,
               "--max-model-len", str(config.engine_max_model_len)]  # fmt: skip
    if source.is_adapter:
        rank = int(_read_adapter_config(source.path).get("r", 16))
        max_rank = next((r for r in _VLLM_LORA_RANKS if r >= rank), rank)
        command += ["--enable-lora", "--lora-modules", f"{LORA_NAME}={source.path}",
                    "--max-lora-rank", str(max_rank)]  # fmt: skip
        name = LORA_NAME
    return command, name


def _read_adapter_config(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / loader.ADAPTER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def state_dir(config: ServeConfig) -> Path:
    return config.engine_state_dir or loader.cache_root() / "engines"


class EngineProcess:
    """A supervised engine server: its own process group, a log file, stopped with us."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.command, self.log_path = command, log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, preexec_fn=_die_with_parent,
            )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return next((line.strip() for line in reversed(lines) if line.strip()), "(empty log)")

    def wait_ready(self, url: str, timeout_s: float) -> float:
        """Poll `url` until it answers 200; seconds it took. One line when the engine exits
        or the timeout passes first."""
        import httpx

        started = time.monotonic()
        while True:
            if not self.running:
                raise EngineError(
                    f"the engine exited (code {self.popen.returncode}) before it was ready: "
                    f"{self.last_log_line()} (log: {self.log_path})"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                self.stop()
                raise EngineError(
                    f"the engine was not ready after {timeout_s:g} s (--engine-start-timeout-s): "
                    f"{self.last_log_line()} (log: {self.log_path})"
                )
            time.sleep(0.5)

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM to the engine's process group (vLLM's engine core is a child), then KILL."""
        if self.popen.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when radllama dies (Linux PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def vllm_env(config: ServeConfig, folder: Path) -> dict[str, str]:
    """vLLM's environment: KV cache size on CPU, and every cache and temp file in our folder."""
    for name in ("cache", "inductor", "tmp"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    # The engine venv is self-contained: our PYTHONPATH (a checkout's src/) is not for it.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return dict(
        inherited,
        VLLM_CPU_KVCACHE_SPACE=f"{config.engine_kv_cache_gib:g}",
        VLLM_CACHE_ROOT=str(folder / "cache"),
        TORCHINDUCTOR_CACHE_DIR=str(folder / "inductor"),
        TMPDIR=str(folder / "tmp"),
        VLLM_NO_USAGE_STATS="1",  # offline hosts: no usage reporting
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )


@contextlib.contextmanager
def start_vllm(model_dir: str | Path, config: ServeConfig) -> Iterator[tuple[EngineProcess, str]]:
    """Start vLLM for `model_dir`, wait until it answers; yields (process, base_url)."""
    python = engine_python("vllm")
    port = _free_port()
    command, name = vllm_command(python, model_dir, config, port)
    folder = state_dir(config)
    log_path = folder / "logs" / f"vllm-{port}.log"
    logger.info("starting vLLM for %s (log: %s)", name, log_path)
    process = EngineProcess(command, vllm_env(config, folder), log_path)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        took = process.wait_ready(f"{base_url}/models", config.engine_start_timeout_s)
        logger.info("vLLM ready after %.0f s at %s (model %s)", took, base_url, name)
        yield process, base_url
    finally:
        process.stop()


@contextlib.contextmanager
def open_engine(
    model_dir: str | Path, config: ServeConfig
) -> Iterator[tuple[ImpressionModel, RemoteEngine]]:
    """The run's prompting side (no weights) and its engine: started (engine=vllm) or
    connected to (engine_url). Whatever we started is stopped on exit."""
    from radllama.generation.inference import ImpressionModel

    if not config.remote_engine:
        raise ConfigError("open_engine: engine=builtin runs in this process")
    if config.engine == "vllm":
        engine_python("vllm")  # before anything slow: one line naming `make engines`
    model = ImpressionModel.load_prompting(
        model_dir, index=config.index, num_examples=config.num_examples
    )
    if config.engine_url is not None:
        yield model, connect(config.engine_url, model, config)
        return
    with start_vllm(model_dir, config) as (process, base_url):
        remote = connect(base_url, model, config)
        remote.kind, remote.process = "vllm", process
        yield model, remote
