"""The dynamic batcher on its own: batch formation, bounded queue, timeouts, fault isolation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from radllama.serving.batcher import (
    BatchFailed,
    DynamicBatcher,
    QueueFull,
    RequestTimeout,
    ShuttingDown,
)


def _recording(calls: list[list], gate: threading.Event | None = None):
    def run_batch(payloads: list) -> list:
        if gate is not None:
            gate.wait(10)
        calls.append(list(payloads))
        return [f"done:{p}" for p in payloads]

    return run_batch


def test_queued_requests_run_together_up_to_max_batch_size_in_order():
    calls: list[list] = []
    batcher = DynamicBatcher(_recording(calls), max_batch_size=4, batch_wait_ms=0).start()
    batcher.pause()  # let ten requests queue up, then release them at once
    futures = [batcher.submit(i) for i in range(10)]
    batcher.resume()
    results = [f.result(10) for f in futures]
    batcher.stop()
    assert [r.value for r in results] == [f"done:{i}" for i in range(10)]
    assert calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [r.batch_size for r in results] == [4] * 8 + [2] * 2
    metrics = batcher.snapshot()
    assert (metrics["batches"], metrics["requests"], metrics["max_batch_size"]) == (3, 10, 4)
    assert metrics["batch_size_histogram"] == {"2": 1, "4": 2}


def test_only_requests_with_the_same_key_share_a_batch():
    calls: list[list] = []
    batcher = DynamicBatcher(
        _recording(calls), max_batch_size=8, batch_wait_ms=0, key=lambda p: p[0]
    ).start()
    batcher.pause()
    futures = [batcher.submit(p) for p in ["a1", "b1", "a2", "b2", "a3"]]
    batcher.resume()
    for future in futures:
        future.result(10)
    batcher.stop()
    assert calls == [["a1", "a2", "a3"], ["b1", "b2"]]


def test_wait_window_lets_late_requests_join_the_batch():
    calls: list[list] = []
    batcher = DynamicBatcher(_recording(calls), max_batch_size=8, batch_wait_ms=500).start()
    first = batcher.submit("early")
    second = batcher.submit("late")  # arrives within the first one's window
    # max_batch_size is not reached, so the worker waits out the window, then runs both.
    assert first.result(10).batch_size == second.result(10).batch_size == 2
    batcher.stop()
    assert calls == [["early", "late"]]


def test_full_queue_is_refused_at_once_with_a_retry_hint():
    batcher = DynamicBatcher(_recording([]), max_batch_size=2, max_queue=3).start()
    batcher.pause()
    futures = [batcher.submit(i) for i in range(3)]
    with pytest.raises(QueueFull) as refused:
        batcher.submit(99)
    assert refused.value.retry_after_s >= 1
    assert batcher.snapshot()["rejected_queue_full"] == 1
    batcher.resume()
    assert [f.result(10).value for f in futures] == ["done:0", "done:1", "done:2"]
    batcher.stop()


def test_timed_out_request_is_dropped_from_the_queue():
    calls: list[list] = []
    batcher = DynamicBatcher(_recording(calls), max_batch_size=4, batch_wait_ms=0).start()
    batcher.pause()

    async def scenario():
        with pytest.raises(RequestTimeout):
            await batcher.run("slow", timeout_s=0.05)

    asyncio.run(scenario())
    batcher.resume()
    assert batcher.submit("next").result(10).value == "done:next"
    batcher.stop()
    assert calls == [["next"]]  # the timed-out request never reached the model
    assert batcher.snapshot()["timed_out"] == 1


def test_a_failing_request_does_not_fail_its_batch_mates():
    def run_batch(payloads: list) -> list:
        if "poison" in payloads:
            raise ValueError("model blew up")
        return [p.upper() for p in payloads]

    batcher = DynamicBatcher(run_batch, max_batch_size=8, batch_wait_ms=0).start()
    batcher.pause()
    futures = [batcher.submit(p) for p in ["a", "poison", "b"]]
    batcher.resume()
    assert futures[0].result(10).value == "A" and futures[2].result(10).value == "B"
    with pytest.raises(BatchFailed, match="ValueError"):
        futures[1].result(10)
    assert batcher.snapshot()["failed"] == 1
    assert batcher.submit("c").result(10).value == "C"  # the worker is still alive
    batcher.stop()


def test_stop_refuses_queued_requests_instead_of_leaving_them_hanging():
    batcher = DynamicBatcher(_recording([]), max_batch_size=2).start()
    batcher.pause()
    future = batcher.submit("queued")
    batcher.stop()
    with pytest.raises(ShuttingDown):
        future.result(10)
    with pytest.raises(ShuttingDown):
        batcher.submit("after stop")
    assert not batcher.alive
