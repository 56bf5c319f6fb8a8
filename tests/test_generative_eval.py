"""ROUGE-L during training (issue 18): every eval_steps the micro model writes impressions for a
fixed eval subset; `metric_for_best_model: rougeL` keeps the best checkpoint as the run's
model; bad settings are one line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from radllama.core.config import validate_config
from radllama.training import RUN_FILE, TrainConfig, prepare_training, train
from radllama.training.generative_eval import GenerativeEval


def config_for(model, data, out, cache, **overrides) -> TrainConfig:
    values = dict(
        model=str(model), data=str(data), output_dir=str(out), cache_dir=str(cache),
        method="lora", max_length=512, per_device_train_batch_size=2, learning_rate=5e-3,
        warmup_ratio=0.0, max_steps=12, logging_steps=2, eval_steps=4, save_steps=100,
        save_total_limit=1, gradient_checkpointing=False, report_to="none", bf16=False,
        generative_eval={"rows": 4, "max_new_tokens": 12, "batch_size": 3},
        metric_for_best_model="rougeL",
    )  # fmt: skip
    values.update(overrides)
    return validate_config(TrainConfig, values)


@pytest.fixture(scope="module")
def rouge_run(tiny_model_dir, tiny_data_dir, tmp_path_factory):
    """12 LoRA steps, ROUGE-L at steps 4, 8, 12; returns (run dir, record, trainer logs)."""
    from transformers import TrainerCallback

    seen: list[dict] = []

    class Logs(TrainerCallback):  # what TensorBoard / W&B integrations receive
        def on_log(self, args, state, control, logs=None, **kwargs):
            seen.append(dict(logs or {}, step=state.global_step))

    out = tmp_path_factory.mktemp("rouge") / "run"
    config = config_for(tiny_model_dir, tiny_data_dir, out, out.parent / "cache")
    return out, train(config, callbacks=[Logs()]), seen


def test_rouge_l_is_logged_at_every_evaluation(rouge_run):
    out, record, logs = rouge_run
    summary = record["final_metrics"]["generative_eval"]
    assert [h["step"] for h in summary["history"]] == [4, 8, 12] and summary["rows"] == 4
    assert all(0.0 <= h["rougeL"] <= 1.0 for h in summary["history"])
    logged = [e for e in logs if "eval_rougeL" in e]
    assert [e["step"] for e in logged] == [4, 8, 12]
    assert [round(e["eval_rougeL"], 4) for e in logged] == [h["rougeL"] for h in summary["history"]]
    assert summary["generation_seconds"] > 0


def test_best_checkpoint_by_rouge_l_becomes_the_run_model(rouge_run):
    from safetensors.torch import load_file

    out, record, _ = rouge_run
    summary = record["final_metrics"]["generative_eval"]
    best = max(summary["history"], key=lambda h: h["rougeL"])  # first of equal scores wins
    assert summary["best_rougeL"] == best["rougeL"]
    assert summary["best_checkpoint"].endswith(f"checkpoint-{best['step']}")
    kept = load_file(out / "adapter_model.safetensors")
    saved = load_file(Path(summary["best_checkpoint"]) / "adapter_model.safetensors")
    assert kept.keys() == saved.keys()
    assert all((kept[k] == saved[k]).all() for k in kept)
    run = json.loads((out / RUN_FILE).read_text())
    assert run["config"]["metric_for_best_model"] == "rougeL"


def test_batched_generation_matches_one_row_at_a_time(tiny_model_dir, tiny_data_dir, tmp_path):
    session = prepare_training(
        config_for(tiny_model_dir, tiny_data_dir, tmp_path / "run", tmp_path / "cache")
    )
    eval_set, model = session.data.eval, session.trainer.model
    batched = GenerativeEval(eval_set, session.tokenizer, 5, 12, 4, bf16=False)
    single = GenerativeEval(eval_set, session.tokenizer, 5, 12, 1, bf16=False)
    assert batched.generate(model) == single.generate(model)
    assert model.training  # put back in training mode


def test_eval_subset_larger_than_the_split_is_clamped(
    tiny_model_dir, tiny_data_dir, tmp_path, caplog
):
    config = config_for(
        tiny_model_dir, tiny_data_dir, tmp_path / "run", tmp_path / "cache",
        generative_eval={"rows": 500},
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="radllama.training"):
        session = prepare_training(config)
    assert session.generative_eval.rows == len(session.data.eval) == 6
    assert "generative_eval.rows 500 > the 6 rows of the eval split" in caplog.text


@pytest.mark.parametrize(
    ("overrides", "fix"),
    [
        ({"metric_for_best_model": "bleu"}, "use one of ['loss', 'rougeL']"),
        ({"generative_eval": {"rows": 0}}, "needs generative_eval.rows > 0"),
        ({"eval_steps": None}, "needs eval_steps"),
    ],
)
def test_bad_best_model_settings_are_one_line(run_cli, tmp_path, overrides, fix):
    import yaml

    values = dict(metric_for_best_model="rougeL", generative_eval={"rows": 4}, eval_steps=4)
    values.update(overrides)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(values))
    code, _, err = run_cli("train", path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and fix in err, err
