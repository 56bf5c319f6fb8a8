"""A test's own FastAPI app served by uvicorn on an ephemeral loopback port, in a thread."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI


class LoopbackServer:
    """Subclasses build the app in `_app()`; `with Server(...) as s:` gives `s.base_url`."""

    what = "the loopback server"  # named in the error when it does not start
    base_url = ""
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def _app(self) -> FastAPI:
        raise NotImplementedError

    def __enter__(self):
        config = uvicorn.Config(
            self._app(),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            log_config=None,  # don't rebind logging to a captured (later closed) sys.stderr
            timeout_graceful_shutdown=1,  # slow scripted handlers must not hold up teardown
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.what} did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
