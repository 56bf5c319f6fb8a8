"""Dynamic batching: concurrent requests share one model on one worker thread.

A request is queued; the worker takes the oldest one, waits up to ``batch_wait_ms`` (counted
from that request's arrival, so under load batches form without extra delay) for up to
``max_batch_size - 1`` compatible requests (same ``key``, e.g. the same sampling settings), and
runs them as one call. With ``workers > 1`` several batches run at once (an engine that batches
by itself, such as vLLM, gets ``max_batch_size=1`` and one worker per request in flight). The
queue is bounded: `submit` raises `QueueFull` at once instead of
letting callers pile up, and `run` gives up after a timeout. A failing batch is retried one
request at a time so that one bad input cannot fail its neighbours.

>>> batcher = DynamicBatcher(lambda xs: [x * 2 for x in xs], max_batch_size=4).start()
>>> batcher.submit(21).result().value
42
>>> batcher.stop()
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("radllama.serving")


class BatcherError(Exception):
    """Base for the batcher's refusals; `retry_after_s` feeds the HTTP Retry-After header."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueFull(BatcherError):
    """The bounded queue is full: the caller should retry later (HTTP 503)."""


class RequestTimeout(BatcherError):
    """The request was not answered in time (HTTP 503)."""


class BatchFailed(BatcherError):
    """The model raised on this request, even when run alone."""


class ShuttingDown(BatcherError):
    """The server is stopping; queued requests are refused."""


@dataclass
class Completed:
    """A result plus how it was produced (for the request log)."""

    value: Any
    batch_size: int
    queue_ms: float
    run_ms: float


@dataclass
class _Job:
    payload: Any
    key: Hashable
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class BatcherMetrics:
    """Counters since start (read under the batcher's lock)."""

    batches: int = 0
    requests: int = 0
    max_batch_size: int = 0
    rejected_queue_full: int = 0
    timed_out: int = 0
    failed: int = 0
    busy_s: float = 0.0
    batch_sizes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "max_batch_size": self.max_batch_size,
            "mean_batch_size": round(self.requests / self.batches, 3) if self.batches else 0.0,
            "batch_size_histogram": {str(k): v for k, v in sorted(self.batch_sizes.items())},
            "rejected_queue_full": self.rejected_queue_full,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "busy_s": round(self.busy_s, 3),
        }


class DynamicBatcher:
    """Collects requests for a few ms and runs them as one batch on a single worker thread.

    ``run_batch(payloads) -> results`` (same length and order) is called only from the worker
    thread, so the model never sees concurrent calls (with ``workers`` > 1, from that many
    threads at once). ``key(payload)`` groups requests that may share a batch (default: all).
    """

    def __init__(
        self,
        run_batch: Callable[[list[Any]], list[Any]],
        *,
        max_batch_size: int = 16,
        batch_wait_ms: float = 10.0,
        max_queue: int = 256,
        key: Callable[[Any], Hashable] | None = None,
        workers: int = 1,
    ) -> None:
        self._run_batch = run_batch
        self.workers = workers
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_ms / 1000.0
        self.max_queue = max_queue
        self._key = key or (lambda payload: None)
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._paused = False
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self.metrics = BatcherMetrics()

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> DynamicBatcher:
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"radllama-batcher-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the running batch, refuse what is still queued, join the worker."""
        with self._cond:
            self._stopping = True
            pending, self._queue = list(self._queue), deque()
            self._cond.notify_all()
        for job in pending:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(ShuttingDown("server is shutting down"))
        for thread in self._threads:
            thread.join(timeout_s)

    def pause(self) -> None:
        """Stop taking new batches (queued requests wait); for draining and tests."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    # ---- submitting -----------------------------------------------------------------------
    def submit(self, payload: Any) -> Future:
        """Queue one request; its future resolves to `Completed`. Raises `QueueFull`."""
        job = _Job(payload, self._key(payload))
        with self._cond:
            if self._stopping:
                raise ShuttingDown("server is shutting down")
            if len(self._queue) >= self.max_queue:
                # Timed-out requests leave cancelled jobs behind; drop them before refusing.
                self._queue = deque(j for j in self._queue if not j.future.cancelled())
            if len(self._queue) >= self.max_queue:
                self.metrics.rejected_queue_full += 1
                raise QueueFull(
                    f"server busy: {len(self._queue)} requests queued (max_queue={self.max_queue})",
                    retry_after_s=self._retry_after_locked(),
                )
            self._queue.append(job)
            self._cond.notify_all()
        return job.future

    async def run(self, payload: Any, timeout_s: float, wait_s: float | None = None) -> Completed:
        """Submit and await the result from asyncio code; `RequestTimeout` after `wait_s`
        (default `timeout_s`: the request's timeout, of which `wait_s` is what is left)."""
        future = self.submit(payload)
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(future), timeout_s if wait_s is None else wait_s
            )
        except TimeoutError:
            raise self.expire(future, timeout_s) from None

    def expire(self, future: Future, timeout_s: float) -> RequestTimeout:
        """Give up on a submitted request: a queued job is cancelled (the worker skips it); a
        running one is left to its payload's own cancel signal. Returns the error to raise."""
        future.cancel()
        with self._cond:
            self.metrics.timed_out += 1
            retry = self._retry_after_locked()
        return RequestTimeout(f"request not answered within {timeout_s:g} s", retry_after_s=retry)

    def _retry_after_locked(self) -> int:
        # Seconds until the queue ahead of a new request has drained, from the mean batch time.
        m = self.metrics
        per_batch = m.busy_s / m.batches if m.batches else 1.0
        batches_ahead = len(self._queue) / (self.max_batch_size * self.workers) + 1
        return max(1, round(per_batch * batches_ahead))

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return dict(
                self.metrics.as_dict(),
                queued=len(self._queue),
                max_queue=self.max_queue,
                configured_max_batch_size=self.max_batch_size,
                batch_wait_ms=self.batch_wait_s * 1000,
                paused=self._paused,
                worker_alive=self.alive,
            )

    # ---- worker ---------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._execute(batch)

    def _next_batch(self) -> list[_Job] | None:
        with self._cond:
            while not self._stopping and (self._paused or not self._queue):
                self._cond.wait()
            if self._stopping:
                return None
            deadline = self._queue[0].enqueued + self.batch_wait_s
            while len(self._queue) < self.max_batch_size and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._take_locked()

    def _take_locked(self) -> list[_Job]:
        """Oldest live job plus up to max_batch_size - 1 later jobs with the same key."""
        batch: list[_Job] = []
        rest: deque[_Job] = deque()
        for job in self._queue:
            fits = len(batch) < self.max_batch_size and (not batch or job.key == batch[0].key)
            if job.future.cancelled():
                continue
            if not fits:
                rest.append(job)
            elif job.future.set_running_or_notify_cancel():
                batch.append(job)
        self._queue = rest
        return batch

    def _execute(self, batch: list[_Job]) -> None:
        started = time.monotonic()
        try:
            results = self._run_batch([job.payload for job in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)}")
        except Exception as error:  # the model failed: isolate the culprit(s)
            logger.error(
                "batch of %d failed (%s); retrying one by one", len(batch), type(error).__name__
            )
            logger.debug("batch failure detail", exc_info=True)
            results = self._run_singly(batch) if len(batch) > 1 else [error]
        run_s = time.monotonic() - started
        with self._cond:
            m = self.metrics
            m.batches += 1
            m.requests += len(batch)
            m.max_batch_size = max(m.max_batch_size, len(batch))
            m.batch_sizes[len(batch)] += 1
            m.busy_s += run_s
            m.failed += sum(isinstance(r, Exception) for r in results)
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                job.future.set_exception(
                    BatchFailed(
                        f"generation failed ({type(result).__name__}); the error was logged"
                    )
                )
            else:
                queue_ms = (started - job.enqueued) * 1000
                job.future.set_result(Completed(result, len(batch), queue_ms, run_s * 1000))

    def _run_singly(self, batch: list[_Job]) -> list[Any]:
        results: list[Any] = []
        for job in batch:
            try:
                results.append(self._run_batch([job.payload])[0])
            except Exception as error:
                logger.error("request failed alone (%s)", type(error).__name__)
                logger.debug("request failure detail", exc_info=True)
                results.append(error)
        return results
