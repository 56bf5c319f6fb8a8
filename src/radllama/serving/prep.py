"""Request preparation off the event loop, bounded and inside each request's deadline.

Tokenising a prompt, rendering a chat template, retrieving prior cases and computing the
hallucination flags run on one helper thread (the engine's tokenizer copy is not
thread-safe; a 1 MB findings text takes ~1 s to tokenise and ``/health`` must answer
meanwhile). Before issue 20 that thread's queue was unbounded and outside the request timeout:
a small request waited 133 s behind 150 large ones with a 120 s timeout. Now

- at most ``max_waiting`` requests wait for (or are in) preparation; one more is refused at
  once with `QueueFull` (HTTP 503 + Retry-After), before any work is queued for it;
- a request's wait counts against its deadline (`request_timeout_s` from its arrival): when
  the deadline passes it gets `RequestTimeout` (503) and its work, if it has not started,
  never runs.

>>> import asyncio
>>> prep = PrepQueue(max_waiting=2)
>>> asyncio.run(prep.run(len, "abc", deadline=float("inf")))
3
>>> prep.shutdown()
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from radllama.serving.batcher import QueueFull, RequestTimeout


class PrepQueue:
    """One preparation thread with a bounded wait; see the module docstring."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radllama-prep")
        self.waiting = 0  # admitted and not finished; changed on the event loop thread only
        self.rejected = 0
        self.timed_out = 0
        self._mean_s = 0.05  # running mean of one preparation's seconds (for Retry-After)

    def retry_after_s(self) -> int:
        return max(1, round(self.waiting * self._mean_s))

    async def run(self, fn: Callable, *args: Any, deadline: float, admit: bool = True) -> Any:
        """`fn(*args)` on the preparation thread. `deadline` is in the event loop's clock
        (``loop.time()``). `admit=False` skips the bound: the finishing step of a request that
        was admitted already (its generation is done; refusing it would waste that)."""
        loop = asyncio.get_running_loop()
        if admit and self.waiting >= self.max_waiting:
            self.rejected += 1
            raise QueueFull(
                f"server busy: {self.waiting} requests waiting to be tokenised "
                f"(max_prep_queue={self.max_waiting})",
                retry_after_s=self.retry_after_s(),
            )
        self.waiting += 1
        try:
            future = self._executor.submit(self._timed, fn, *args)
            try:
                return await asyncio.wait_for(
                    asyncio.wrap_future(future), max(0.0, deadline - loop.time())
                )
            except TimeoutError:
                future.cancel()  # not started yet: it never runs
                self.timed_out += 1
                raise RequestTimeout(
                    "request not answered in time: it waited too long to be tokenised",
                    retry_after_s=self.retry_after_s(),
                ) from None
        finally:
            self.waiting -= 1

    def _timed(self, fn: Callable, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._mean_s = 0.8 * self._mean_s + 0.2 * (time.perf_counter() - started)

    def snapshot(self) -> dict[str, int]:
        return {
            "waiting": self.waiting,
            "max_waiting": self.max_waiting,
            "rejected_queue_full": self.rejected,
            "timed_out": self.timed_out,
        }

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
