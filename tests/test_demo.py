"""The main job: demo configs parse, Open-i train/test joining, and (slow) the whole pipeline."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from radllama.core.config import load_config
from radllama.core.jsonl import read_jsonl
from radllama.demo import (
    TRAIN_OVERRIDES,
    UNCAPPED_STEPS,
    DemoConfig,
    StepBudget,
    _prepare_data,
    demo_train_config,
    run_demo,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.yaml", "openi.yaml"])
def test_demo_configs_parse(name):
    config = load_config(DemoConfig, REPO / "configs" / name)
    assert config.methods == ["qlora", "full"]
    assert config.base == "bundled" and config.budget_minutes


def test_openi_retrieval_config_runs_the_k2_recipe():
    config = load_config(DemoConfig, REPO / "configs" / "openi-retrieval.yaml")
    train = demo_train_config(config, "lora", Path("data"), Path("base"), Path("run"))
    assert config.methods == ["lora"] and train.num_examples == 2
    assert config.test_input.name == "validate.jsonl" and config.min_test_size >= 300


def test_demo_defaults_are_configs_demo_yaml():
    """`radllama demo` (no config) runs exactly configs/demo.yaml: drift fails here."""
    from radllama.core.config import read_yaml

    written = read_yaml(REPO / "configs" / "demo.yaml")
    defaults = DemoConfig().model_dump(mode="json")
    assert load_config(DemoConfig, REPO / "configs" / "demo.yaml") == DemoConfig()
    # every value that matters is written out, not left to a code default
    missing = set(defaults) - set(written) - {"input", "preset", "test_input"}
    missing -= {"base_size", "base_steps", "base_minutes"}  # base=scratch only
    assert not missing, f"configs/demo.yaml does not state {sorted(missing)}"


@pytest.mark.parametrize("method", ["qlora", "full"])
def test_demo_training_is_the_recipe_plus_named_overrides(method, tmp_path):
    """Each SFT run = configs/smollm2-cpu.yaml with only TRAIN_OVERRIDES changed."""
    from radllama.training import TrainConfig

    demo = DemoConfig()
    run = demo_train_config(demo, method, tmp_path / "d", tmp_path / "b", tmp_path / "r")
    recipe = load_config(TrainConfig, REPO / "configs" / "smollm2-cpu.yaml")
    ran, written = run.model_dump(), recipe.model_dump()
    changed = {k for k in ran if ran[k] != written[k]}
    assert changed <= set(TRAIN_OVERRIDES), changed - set(TRAIN_OVERRIDES)
    # no cap in the shipped config: a bound that the budget cuts
    assert demo.train_steps is None and run.max_steps == UNCAPPED_STEPS and run.seed == demo.seed
    expected_lr = demo.full_learning_rate if method == "full" else demo.lora_learning_rate
    assert run.learning_rate == expected_lr


def test_step_budget_cuts_steps_and_the_lr_schedule(tiny_model_dir, tiny_data_dir, tmp_path):
    """A run with a too-small time budget stops at the planned step count, with the cosine
    schedule rebuilt so the LR reaches ~0 at the new last step."""
    from radllama.core.config import validate_config
    from radllama.training import TrainConfig, train

    config = validate_config(
        TrainConfig,
        dict(
            method="full", model=str(tiny_model_dir), data=str(tiny_data_dir),
            output_dir=str(tmp_path / "run"), max_steps=400, max_length=512,
            per_device_train_batch_size=2, gradient_checkpointing=False, bf16=False,
            attn_implementation="sdpa", report_to="none", logging_steps=1, save_steps=1000,
            learning_rate=1e-3, warmup_ratio=0.1,
        ),
        source="test",
    )  # fmt: skip
    record: dict = {}
    budget = StepBudget(seconds=0.0, probe_steps=3, min_steps=6, record=record)
    run = train(config, callbacks=[budget.callback()])
    assert record["configured_steps"] == 400 and record["planned_steps"] == 6
    assert run["final_metrics"]["steps"] == 6
    assert record["probe_step_s"] > 0


def test_step_budget_replans_when_the_probe_was_slow():
    """A probe slowed by another job plans few steps; the next re-plans (mean over the last
    half of the steps) give the time back, never past the cap."""
    from types import SimpleNamespace

    record: dict = {}
    budget = StepBudget(seconds=100.0, probe_steps=3, min_steps=2, record=record, started=0.0)
    state = SimpleNamespace(global_step=3, max_steps=50)
    budget.stamps = [0.0, 1.0, 21.0, 41.0]  # steps 2-3 at 20 s/step: 59 s left -> 2 more
    budget.replan(state, lr_scheduler=None)
    assert state.max_steps == 5 and record["probe_step_s"] == 20.0
    budget.stamps += [43.0, 45.0, 47.0]  # the other job ended: steps 4-6 at 2 s/step
    state.global_step = 6
    budget.replan(state, lr_scheduler=None)  # last half: 2 s/step, 53 s left -> +26
    assert state.max_steps == 32 and record["configured_steps"] == 50
    assert record["replans"] == [[3, 5], [6, 32]]
    budget.stamps += [49.0 + 2 * i for i in range(30)]  # ... at 2 s/step
    state.global_step, budget.seconds = 36, 1000.0  # time for 482 steps: the cap of 50 holds
    budget.replan(state, lr_scheduler=None)
    assert state.max_steps == 50


def _scripted_run(seconds: float, step_cost, eval_every: int = 0, eval_cost: float = 0.0):
    """Drive StepBudget's callback as the Trainer does, on a scripted clock: 20 s of loading,
    then steps costing step_cost(step) s, an evaluation after every `eval_every` steps."""
    from types import SimpleNamespace

    now = [0.0]
    record: dict = {}
    budget = StepBudget(seconds, 3, 5, record, started=0.0, clock=lambda: now[0])
    callback = budget.callback()
    now[0] = 20.0
    state = SimpleNamespace(global_step=0, max_steps=UNCAPPED_STEPS)
    args = SimpleNamespace(gradient_accumulation_steps=1, save_strategy="steps",
                           eval_strategy="steps")  # fmt: skip
    control = SimpleNamespace(should_training_stop=False)
    while not control.should_training_stop:
        callback.on_step_begin(args, state, control)
        now[0] += step_cost(state.global_step + 1)
        state.global_step += 1
        callback.on_step_end(args, state, control, lr_scheduler=None, train_dataloader=range(400))
        if eval_every and state.global_step % eval_every == 0:
            now[0] += eval_cost  # the Trainer evaluates after on_step_end
    return now[0], state.global_step, record


@pytest.mark.parametrize(
    "case",
    ["steady", "slow_probe", "slows_down", "with_evals"],
)
def test_uncapped_budget_uses_at_least_90_percent_of_its_allotment(case):
    """No step cap: the planner fills the allotment (>= 90%, over by at most one step + eval)
    however the step time moves; 2,366 s at ~1.2 s/step is past one epoch of 400 steps."""
    seconds = 2366.0
    cost = {
        "steady": lambda step: 4.0 if step == 1 else 1.2,
        "slow_probe": lambda step: 10.0 if step <= 5 else 1.2,  # another job during the probe
        "slows_down": lambda step: 1.2 if step < 600 else 2.5,
        "with_evals": lambda step: 1.2,
    }[case]
    evals = (50, 20.0) if case == "with_evals" else (0, 0.0)
    used, steps, record = _scripted_run(seconds, cost, *evals)
    assert 0.9 * seconds <= used <= seconds + 2.5 + evals[1], (used, record["replans"])
    assert record["configured_steps"] == UNCAPPED_STEPS and record["planned_steps"] == steps
    assert record["steps_per_epoch"] == 400 and record["planned_epochs"] == round(steps / 400, 2)
    if case == "steady":
        assert record["planned_epochs"] > 4


def test_a_cap_still_caps_and_no_budget_runs_the_recipe():
    used, steps, record = _scripted_run(2366.0, lambda step: 1.2)
    assert steps > 1000
    demo = DemoConfig(train_steps=40)
    run = demo_train_config(demo, "lora", Path("d"), Path("b"), Path("r"))
    assert run.max_steps == 40
    unbudgeted = DemoConfig(budget_minutes=None)
    assert demo_train_config(unbudgeted, "lora", Path("d"), Path("b"), Path("r")).max_steps == -1


def test_data_order_reshuffles_each_epoch(tiny_model_dir, tiny_data_dir, tmp_path):
    """Past one epoch the Trainer's seeded sampler draws a new order (same rows)."""
    from radllama.core.config import validate_config
    from radllama.training import TrainConfig, prepare_training

    config = validate_config(TrainConfig, dict(
        method="lora", model=str(tiny_model_dir), data=str(tiny_data_dir),
        output_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"), max_steps=100,
        max_length=512, per_device_train_batch_size=1, gradient_checkpointing=False,
        bf16=False, report_to="none", eval_steps=None,
    ))  # fmt: skip
    loader = prepare_training(config).trainer.get_train_dataloader()
    epochs = [[tuple(batch["input_ids"][0].tolist()) for batch in loader] for _ in range(2)]
    assert len(epochs[0]) > 4 and sorted(epochs[0]) == sorted(epochs[1])
    assert epochs[0] != epochs[1]


def test_openi_config_tests_on_validate_only(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the config's paths are relative to the repository root
    config = load_config(DemoConfig, REPO / "configs" / "openi.yaml")
    data_dir = _prepare_data(config, tmp_path, lambda _: None)
    test = list(read_jsonl(data_dir / "test.jsonl"))
    train = list(read_jsonl(data_dir / "train.jsonl"))
    validate = list(read_jsonl(shared_data / "openi" / "validate.jsonl"))
    manifest = json.loads((data_dir / "manifest.json").read_text())
    dropped = manifest["test_source"]["manifest"]["counts"]
    # every validate row is either in the test split or dropped with a counted reason
    assert len(test) + sum(dropped.get("dropped", {}).values()) == len(validate)
    assert len(test) > 300 and len(train) > 2000
    assert {r["findings"] for r in test} - {r["findings"] for r in train}  # mostly unseen
    # Every validate row is predicted (issue 17): rows failing the paper's filters are kept,
    # with the reason; 1 has fewer than 10 words of findings, 25 repeat an earlier pair.
    assert len(test) == len(validate) == 341
    reasons = Counter(r["filter_reason"] for r in test)
    assert reasons == {None: 315, "duplicate": 25, "short_findings": 1}


@pytest.mark.slow
def test_demo_end_to_end_and_resume(tmp_path):
    config = DemoConfig(
        synth_reports=600,
        test_size=20,
        min_test_size=8,
        base="scratch",
        base_size="micro",
        base_steps=15,
        base_minutes=0.5,
        train_steps=4,
        min_train_steps=4,
        max_new_tokens=16,
    )
    report = run_demo(config, tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["test_rows"] >= 8 and plan["methods"]["qlora"]["steps"] == 4
    assert "Demo plan (time budget)" in (tmp_path / "report" / "report.md").read_text()
    systems = [row["system"] for row in report["systems"]]
    assert systems == [
        "base-zero-shot", "qlora", "full", "retrieval-tfidf", "retrieval-consensus",
        "most-frequent",
    ]  # fmt: skip
    for name in ("report.md", "report.html", "report.json"):
        assert (tmp_path / "report" / name).is_file()
    logs: list[str] = []
    run_demo(config, tmp_path, logs.append)  # rerun: every expensive step is skipped
    assert sum(line.startswith("[skip]") for line in logs) == 4  # synth, base, qlora, full


def test_finetuned_generation_is_reserved_by_answer_length(tiny_model_dir, tiny_data_dir, tmp_path):
    """Zero-shot prose that runs to the token cap must not make the planner reserve a fine-tune's
    (short) impressions at the zero-shot rate; the ratio is held to [0.5, 1]."""
    from radllama.demo import ModelSystem, _finetuned_length_ratio
    from radllama.model.loader import load_tokenizer

    system = ModelSystem("base-zero-shot", tiny_model_dir)
    tokenizer = load_tokenizer(tiny_model_dir)
    completions = [row["completion"] for row in read_jsonl(tiny_data_dir / "train.jsonl")]
    mean_tokens = sum(len(tokenizer(c).input_ids) + 1 for c in completions[:500]) / len(
        completions[:500]
    )

    def ratio_for(raw_output: str) -> float:
        (tmp_path / "base-zero-shot.jsonl").write_text(
            json.dumps({"report_id": "r1", "raw_output": raw_output}) + "\n"
        )
        return _finetuned_length_ratio(tiny_data_dir, system, tmp_path, rows=1)

    assert ratio_for(" ".join(completions) * 3) == 0.5  # chatty zero-shot: the floor
    assert ratio_for(completions[0]) == 1.0  # already impression-length: no discount
    middle, spoken = "", 0
    for text in completions:  # impressions strung together to ~2x the mean answer
        if spoken >= 2 * mean_tokens:
            break
        middle = f"{middle} {text}".strip()
        spoken = len(tokenizer(middle).input_ids)
    assert 1.5 * mean_tokens < spoken < 3 * mean_tokens  # inside the unclamped range
    assert ratio_for(middle) == pytest.approx(1.5 * mean_tokens / spoken, rel=1e-6)


def test_test_subset_is_a_dataset_readers_accept(tiny_data_dir, tmp_path):
    """The demo scores the first N test rows: the cut split is listed with its own hash, so the
    hash check every DATA_DIR reader runs accepts it (and would refuse the old listing)."""
    from radllama.core.artifacts import DataDir, DataManifest
    from radllama.demo import _test_subset

    out = _test_subset(tiny_data_dir, tmp_path / "view", 3)
    assert sum(1 for _ in read_jsonl(out / "test.jsonl")) == 3
    DataManifest.read(out).verify_outputs(out, require=True)
    DataDir.open_prepared(out)


@pytest.mark.slow
def test_demo_runs_a_retrieval_augmented_recipe(tmp_path):
    """A recipe with num_examples = k > 0: the demo indexes the train split, trains and
    generates with k examples per prompt, names the system after method and k, and adds the
    dense 1-NN copy baseline that uses the same index."""
    import yaml

    recipe = yaml.safe_load((REPO / "configs" / "smollm2-cpu.yaml").read_text())
    recipe.update(num_examples=1, example_max_words=12)
    recipe["lora"].pop("top_layers")  # the micro model has fewer than 8 layers
    recipe_path = tmp_path / "recipe-k1.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe))
    config = DemoConfig(
        synth_reports=400,
        test_size=8,
        min_test_size=8,
        base="scratch",
        base_size="micro",
        base_steps=10,
        base_minutes=0.5,
        train_recipe=recipe_path,
        methods=["lora"],
        decode=["greedy", "candidates"],
        train_steps=2,
        min_train_steps=2,
        max_new_tokens=8,
    )
    out = tmp_path / "demo"
    report = run_demo(config, out)
    systems = [row["system"] for row in report["systems"]]
    assert systems == [
        "base-zero-shot", "lora-k1", "lora-k1-candidates", "retrieval-tfidf",
        "retrieval-consensus", "most-frequent", "retrieval-dense", "retrieval-consensus-dense",
    ]  # fmt: skip
    chosen = [
        row["candidate_source"] for row in read_jsonl(out / "preds" / "lora-k1-candidates.jsonl")
    ]
    assert len(chosen) == 8 and all(c.startswith(("model:", "neighbour:")) for c in chosen)
    assert (out / "data" / "index" / "meta.json").is_file()
    run = json.loads((out / "runs" / "lora-k1" / "radllama_run.json").read_text())
    assert run["prompt_style"]["num_examples"] == 1
    prompts = [row["prompt"] for row in read_jsonl(out / "preds" / "lora-k1.jsonl")]
    zero_shot = [row["prompt"] for row in read_jsonl(out / "preds" / "base-zero-shot.jsonl")]
    assert len(prompts) == 8 and all("SIMILAR PRIOR REPORT 1:" in p for p in prompts)
    assert not any("SIMILAR PRIOR REPORT" in p for p in zero_shot)


def test_candidate_decoding_is_reserved_at_its_cost():
    from radllama.demo import CANDIDATES_COST, _tuned_units

    assert _tuned_units(DemoConfig(methods=["qlora", "full"])) == 2
    both = DemoConfig(methods=["lora"], decode=["greedy", "candidates"])
    assert _tuned_units(both) == 1 + CANDIDATES_COST
    assert load_config(DemoConfig, REPO / "configs" / "openi-retrieval.yaml").decode == [
        "greedy", "candidates",
    ]  # fmt: skip


def test_generation_reserve_is_remeasured_on_the_whole_zero_shot_run():
    """The first batch alone can be slow (another job, warm-up): the reserve for the fine-tuned
    systems' generation is re-set from the whole zero-shot run once it has more rows."""
    from types import SimpleNamespace

    from radllama.demo import _remeasure_generation

    plan = {"calibration_rows": 16, "finetuned_length_ratio": 0.5, "finetuned_s_per_row": 4.0}
    _remeasure_generation(plan, SimpleNamespace(generated=8, seconds=80.0), lambda _: None)
    assert plan["finetuned_s_per_row"] == 4.0  # fewer rows than the calibration: kept
    _remeasure_generation(plan, SimpleNamespace(generated=300, seconds=300.0), lambda _: None)
    assert plan["finetuned_s_per_row"] == 0.5 and plan["generation_s_per_row_all"] == 1.0
