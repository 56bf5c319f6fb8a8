"""Real generation engines: a vLLM OpenAI server that radllama starts and supervises, or an
OpenAI-compatible engine already running, spoken to with *token-id* prompts.

radllama renders and tokenises every prompt itself (the run's prompt style and chat template)
and sends the ids through the openai client's completions endpoint, so the engine sees exactly
the prompt the in-process model would, and its greedy text is the same. Two users:
``radllama generate --backend vllm`` (this stage) and ``radllama serve --engine vllm`` /
``--engine-url`` (`radllama.serving.engines`, which stays in front of the engine)::

    with launch(RUN_DIR, options) as (model, client):   # model: no weights in this process
        text, finish, n = client.complete(client.encode(model.build_prompt(exam, findings)), 128)

The vLLM CPU build lives in its own venv (its torch and transformers pins are not ours):
``make engines`` builds ``.venv-engines/vllm``; radllama looks for it in ``$RADLLAMA_ENGINES_DIR``
(default ``./.venv-engines``). For a LoRA run vLLM loads the base and serves the adapter as the
LoRA module ``rad``; a full run (or a merged export) is served as it is. Stopping radllama stops
the engine (its whole process group; also when radllama dies, through the parent-death signal
on Linux).

An engine behind a key (``--engine-api-key-env`` for serve, ``--api-key-env`` for generate) gets
it as ``Authorization: Bearer``; the key is never logged nor put in an error message.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from radllama.core.config import StrictModel
from radllama.core.errors import RadllamaError
from radllama.model import loader

if TYPE_CHECKING:
    from radllama.generation.inference import ImpressionModel

logger = logging.getLogger("radllama.engines")

ENGINES_ENV = "RADLLAMA_ENGINES_DIR"
LORA_NAME = "rad"  # the adapter's name at the engine (`--lora-modules rad=RUN_DIR`)
# vLLM accepts only these LoRA ranks for --max-lora-rank.
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


class EngineError(RadllamaError):
    """An engine is missing, does not start, or does not answer."""


class EngineOptions(StrictModel):
    """How radllama starts vLLM (`serve --engine vllm`, `generate --backend vllm`)."""

    engine_max_model_len: int = Field(
        1024, ge=64, description="vLLM: context length vLLM reserves KV cache for."
    )
    engine_kv_cache_gib: float = Field(
        2.0, gt=0, description="vLLM on CPU: KV cache size (VLLM_CPU_KVCACHE_SPACE)."
    )
    engine_dtype: Literal["float32", "bfloat16", "auto"] = Field(
        "float32", description="vLLM: weight dtype (float32 matches the builtin engine on CPU)."
    )
    engine_start_timeout_s: float = Field(
        600.0, gt=0, description="vLLM: seconds to wait for the engine to be ready."
    )
    engine_state_dir: Path | None = Field(
        None,
        description="vLLM: folder for the engine's log and compile caches (default: "
        "$RADLLAMA_CACHE/engines, i.e. ~/.cache/radllama/engines).",
    )
    engine_args: list[str] = Field(
        default_factory=list,
        description="vLLM: extra server arguments, e.g. --engine-arg=--enable-prefix-caching "
        "or --engine-arg=--max-num-batched-tokens=4096.",
    )


def engines_dir() -> Path:
    """Where the engine venvs are: ``$RADLLAMA_ENGINES_DIR``, else ``./.venv-engines``."""
    return Path(os.environ.get(ENGINES_ENV) or ".venv-engines").expanduser().absolute()


def engine_python(name: str) -> Path:
    """The python of engine venv `name` (vllm, llamacpp), checked to be completely built."""
    venv = engines_dir() / name
    python = venv / "bin" / "python"
    if not python.is_file() or not (venv / ".installed").is_file():
        raise EngineError(
            f"no {name} engine at {venv}; build it with `make engines` in the radllama "
            f"checkout (or set {ENGINES_ENV} to the folder that holds {name}/)"
        )
    return python


def env_api_key(env_name: str | None, option: str) -> str | None:
    """The key in environment variable `env_name` (None when no variable is named); an unset
    or empty variable is an error (fail closed). The message names the variable, not the key."""
    if not env_name:
        return None
    key = os.environ.get(env_name, "").strip()
    if not key:
        raise EngineError(
            f"{option} {env_name}: that environment variable is unset or empty; export "
            f"{env_name}=<key> or drop the option"
        )
    return key


# ---- talking to an engine ----------------------------------------------------------------------
class EngineClient:
    """An OpenAI-compatible engine at `base_url` serving `model_name`, asked with token ids.

    `tokenizer` is radllama's (a private copy used under a lock: a fast tokenizer's state must
    not be shared across threads); `eos_token_ids` stop generation as in the builtin engine."""

    def __init__(
        self,
        base_url: str,
        model_name: str,
        max_context: int | None,
        tokenizer: Any,
        eos_token_ids: list[int],
        api_key: str | None = None,
        kind: str = "url",
    ) -> None:
        import openai

        self.base_url, self.model_name, self.max_context = base_url, model_name, max_context
        self.tokenizer, self.eos_token_ids, self.kind = tokenizer, eos_token_ids, kind
        self.process: EngineProcess | None = None
        self._lock = threading.Lock()
        # One client for all worker threads (httpx pools connections); the openai client sends
        # the key as `Authorization: Bearer` (a keyless engine ignores the placeholder).
        # Retries are the caller's business (the batcher's, generate's row errors).
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "EMPTY", max_retries=0, timeout=600
        )

    @property
    def alive(self) -> bool:
        return self.process is None or self.process.running

    def describe(self) -> dict[str, Any]:
        """What /health says about the engine (never the key)."""
        return {"kind": self.kind, "url": self.base_url, "model": self.model_name,
                "alive": self.alive}  # fmt: skip

    def encode(self, prompt: str) -> list[int]:
        """A rendered prompt's ids (the chat template already wrote BOS: none added)."""
        with self._lock:
            return list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def complete(
        self,
        ids: list[int],
        max_tokens: int,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: list[str] | None = None,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[str, str, int]:
        """(text, finish reason "stop"/"length", completion tokens) for prompt `ids`, streamed
        from the engine (closing the stream aborts the request at vLLM, so a cancelled call
        stops it); `on_text(text so far)` after every chunk."""
        stream = self.client.completions.create(
            model=self.model_name,
            prompt=ids,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=stop or None,
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
                if on_text is not None:
                    on_text(text)
                if cancelled is not None and cancelled():
                    break
        return text, "stop" if finish == "stop" else "length", completion_tokens


def normalise_url(base_url: str) -> str:
    """``http://host:port`` or ``.../v1`` -> ``.../v1`` (what the openai client wants)."""
    base_url = base_url.rstrip("/")
    return base_url if base_url.endswith("/v1") else base_url + "/v1"


def connect(
    base_url: str,
    model: ImpressionModel,
    engine_model: str | None = None,
    api_key: str | None = None,
    wait_s: float = 5.0,
) -> EngineClient:
    """An `EngineClient` for the engine at `base_url` (its model: `engine_model`, else the LoRA
    module ``rad`` when served, else the first); one line when it does not answer."""
    import httpx

    base_url = normalise_url(base_url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", timeout=wait_s, headers=headers)
        response.raise_for_status()
        served = response.json()["data"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status == 401:
            raise EngineError(
                f"the engine at {base_url} answers 401 Unauthorized: it wants an API key; pass "
                "the environment variable that holds it (--engine-api-key-env / --api-key-env)"
            ) from None
        raise EngineError(
            f"the engine URL {base_url} does not answer GET /models as an OpenAI-compatible "
            f"server ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            "; start the engine or fix the URL"
        ) from None
    names = [card.get("id") for card in served if isinstance(card, dict)]
    name = engine_model or (LORA_NAME if LORA_NAME in names else (names or [None])[0])
    if name is None or name not in names:
        raise EngineError(
            f"the engine at {base_url} serves {names}, not {name!r}; pass the model name with "
            "one of those (--engine-model / --api-model)"
        )
    card = served[names.index(name)]
    parent = next((c for c in served if c.get("id") == card.get("parent")), card)
    max_len = card.get("max_model_len") or parent.get("max_model_len")
    return EngineClient(base_url, name, int(max_len) if max_len else None,
                        copy.deepcopy(model.tokenizer), list(model.eos_token_ids), api_key)  # fmt: skip


# ---- starting vLLM -------------------------------------------------------------------------------
def vllm_command(
    python: Path, model_dir: str | Path, options: EngineOptions, port: int
) -> tuple[list[str], str]:
    """The vLLM OpenAI server command for a run, and the model name to ask it for: a full
    run or model directory as it is (a .gguf: its converted directory), an adapter run as its
    base plus the LoRA module ``rad``."""
    source = loader.resolve_model(Path(model_dir).expanduser())
    if source.kind == "hub":
        raise EngineError("vLLM here serves local models only; pass a RUN_DIR or model dir")
    weights = loader.weights_dir(source)  # a GGUF: its converted HF directory
    name = Path(weights).name if source.is_adapter else source.path.name
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server",
               "--model", weights, "--tokenizer", loader.tokenizer_dir(source),
               "--served-model-name", name, "--host", "127.0.0.1", "--port", str(port),
               "--dtype", options.engine_dtype,
               "--max-model-len", str(options.engine_max_model_len)]  # fmt: skip
    if source.is_adapter:
        rank = int(_read_adapter_config(source.path).get("r", 16))
        max_rank = next((r for r in _VLLM_LORA_RANKS if r >= rank), rank)
        command += ["--enable-lora", "--lora-modules", f"{LORA_NAME}={source.path}",
                    "--max-lora-rank", str(max_rank)]  # fmt: skip
        name = LORA_NAME
    return command + list(options.engine_args), name


def _read_adapter_config(run_dir: Path) -> dict[str, Any]:
    try:
        found = json.loads((run_dir / loader.ADAPTER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def state_dir(options: EngineOptions) -> Path:
    return options.engine_state_dir or loader.cache_root() / "engines"


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


# vLLM's processes talk over ZeroMQ IPC sockets named TMPDIR/<uuid4> (37 more characters); a
# socket path holds at most 107 bytes (sizeof(sockaddr_un.sun_path) - 1 on Linux).
_SOCKET_PATH_MAX, _IPC_NAME_LEN = 107, 37


def _short_tmp(wanted: Path) -> Path:
    """`wanted` as vLLM's TMPDIR when its socket paths fit, else a short folder of ours under
    the system temp dir (a deep --engine-state-dir must not stop vLLM from starting)."""
    if len(str(wanted)) + _IPC_NAME_LEN <= _SOCKET_PATH_MAX:
        return wanted
    import tempfile

    return Path(tempfile.mkdtemp(prefix="radllama-vllm-"))


def vllm_env(options: EngineOptions, folder: Path) -> dict[str, str]:
    """vLLM's environment: KV cache size on CPU, and every cache and temp file in our folder.
    Other VLLM_* variables (e.g. VLLM_CPU_OMP_THREADS_BIND) pass through from ours."""
    for name in ("cache", "inductor", "tmp"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    # The engine venv is self-contained: our PYTHONPATH (a checkout's src/) is not for it.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return dict(
        inherited,
        VLLM_CPU_KVCACHE_SPACE=f"{options.engine_kv_cache_gib:g}",
        VLLM_CACHE_ROOT=str(folder / "cache"),
        TORCHINDUCTOR_CACHE_DIR=str(folder / "inductor"),
        TMPDIR=str(_short_tmp(folder / "tmp")),
        VLLM_NO_USAGE_STATS="1",  # offline hosts: no usage reporting
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )


@contextlib.contextmanager
def start_vllm(
    model_dir: str | Path, options: EngineOptions
) -> Iterator[tuple[EngineProcess, str, str]]:
    """Start vLLM for `model_dir`, wait until it answers; yields (process, base_url, model)."""
    python = engine_python("vllm")
    port = _free_port()
    command, name = vllm_command(python, model_dir, options, port)
    folder = state_dir(options)
    log_path = folder / "logs" / f"vllm-{port}.log"
    logger.info("starting vLLM for %s (log: %s)", name, log_path)
    process = EngineProcess(command, vllm_env(options, folder), log_path)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        took = process.wait_ready(f"{base_url}/models", options.engine_start_timeout_s)
        logger.info("vLLM ready after %.0f s at %s (model %s)", took, base_url, name)
        yield process, base_url, name
    finally:
        process.stop()


@contextlib.contextmanager
def launch(
    model_dir: str | Path,
    options: EngineOptions,
    *,
    url: str | None = None,
    engine_model: str | None = None,
    api_key: str | None = None,
    index: str | Path | None = None,
    num_examples: int | None = None,
) -> Iterator[tuple[ImpressionModel, EngineClient]]:
    """The run's prompting side (no weights) and its engine: connected to (`url`) or started
    (vLLM from the engines venv). Whatever was started is stopped on exit."""
    from radllama.generation.inference import ImpressionModel

    if url is None:
        engine_python("vllm")  # before anything slow: one line naming `make engines`
    model = ImpressionModel.load_prompting(model_dir, index=index, num_examples=num_examples)
    if url is not None:
        yield model, connect(url, model, engine_model, api_key)
        return
    with start_vllm(model_dir, options) as (process, base_url, _):
        client = connect(base_url, model, engine_model)
        client.kind, client.process = "vllm", process
        yield model, client
