"""bf16 or fp32 on a CPU: decided by measuring this machine at start-up, never by assumption.

CPUs of the same kind differ by 20x here. Measured with torch 2.13 on 2 threads: an AMD EPYC
with AVX2 only runs a bf16 matmul ~5x *slower* than fp32 (emulated), while an Intel Xeon with
AVX-512 BF16 and AMX runs it ~6x faster (oneDNN AMX tiles), which makes a SmolLM2 LoRA step
~1.8x faster under bf16 autocast. So `bf16: auto` on a CPU

1. needs native bf16 (the `avx512_bf16` or `amx_bf16` CPU flag); without it: fp32;
2. times a 1024 x 1024 matmul in fp32 and in bf16 (best of 5 after a warm-up, ~0.1 s);
3. checks that a few SGD steps of a small MLP under `torch.autocast("cpu", torch.bfloat16)`
   give finite, falling loss;

and picks bf16 when the matmul is at least `MIN_SPEEDUP` x faster and the check passes. The
choice, the reason and both timings go into the run file (`PrecisionChoice.to_json`).
Training (`radllama.training.hardware`) and generation use the same probe.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# A matmul ~6x faster gives a ~1.8x faster SmolLM2 LoRA step (the rest of a step is
# elementwise work and the optimizer); below 1.5x the gain is lost in those parts.
MIN_SPEEDUP = 1.5
PROBE_SIZE = 1024  # square matmul: 2.1 GFLOP, ~8 ms fp32 on the AMX Xeon's 2 threads


@dataclass(frozen=True)
class MatmulTiming:
    """Best-of-N wall time of one `PROBE_SIZE`-square matmul in each dtype (milliseconds)."""

    fp32_ms: float
    bf16_ms: float
    size: int = PROBE_SIZE

    @property
    def speedup(self) -> float:
        """fp32 time / bf16 time: > 1 means bf16 is faster."""
        return self.fp32_ms / self.bf16_ms if self.bf16_ms > 0 else 0.0


@dataclass(frozen=True)
class PrecisionChoice:
    """What a run computes in, and why (saved in the run file)."""

    bf16: bool
    reason: str
    device: str = "cpu"
    timing: MatmulTiming | None = None
    autocast_losses: tuple[float, ...] | None = None  # the bf16 autocast check's losses

    def to_json(self) -> dict:
        record = {"choice": "bf16" if self.bf16 else "fp32", "reason": self.reason}
        record["device"] = self.device
        if self.timing is not None:
            timing = asdict(self.timing)
            flops = 2 * self.timing.size**3
            record.update(
                matmul_size=timing["size"],
                fp32_ms=round(timing["fp32_ms"], 3),
                bf16_ms=round(timing["bf16_ms"], 3),
                fp32_gflops=round(flops / self.timing.fp32_ms / 1e6, 1),
                bf16_gflops=round(flops / self.timing.bf16_ms / 1e6, 1),
                bf16_speedup=round(self.timing.speedup, 2),
                min_speedup=MIN_SPEEDUP,
            )
        if self.autocast_losses is not None:
            record["autocast_check_losses"] = [round(x, 4) for x in self.autocast_losses]
        return record


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU executes bf16 natively (AVX-512 BF16 or AMX); AVX2 only emulates it."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        flags = set()
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
                break
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    import torch  # not Linux: ask oneDNN (true on AVX-512 cores and Apple silicon)

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def time_matmul(size: int = PROBE_SIZE, repeats: int = 5) -> MatmulTiming:
    """Best-of-`repeats` time of a `size`-square matmul in fp32 and in bf16 (after warm-up)."""
    import torch

    def best_ms(dtype) -> float:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(size, size, generator=generator).to(dtype)
        b = torch.randn(size, size, generator=generator).to(dtype)
        a @ b  # warm-up: oneDNN picks and caches its kernel
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        return 1000 * min(times)  # min: the least disturbed run on a shared machine

    return MatmulTiming(best_ms(torch.float32), best_ms(torch.bfloat16), size)


def autocast_losses(steps: int = 6) -> tuple[float, ...]:
    """Losses of `steps` SGD steps of a small MLP classifier under CPU bf16 autocast."""
    import torch

    torch_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.Linear(128, 8)
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        inputs, labels = torch.randn(64, 64), torch.randint(0, 8, (64,))
        losses = []
        for _ in range(steps):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().item())
        return tuple(losses)
    finally:
        torch.random.set_rng_state(torch_state)  # the caller's seeded stream is not disturbed


def choose_cpu_precision(
    timer: Callable[[], MatmulTiming] = time_matmul,
    check: Callable[[], tuple[float, ...]] = autocast_losses,
    native_bf16: bool | None = None,
) -> PrecisionChoice:
    """`bf16: auto` on a CPU: bf16 autocast where it is measured to be faster, else fp32."""
    if not (cpu_has_native_bf16() if native_bf16 is None else native_bf16):
        return PrecisionChoice(False, "no native bf16 on this CPU (no avx512_bf16 / amx_bf16)")
    timing = timer()
    if timing.speedup < MIN_SPEEDUP:
        return PrecisionChoice(
            False,
            f"bf16 matmul {timing.speedup:.2f}x fp32, under the {MIN_SPEEDUP}x margin",
            timing=timing,
        )
    losses = check()
    if not (all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]):
        return PrecisionChoice(
            False, "bf16 autocast check: loss not finite or not falling", timing=timing,
            autocast_losses=losses,
        )  # fmt: skip
    return PrecisionChoice(
        True,
        f"bf16 matmul {timing.speedup:.2f}x fp32 (>= {MIN_SPEEDUP}x) and the autocast check passed",
        timing=timing,
        autocast_losses=losses,
    )


@functools.cache
def measured_cpu_precision() -> PrecisionChoice:
    """`choose_cpu_precision()` once per process (training and generation share it)."""
    return choose_cpu_precision()
