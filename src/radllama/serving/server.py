"""`radllama serve` and `radllama impress`: the fine-tuned model as a local HTTP service.

The server speaks the OpenAI wire format (``/v1/chat/completions``, ``/v1/completions``,
``/v1/models``) so the `openai` client, radllama's own ``generate --backend openai`` and the
judge work against it unchanged, plus a task endpoint ``POST /v1/impressions``. Concurrent
requests share the model through a dynamic batcher (`radllama.serving.batcher`). Reports are
PHI: it binds to loopback by default, takes an API key from an environment variable, and logs
ids, sizes and timings, never text.

Public API::

    model = ImpressionModel.load(RUN_DIR)
    impress(model, "CT HEAD W/O", findings)            # -> {"impression", "model", "latency_ms", "flags"}
    app = build_app(model, ServeConfig(max_batch_size=8))  # a FastAPI app
    run_server(RUN_DIR, ServeConfig(port=8000))        # blocks (uvicorn)
    with start_in_thread(app) as server: server.base_url  # "http://127.0.0.1:PORT/v1"
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from radllama.core.errors import ConfigError
from radllama.core.guard import is_loopback_host
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine, check_impression_request, impress
from radllama.serving.http_policy import LOOPBACK_HOSTS, allowed_hosts
from radllama.serving.schemas import ApiError, ServeConfig

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from radllama.generation.inference import ImpressionModel
    from radllama.serving.engines import RemoteEngine

__all__ = [
    "ApiError",
    "check_impression_request",
    "ServeConfig",
    "ServingEngine",
    "build_app",
    "impress",
    "resolve_api_key",
    "run_server",
    "start_in_thread",
]

logger = logging.getLogger("radllama.serving")


def resolve_api_key(config: ServeConfig) -> str | None:
    """The API key from `config.api_key_env`; an unset/empty variable is an error (fail closed)."""
    if not config.api_key_env:
        return None
    key = os.environ.get(config.api_key_env, "").strip()
    if not key:
        raise ConfigError(
            f"--api-key-env {config.api_key_env}: that environment variable is unset or empty; "
            f"export {config.api_key_env}=<secret> or drop the option"
        )
    return key


def build_app(
    model: ImpressionModel, config: ServeConfig | None = None, remote: RemoteEngine | None = None
) -> FastAPI:
    """A FastAPI app serving `model` (the batcher starts with the app's lifespan); with
    `remote` (`radllama.serving.engines`), that engine generates."""
    config = config or ServeConfig()
    return create_app(ServingEngine(model, config, remote), api_key=resolve_api_key(config))


def bind_warnings(config: ServeConfig, api_key: str | None) -> list[str]:
    """What a bind address off loopback should tell the operator before clients arrive."""
    if is_loopback_host(config.host):
        return []
    warnings = []
    if api_key is None:
        warnings.append(
            f"binding to {config.host} without an API key: anyone who can reach this host can "
            "send reports; set --api-key-env"
        )
    if allowed_hosts(config.host, config.allowed_hosts) == LOOPBACK_HOSTS:
        warnings.append(
            f"binding to {config.host} answers only Host: localhost / 127.0.0.1 / ::1 (a guard "
            "against DNS rebinding): clients using another name get 421; add --allowed-host "
            "NAME for each name they use"
        )
    return warnings


def run_server(model_dir: str | Path, config: ServeConfig) -> None:
    """Load the model and serve it with uvicorn until interrupted."""
    import uvicorn

    from radllama.generation.inference import ImpressionModel

    api_key = resolve_api_key(config)  # before the (slow) model load
    for warning in bind_warnings(config, api_key):
        logger.warning("%s", warning)
    if config.remote_engine:  # vLLM (started here) or --engine-url generates; we stay in front
        from radllama.serving.engines import open_engine

        # A failed start is one line (the CLI's); the log says more once the engine is up.
        with open_engine(model_dir, config) as (model, remote):
            app = create_app(ServingEngine(model, config, remote=remote), api_key=api_key)
            _configure_logging()
            uvicorn.Server(uvicorn_config(app, config, log_level="info")).run()
        return
    model = ImpressionModel.load(model_dir, index=config.index, num_examples=config.num_examples)
    app = create_app(ServingEngine(model, config), api_key=api_key)
    _configure_logging()
    uvicorn.Server(uvicorn_config(app, config, log_level="info")).run()


def uvicorn_config(app: FastAPI, config: ServeConfig, **overrides) -> uvicorn.Config:
    """uvicorn settings with the server's HTTP limits (see `radllama.serving.limits`)."""
    import uvicorn

    from radllama.serving.limits import guarded_h11_protocol

    settings = dict(
        host=config.host,
        port=config.port,
        # access_log off: our request log has the same facts plus ids and sizes.
        access_log=False,
        http=guarded_h11_protocol(config.header_timeout_s),
        h11_max_incomplete_event_size=config.max_header_bytes,
        timeout_keep_alive=config.keep_alive_s,
        timeout_graceful_shutdown=5,
    )
    settings.update(overrides)
    return uvicorn.Config(app, **settings)


def _configure_logging() -> None:
    log = logging.getLogger("radllama.serving")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str  # ends with /v1, as the openai client wants it
    root_url: str


@contextmanager
def start_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningServer]:
    """Run `app` with uvicorn in a background thread (an ephemeral port by default)."""
    import uvicorn

    engine = getattr(app.state, "engine", None)
    serve_config = engine.config if engine is not None else ServeConfig()
    config = uvicorn_config(
        app,
        serve_config,
        host=host,
        port=port,
        log_level="warning",
        # Embedded in another program (or a test): leave its logging set-up alone. uvicorn's
        # default dictConfig would bind handlers to the sys.stderr of the moment and flush
        # the previous ones, which fails when that stream has since been closed.
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="radllama-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the radllama server did not start")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    root = f"http://{host}:{bound_port}"
    try:
        yield RunningServer(server, thread, f"{root}/v1", root)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
