"""bf16 or fp32 on CPU, decided by measurement (issue 18): the choice follows the matmul
timing (mocked as an AVX2-only EPYC and as an AMX Xeon, since one machine is only one of
them), GPUs are unchanged, `bf16: true` without native bf16 is one line, and a real bf16
autocast training run of the micro model gives finite, falling loss with the choice and both
timings in the run file."""

from __future__ import annotations

import json
import math

import pytest

from radllama.core.config import validate_config
from radllama.model import precision
from radllama.model.precision import MatmulTiming, PrecisionChoice, choose_cpu_precision
from radllama.training import RUN_FILE, TrainConfig, train
from radllama.training import hardware as hardware_lib
from radllama.training.hardware import Hardware, hardware_problems, resolve

# Measured with torch 2.13 on 2 threads (docs/DESIGN.md): fp32 ~84 GFLOP/s and bf16 ~5x slower
# on the AVX2 EPYC; fp32 ~264 and bf16 ~1,500 GFLOP/s on the AMX Xeon. 1024^3 x 2 = 2.1 GFLOP.
AVX2_EPYC = MatmulTiming(fp32_ms=25.6, bf16_ms=128.0)
AMX_XEON = MatmulTiming(fp32_ms=8.1, bf16_ms=1.4)
CPU = Hardware("cpu", True, False, 1, 0, "none")  # native bf16 flags present
GPU = Hardware("cuda", True, True, 1, 0, "none")
FALLING = (2.1, 1.9, 1.6, 1.4, 1.2, 1.0)


def test_choice_follows_the_measured_matmul():
    avx2 = choose_cpu_precision(lambda: AVX2_EPYC, lambda: FALLING, native_bf16=True)
    assert avx2.bf16 is False and "0.20x" in avx2.reason
    amx = choose_cpu_precision(lambda: AMX_XEON, lambda: FALLING, native_bf16=True)
    assert amx.bf16 is True and "5.79x" in amx.reason
    record = amx.to_json()
    assert record["choice"] == "bf16" and record["fp32_ms"] == 8.1 and record["bf16_ms"] == 1.4
    assert record["fp32_gflops"] == pytest.approx(265.1, abs=0.1)


def test_no_native_bf16_or_a_failed_autocast_check_means_fp32():
    def never():
        raise AssertionError("must not be measured")

    assert choose_cpu_precision(never, never, native_bf16=False).bf16 is False
    nan = choose_cpu_precision(lambda: AMX_XEON, lambda: (2.0, math.nan), native_bf16=True)
    assert nan.bf16 is False and "autocast check" in nan.reason
    flat = choose_cpu_precision(lambda: AMX_XEON, lambda: (2.0, 2.5), native_bf16=True)
    assert flat.bf16 is False


def test_real_bf16_autocast_check_loss_is_finite_and_falls():
    losses = precision.autocast_losses()
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]


def test_resolve_uses_the_measurement_on_cpu_and_not_on_gpu():
    lora = validate_config(TrainConfig, {"method": "lora"})
    slow = lambda: choose_cpu_precision(lambda: AVX2_EPYC, lambda: FALLING, True)  # noqa: E731
    fast = lambda: choose_cpu_precision(lambda: AMX_XEON, lambda: FALLING, True)  # noqa: E731
    assert resolve(lora, CPU, slow).bf16 is False
    amx = resolve(lora, CPU, fast)
    assert amx.bf16 is True and amx.precision["bf16_ms"] == 1.4
    assert amx.model_dtype == "float32"  # CPU: fp32 weights under autocast

    def never():
        raise AssertionError("a GPU is not measured")

    gpu = resolve(lora, GPU, never)
    assert gpu.bf16 is True and gpu.compute_dtype == "bfloat16"
    assert resolve(validate_config(TrainConfig, {"method": "qlora"}), CPU, never).bf16 is False
    forced = resolve(validate_config(TrainConfig, {"method": "lora", "bf16": False}), CPU, never)
    assert forced.bf16 is False and "forced" in forced.precision["reason"]
    # run files written before `auto` saved null: it still means auto
    assert validate_config(TrainConfig, {"bf16": None}).bf16 == "auto"


def test_bf16_true_on_a_cpu_without_bf16_is_one_line(
    run_cli, tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch
):
    no_bf16 = Hardware("cpu", False, False, 1, 0, "none")
    problems = hardware_problems(validate_config(TrainConfig, {"bf16": True}), no_bf16)
    assert len(problems) == 1 and "bf16: auto" in problems[0] and "bf16: false" in problems[0]
    assert hardware_problems(validate_config(TrainConfig, {"bf16": True}), CPU) == []
    monkeypatch.setattr(hardware_lib, "cpu_has_native_bf16", lambda: False)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {tiny_model_dir}\ndata: {tiny_data_dir}\noutput_dir: {tmp_path / 'o'}\nbf16: true\n"
    )
    code, _, err = run_cli("train", config)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no native bf16" in err, err


def test_bf16_autocast_training_run_has_falling_loss_and_provenance(
    tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch
):
    """A real run under CPU bf16 autocast (the measurement mocked as an AMX Xeon's, so the
    test means the same on every machine; bf16 itself runs on any x86 CPU)."""
    amx = choose_cpu_precision(lambda: AMX_XEON, precision.autocast_losses, native_bf16=True)
    monkeypatch.setattr(hardware_lib, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(hardware_lib, "measured_cpu_precision", lambda: amx)
    config = validate_config(TrainConfig, dict(
        model=str(tiny_model_dir), data=str(tiny_data_dir), output_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"), method="lora", max_length=512,
        per_device_train_batch_size=2, learning_rate=5e-3, warmup_ratio=0.0, max_steps=16,
        logging_steps=4, eval_steps=None, save_steps=100, gradient_checkpointing=False,
        report_to="none",
    ))  # fmt: skip
    assert config.bf16 == "auto"
    record = train(config)
    metrics = record["final_metrics"]
    assert math.isfinite(metrics["last_logged_loss"])
    assert metrics["last_logged_loss"] < metrics["first_logged_loss"]
    saved = json.loads((tmp_path / "run" / RUN_FILE).read_text())["hyperparameters"]
    assert saved["bf16"] is True and saved["model_dtype"] == "float32"
    assert saved["precision"]["choice"] == "bf16"
    assert saved["precision"]["fp32_ms"] == 8.1 and saved["precision"]["bf16_ms"] == 1.4
    assert isinstance(amx, PrecisionChoice) and amx.bf16


def test_generation_dtype_auto_follows_the_measurement(monkeypatch, tiny_model_dir):
    """`dtype: auto` for the hf backend: bf16 weights where the CPU probe picks bf16 (mocked
    as an AMX Xeon), fp32 where it does not (mocked as an AVX2 EPYC); default stays fp32."""
    import torch

    from radllama.generation import inference

    def mocked(timing):
        choice = choose_cpu_precision(lambda: timing, lambda: FALLING, native_bf16=True)
        monkeypatch.setattr(precision, "measured_cpu_precision", lambda: choice)

    mocked(AMX_XEON)
    assert inference._torch_dtype("auto", "cpu") is torch.bfloat16
    model = inference.ImpressionModel.load(tiny_model_dir, device="cpu", dtype="auto")
    assert next(model.model.parameters()).dtype is torch.bfloat16
    mocked(AVX2_EPYC)
    assert inference._torch_dtype("auto", "cpu") is torch.float32
    assert inference._torch_dtype(None, "cpu") is torch.float32
    assert inference._torch_dtype("auto", "cuda") is torch.bfloat16
