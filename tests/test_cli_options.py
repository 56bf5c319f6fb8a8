"""CLI options come from the stage Configs: one source of defaults and help (issue 22)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import typer
from pydantic import BaseModel, Field
from typer.main import get_command
from typer.testing import CliRunner

from radllama.cli import app
from radllama.core.config import StrictModel
from radllama.core.options import CONFIG_ATTRIBUTE, cli_type, config_options


def _config_commands() -> list[tuple[str, Any, type[BaseModel], frozenset[str], dict]]:
    found = []
    for info in app.registered_commands:
        marker = getattr(info.callback, CONFIG_ATTRIBUTE, None)
        if marker is not None:
            name = info.name or info.callback.__name__.replace("_", "-")
            found.append((name, info.callback, *marker))
    return found


def test_the_stage_commands_take_their_options_from_configs():
    names = {name for name, *_ in _config_commands()}
    assert {"serve", "generate", "train", "demo", "index", "baselines", "prepare"} <= names


@pytest.mark.parametrize("command", _config_commands(), ids=lambda c: c[0])
def test_no_command_restates_a_config_default(command):
    name, _, config_cls, generated, renames = command
    click_command = get_command(app).commands[name]  # type: ignore[attr-defined]
    params = {param.name: param for param in click_command.params}
    for field_name, field in config_cls.model_fields.items():
        if cli_type(field.annotation) is None:
            assert field_name not in params, f"{name}: {field_name} is YAML-only"
            continue
        if field_name not in generated:
            continue  # excluded: the command sets it itself
        param = params[field_name]
        assert param.default is None, f"{name} --{field_name} restates a default"
        assert (field.description or "").strip() in param.help, f"{name} --{field_name} help"
        if field_name in renames:
            assert renames[field_name] in param.opts[0], f"{name}: {field_name} renamed"


def test_a_hand_written_option_with_a_field_name_is_refused():
    class Settings(StrictModel):
        steps: int = Field(10, description="How many.")

    with pytest.raises(TypeError, match="restate Settings fields"):

        @config_options(Settings)
        def command(options: dict[str, Any], steps: int = 10) -> None:
            pass


def test_a_new_config_field_becomes_an_option_with_its_help_and_default():
    class Settings(StrictModel):
        steps: int = Field(10, description="Optimizer steps.")
        mode: Literal["fast", "slow"] = Field("fast", description="Speed.")
        tags: list[str] = Field(default_factory=list, description="Labels.")
        verbose: bool = Field(False, description="Talk.")
        nested: dict[str, int] = Field(default_factory=dict, description="YAML only.")

    seen: list[Settings] = []
    toy = typer.Typer()

    @toy.command()
    @config_options(Settings)
    def run(name: Annotated[str, typer.Argument()], options: dict[str, Any]) -> None:
        seen.append(Settings.model_validate(options))

    @toy.command()
    def other() -> None:
        pass

    runner = CliRunner()
    help_text = runner.invoke(toy, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "Optimizer steps. (default: 10)" in help_text
    assert "one of: fast, slow" in help_text
    assert "--nested" not in help_text

    result = runner.invoke(toy, ["run", "x", "--steps", "3", "--tags", "a,b", "--tags", "c"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(toy, ["run", "x", "--verbose"])
    assert result.exit_code == 0, result.output
    assert [(s.steps, s.tags, s.verbose) for s in seen] == [
        (3, ["a", "b", "c"], False),
        (10, [], True),
    ]


def test_yaml_decides_what_the_command_line_does_not_give(run_cli, tmp_path: Path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("method: lora\nlearning_rate: 0.0005\nmax_steps: 3\n")
    code, out, _ = run_cli("train", str(recipe), "--dry-run")
    assert code == 0
    assert "learning_rate: 0.0005" in out
    code, out, _ = run_cli("train", str(recipe), "--dry-run", "--learning-rate", "0.01")
    assert code == 0
    assert "learning_rate: 0.01" in out


def test_a_missing_required_field_names_the_option(run_cli, tmp_path: Path):
    code, _, err = run_cli("generate", "--out", str(tmp_path / "p.jsonl"))
    assert code == 2
    assert (
        err.strip()
        == "error: options: 'data' is required; pass --data or set 'data:' in the config"
    )


def test_a_choice_outside_the_literal_is_one_line(run_cli, tmp_path: Path):
    code, _, err = run_cli("index", str(tmp_path), "--kind", "faiss")
    assert code == 2
    assert err.count("\n") == 1 and "kind" in err and "dense" in err


def test_evaluate_and_impress_take_their_options_from_configs():
    """evaluate: EvaluateConfig + BertScoreConfig (--bertscore-*) + JudgeConfig (--judge-*);
    impress: the ServeConfig fields that shape one answer (decode, index, num_examples)."""
    from radllama.core.options import CONFIG_LAYERS_ATTRIBUTE

    commands = {name: callback for name, callback, *_ in _config_commands()}
    assert {"evaluate", "impress"} <= set(commands)
    click_command = get_command(app).commands["evaluate"]  # type: ignore[attr-defined]
    params = {param.name: param for param in click_command.params}
    layers = getattr(commands["evaluate"], CONFIG_LAYERS_ATTRIBUTE)
    assert {layer[0].__name__ for layer in layers} == {"BertScoreConfig", "JudgeConfig"}
    for config_cls, fields, _, prefix in layers:
        for field_name in fields:
            param = params[f"{prefix}_{field_name}"]
            assert param.default is None, f"evaluate --{prefix}-{field_name} restates a default"
            field = config_cls.model_fields[field_name]
            assert (field.description or "").strip() in param.help
    # the flags evaluate always had keep their names
    for name, flag in (("judge_base_url", "--judge-base-url"), ("judge_allow_remote",
                       "--allow-remote"), ("judge_max_failure_rate", "--max-failure-rate"),
                       ("bertscore_layer", "--bertscore-layer"), ("use_stemmer", "--stemmer"),
                       ("bootstrap_resamples", "--bootstrap")):  # fmt: skip
        assert flag in params[name].opts[0], (name, params[name].opts)
    impress = {p.name for p in get_command(app).commands["impress"].params}  # type: ignore[attr-defined]
    assert {"decode", "index", "num_examples"} <= impress and "port" not in impress


def test_a_second_config_of_one_command_gets_prefixed_options(run_cli):
    class Outer(StrictModel):
        seed: int = Field(0, description="Outer seed.")

    class Inner(StrictModel):
        seed: int = Field(1, description="Inner seed.")
        name: str = Field("x", description="Inner name.")

    probe = typer.Typer()
    seen: list[tuple[dict, dict]] = []

    @probe.command()
    @config_options(Outer)
    @config_options(Inner, prefix="inner", into="inner_options", rename={"name": "--name"})
    def run(options: dict[str, Any], inner_options: dict[str, Any]) -> None:
        seen.append((options, inner_options))

    result = CliRunner().invoke(probe, ["--seed", "3", "--inner-seed", "4", "--name", "y"])
    assert result.exit_code == 0, result.output
    assert seen == [({"seed": 3}, {"seed": 4, "name": "y"})]
    with pytest.raises(TypeError, match="restate Inner fields"):

        @config_options(Inner, prefix="inner", into="inner_options")
        def clash(inner_seed: int, inner_options: dict[str, Any]) -> None: ...
