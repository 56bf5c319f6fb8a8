"""The main job: demo configs parse, Open-i train/test joining, and (slow) the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radllama.config import load_config
from radllama.demo import DemoConfig, _prepare_data, run_demo
from radllama.jsonl import read_jsonl

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.yaml", "openi.yaml"])
def test_demo_configs_parse(name):
    config = load_config(DemoConfig, REPO / "configs" / name)
    assert config.methods == ["qlora", "full"]


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


@pytest.mark.slow
def test_demo_end_to_end_and_resume(tmp_path):
    config = DemoConfig(
        synth_reports=600,
        test_size=20,
        base_size="micro",
        base_steps=15,
        base_minutes=0.5,
        train_steps=4,
        max_new_tokens=16,
    )
    report = run_demo(config, tmp_path)
    systems = [row["system"] for row in report["systems"]]
    assert systems == ["base-zero-shot", "qlora", "full", "retrieval-tfidf", "most-frequent"]
    for name in ("report.md", "report.html", "report.json"):
        assert (tmp_path / "report" / name).is_file()
    logs: list[str] = []
    run_demo(config, tmp_path, logs.append)  # rerun: every expensive step is skipped
    assert sum(line.startswith("[skip]") for line in logs) == 4  # synth, base, qlora, full
