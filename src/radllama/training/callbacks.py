"""Trainer callbacks: checkpoint-and-stop on SIGTERM/SIGINT, and the loss watchdog.

transformers has `enable_jit_checkpoint`, but it handles SIGTERM only, waits 3 s before
acting and can save before the optimizer step of a half-done accumulation; resuming from
that is not bit-identical. Here the signal only raises a flag; the checkpoint is written at
the end of the current optimizer step through the Trainer's own `should_save`, so
`--resume` continues exactly where an uninterrupted run would be.
"""

from __future__ import annotations

import logging
import math
import signal
import threading

from transformers import TrainerCallback

logger = logging.getLogger("radllama.training")


class GracefulInterrupt(TrainerCallback):
    """SIGTERM / SIGINT -> finish this optimizer step, save a checkpoint, stop.

    A second signal while the first is pending restores the previous handler and re-raises,
    so a user can still force-quit. Under several processes the ranks agree on the stop step
    (an all-reduce of the flag), so they all reach the collective checkpoint save together.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested: int | None = None  # signal number once one arrived
        self.stopped_at: int | None = None  # global step of the checkpoint written
        self._previous: dict[int, object] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        if threading.current_thread() is threading.main_thread():  # signals need the main thread
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        if self.requested is not None:  # second signal: stop now, the old way
            self._restore()
            signal.raise_signal(signum)
            return
        self.requested = signum
        logger.warning(
            "%s received: saving a checkpoint at the end of this step, then stopping "
            "(send it again to quit without saving)",
            signal.Signals(signum).name,
        )

    def on_step_end(self, args, state, control, **kwargs):
        if _any_rank(self.requested is not None, args):
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
            self.requested = self.requested or signal.SIGTERM  # a peer rank got the signal

    def on_train_end(self, args, state, control, **kwargs):
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def _any_rank(flag: bool, args) -> bool:
    """True when `flag` is set on any process (a no-op outside torch.distributed)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    value = torch.tensor([1 if flag else 0], device=args.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class LossWatchdog(TrainerCallback):
    """Stop the run when a logged loss is NaN/inf or has diverged.

    Divergence: a logged loss above `divergence_factor` x the lowest logged loss so far. The
    step where it happened is not saved (`should_save = False`), so the last checkpoint is a
    healthy one. `problem` holds the message for the caller to raise.
    """

    def __init__(self, divergence_factor: float) -> None:
        self.divergence_factor = divergence_factor
        self.best = math.inf
        self.problem: str | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is None or self.problem:
            return
        step = state.global_step
        if not math.isfinite(loss):
            self.problem = f"loss became {loss} at step {step}"
        elif loss > self.divergence_factor * self.best:
            self.problem = (
                f"loss diverged at step {step}: {loss:.4g} > {self.divergence_factor:g} x the best "
                f"logged loss {self.best:.4g}"
            )
        self.best = min(self.best, loss)
        if self.problem:
            control.should_training_stop = True
            control.should_save = False
            logger.error("watchdog: %s; stopping", self.problem)
