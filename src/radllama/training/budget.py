"""`StepBudget`: a training run's step count set from the time it is allotted and its own
measured step time (used by `radllama demo`; any caller can pass its callback to `train`).

The budget is the limit: the configured `max_steps` is only an optional cap (the demo passes
`UNCAPPED_STEPS` when none is set), and past one epoch the Trainer's seeded sampler reshuffles
the data order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# The Trainer's step count before the budget sets it (train_steps unset): an upper bound only.
# It must exceed any planned count, because the Trainer sizes its epoch loop from it.
UNCAPPED_STEPS = 1_000_000


class StepBudget:
    """Set a training run's step count from its own measured step time: the budget is the
    limit, the configured step count (the demo's `train_steps`) only an optional cap.

    After `probe_steps` optimizer steps, the mean time of steps 2..probe (step 1 pays for
    warm-up) gives seconds/step; the run gets as many steps as fit in `seconds` (counted from
    `started`, so model loading and tokenisation are paid from the same budget), clamped to
    [min_steps, the cap]. The LR schedule is rebuilt for the new length, so a cut run still
    warms up and decays fully. The plan is redone after every later step from the mean of the
    last half of the steps so far: a probe slowed by another job on a shared machine no longer
    cuts the run for good (measured: a 14.8 s/step probe for a run that then went at ~10 s/step
    left 67 s of its share unused), a machine that slows down still ends the run on time, and
    the run is extended while time is left (a 400-step cap once stopped the Open-i recipe after
    595 s of its 2,366 s). Everything between two step ends is counted, so evaluation during
    training is paid from the same budget. The plan records steps per epoch and the epochs the
    planned steps make; `replans` lists [step, planned] where the plan moved by > 2%."""

    def __init__(
        self,
        seconds: float,
        probe_steps: int,
        min_steps: int,
        record: dict,
        started: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.probe_steps, self.min_steps = seconds, probe_steps, min_steps
        self.record = record
        self.clock = clock
        self.started = started  # clock() when the run began (None: its first step)
        self.stamps: list[float] = []
        self.steps_per_epoch: int | None = None

    def callback(self):
        from transformers import TrainerCallback

        budget = self

        class _Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                if not budget.stamps:
                    budget.stamps.append(budget.clock())

            def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
                budget.stamps.append(budget.clock())
                loader = kwargs.get("train_dataloader")
                if budget.steps_per_epoch is None and loader is not None:
                    budget.steps_per_epoch = max(
                        1, len(loader) // max(1, args.gradient_accumulation_steps)
                    )
                # Steps of this process (a resumed run starts past global step 0).
                if len(budget.stamps) - 1 >= budget.probe_steps:
                    budget.replan(state, lr_scheduler)
                if state.global_step >= state.max_steps:  # cut to now: end as the Trainer would
                    control.should_training_stop = True
                    control.should_save = args.save_strategy == "steps"
                    control.should_evaluate = args.eval_strategy == "steps"

        return _Callback()

    def replan(self, state, lr_scheduler) -> None:
        # mean over the last half of this process's steps (never step 1, which warms up)
        first = max(1, (len(self.stamps) - 1) // 2)
        step_s = (self.stamps[-1] - self.stamps[first]) / max(1, len(self.stamps) - 1 - first)
        spent = self.stamps[-1] - (self.started if self.started is not None else self.stamps[0])
        configured = self.record.setdefault("configured_steps", state.max_steps)
        if math.isinf(self.seconds):
            fit = configured  # no budget: the cap (or the recipe's epochs) decides
        else:
            fit = state.global_step + int(max(0.0, self.seconds - spent) / step_s)
        steps = max(self.min_steps, state.global_step, min(configured, fit))
        if "probe_step_s" not in self.record:
            self.record.update(probe_step_s=round(step_s, 2))
        self.record.update(planned_steps=steps, step_s=round(step_s, 2))
        if self.steps_per_epoch:
            self.record.update(
                steps_per_epoch=self.steps_per_epoch,
                planned_epochs=round(steps / self.steps_per_epoch, 2),
            )
        replans = self.record.setdefault("replans", [])
        if not replans or abs(steps - replans[-1][1]) > 0.02 * replans[-1][1]:
            replans.append([state.global_step, steps])
        if steps != state.max_steps:
            state.max_steps = steps
            _rescale_schedule(lr_scheduler, steps)


def _rescale_schedule(lr_scheduler, steps: int) -> None:
    """Rebuild a transformers LambdaLR schedule (warm-up ratio kept) for `steps` steps."""
    from functools import partial

    lambdas = getattr(lr_scheduler, "lr_lambdas", None)
    if not lambdas:
        return  # no schedule (tests) or one without per-group lambdas: leave it
    rebuilt = []
    for fn in lambdas:
        if not isinstance(fn, partial):
            return  # not a transformers warm-up schedule: leave it
        keywords = dict(fn.keywords)
        if "num_training_steps" in keywords:
            ratio = keywords.get("num_warmup_steps", 0) / max(1, keywords["num_training_steps"])
            keywords.update(num_training_steps=steps, num_warmup_steps=math.ceil(ratio * steps))
        rebuilt.append(partial(fn.func, *fn.args, **keywords))
    lr_scheduler.lr_lambdas = rebuilt
