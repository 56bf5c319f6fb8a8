"""The package skeleton: CLI entry point, prompt formatting, config loading, provenance."""

from __future__ import annotations

import random

import pytest

from radllama.core import prompts
from radllama.core.config import StrictModel, load_config
from radllama.core.errors import ConfigError


def test_cli_help_and_version(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "version" in out
    code, out, _ = run_cli("version")
    assert code == 0 and "transformers:" in out


def test_unknown_command_exits_2(run_cli):
    code, _, err = run_cli("no-such-command")
    assert code == 2 and "No such command" in err


def test_twenty_instructions_ten_prepends_all_distinct():
    assert len(set(prompts.INSTRUCTIONS)) == 20
    assert len(set(prompts.PREPEND_PHRASES)) == 10


def test_prepend_roundtrip_and_probability():
    rng = random.Random(0)
    picks = [prompts.choose_prepend(rng, 0.3) for _ in range(5000)]
    share = sum(p is not None for p in picks) / len(picks)
    assert 0.27 < share < 0.33
    for index in range(10):
        text = prompts.build_completion("No acute abnormality.", index)
        assert text != "No acute abnormality."
        assert prompts.strip_prepend(text) == "No acute abnormality."


def test_prompt_style_messages():
    style = prompts.PromptStyle()
    msgs = style.messages("XR CHEST 2V", "Lungs are clear.")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "EXAM: XR CHEST 2V\nFINDINGS: Lungs are clear." in msgs[1]["content"]
    assert prompts.PromptStyle(system_prompt="").messages("a", "b")[0]["role"] == "user"


class _Cfg(StrictModel):
    alpha: int = 1
    name: str = "x"


def test_config_unknown_key_and_bad_value(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("alpha: 3\nbogus: 1\n")
    with pytest.raises(ConfigError, match="unknown config key 'bogus'.*alpha, name"):
        load_config(_Cfg, path)
    path.write_text("alpha: notanint\n")
    with pytest.raises(ConfigError, match="invalid value for 'alpha'"):
        load_config(_Cfg, path)
    path.write_text("alpha: 3\n")
    assert load_config(_Cfg, path, {"name": "y", "alpha": None}).model_dump() == {
        "alpha": 3,
        "name": "y",
    }
