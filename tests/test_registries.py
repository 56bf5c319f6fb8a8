"""Extension points: a metric, a generation backend and a dataset preset are each one
registration away from `evaluate` + `report`, `generate` and `prepare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radllama.data import presets
from radllama.evaluate import metrics
from radllama.evaluate.metrics import Column, Metric, register_metric
from radllama.generation.generate import BACKENDS, register_backend


@pytest.fixture
def exact_match_metric():
    def score(ctx: metrics.ScoringContext) -> None:
        for row, sample in zip(ctx.rows, ctx.per_sample, strict=True):
            sample["exact_match"] = float(row["prediction"].strip() == row["reference"].strip())

    register_metric(
        Metric("exact", score, columns=(Column("exact_match", "Exact match (toy)", 3),))
    )
    yield
    metrics.METRICS.pop("exact", None)


@pytest.fixture
def echo_backend():
    @register_backend("echo")
    class EchoBackend:  # the reference impression, upper-cased: a backend in 15 lines
        def __init__(self, config, manifest) -> None:
            self.config = config

        def default_system(self) -> str:
            return "echo"

        def run_record(self):
            return None

        def generate(self, rows, sink) -> None:
            for row, item in zip(rows, sink.items(rows), strict=True):
                text = row["impression"].upper()
                result = {"raw_output": text, "prediction": text, "latency_s": 0.0}
                sink.write(row, item, result)

    yield
    del BACKENDS["echo"]


def _preds(path: Path, system: str, predictions: list[str]) -> Path:
    references = ["No acute process.", "Small effusion.", "Normal heart."]
    rows = [
        {"report_id": f"r{i}", "system": system, "findings": "Lungs clear. Heart normal.",
         "prediction": p, "reference": r, "modality": "XR", "body_region": "chest"}
        for i, (p, r) in enumerate(zip(predictions, references, strict=True))
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_registered_metric_is_scored_and_reported(run_cli, tmp_path, exact_match_metric):
    a = _preds(tmp_path / "a.jsonl", "a", ["No acute process.", "x", "Normal heart."])
    b = _preds(tmp_path / "b.jsonl", "b", ["y", "z", "Normal heart."])
    for name, path in (("a", a), ("b", b)):
        code, out, err = run_cli(
            "evaluate", path, "--out", tmp_path / f"{name}.json", "--metrics", "rougeL,exact"
        )
        assert code == 0, err
    scores = json.loads((tmp_path / "a.json").read_text())
    assert scores["metrics"]["exact_match"]["mean"] == pytest.approx(2 / 3)
    assert scores["columns"]["exact_match"]["label"] == "Exact match (toy)"
    code, _, err = run_cli(
        "report", tmp_path / "a.json", tmp_path / "b.json", "--out", tmp_path / "r"
    )
    assert code == 0, err
    markdown = (tmp_path / "r" / "report.md").read_text()
    assert "| Exact match (toy) |" in markdown and "0.667 [" in markdown
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["columns"] == ["rougeL", "exact_match"]  # registry order, nothing dropped
    assert any(d["metric"] == "exact_match" for d in report["paired_deltas"])


def test_a_metric_the_report_does_not_know_is_still_shown(tmp_path, exact_match_metric):
    from radllama.evaluate.report import build_report
    from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions

    path = tmp_path / "s.json"
    evaluate_predictions(
        _preds(tmp_path / "a.jsonl", "a", ["No acute process.", "x", "y"]),
        EvaluateConfig(metrics=["exact"], bootstrap_resamples=50), out_path=path,
    )  # fmt: skip
    del metrics.METRICS["exact"]  # e.g. reported on a machine without the plug-in
    report = build_report([path], tmp_path / "r", n_resamples=50)
    assert report["columns"] == ["exact_match"]
    assert "Exact match (toy)" in (tmp_path / "r" / "report.md").read_text()


def test_unknown_metric_names_the_registered_ones(run_cli, tmp_path):
    path = _preds(tmp_path / "a.jsonl", "a", ["x", "y", "z"])
    code, _, err = run_cli("evaluate", path, "--out", tmp_path / "s.json", "--metrics", "bleu")
    assert code == 2 and "unknown metric 'bleu'" in err and "rougeL" in err


def test_a_registered_backend_runs_through_generate(run_cli, tiny_data_dir, tmp_path, echo_backend):
    out = tmp_path / "preds.jsonl"
    code, stdout, err = run_cli(
        "generate", "--backend", "echo", "--data", tiny_data_dir, "--out", out, "--limit", "3"
    )
    assert code == 0, err
    assert "echo: 3 rows -> 3 generated" in stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["prediction"] for r in rows] == [r["reference"].upper() for r in rows]
    assert all(r["system"] == "echo" and "EXAM: " in r["prompt"] for r in rows)
    code, _, err = run_cli("generate", "--backend", "nope", "--data", tiny_data_dir, "--out", out)
    assert code == 2 and "unknown backend 'nope'" in err and "echo" in err


def test_a_registered_preset_drives_prepare(tmp_path):
    from radllama.core.artifacts import DataManifest
    from radllama.data.prepare import load_prepare_config, prepare

    rows = [
        {"ID": f"s{i}", "FIND": f"The lungs are clear and the heart is normal in size {i}.",
         "IMP": "Normal chest."}
        for i in range(8)
    ]  # fmt: skip
    (tmp_path / "site.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    presets.register_preset(
        "toy-site",
        {"format": "jsonl", "columns": {"findings": "FIND", "impression": "IMP", "report_id": "ID"},
         "modality": "XR", "body_region": "chest"},
    )  # fmt: skip
    try:
        config = load_prepare_config(
            None, input=tmp_path / "site.jsonl", out=tmp_path / "d", preset="toy-site", workers=0
        )
        prepare(config)
    finally:
        del presets.PRESETS["toy-site"]
    manifest = DataManifest.read(tmp_path / "d")
    assert manifest.counts.kept == 8 and manifest.histogram["modality"] == {"XR": 8}
    with pytest.raises(Exception, match="unknown preset 'toy-site'"):
        load_prepare_config(
            None, input=tmp_path / "site.jsonl", out=tmp_path / "e", preset="toy-site"
        )
    with pytest.raises(Exception, match="columns"):
        presets.register_preset("broken", {"columns": {"nonsense": "x"}})


def _install_plugin(tmp_path: Path, monkeypatch, group: str, module: str, body: str) -> None:
    """A plugin package on sys.path: a module + dist-info whose entry point names it."""
    (tmp_path / f"{module}.py").write_text(body)
    info = tmp_path / f"{module}_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{module} = {module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_one_registry_type_serves_every_extension_point():
    from radllama.core.registry import Registry
    from radllama.deid.registry import RECOGNIZERS

    for registry in (metrics.METRICS, BACKENDS, presets.PRESETS, RECOGNIZERS):
        assert isinstance(registry, Registry)
        assert registry.group and registry.group.startswith("radllama.")
    assert {"rougeL", "judge"} <= set(metrics.METRICS)
    assert {"hf", "openai"} <= set(BACKENDS)
    assert {"mgh", "openi"} <= set(presets.PRESETS)


def test_an_installed_plugin_registers_a_metric_through_its_entry_point(tmp_path, monkeypatch):
    from radllama.core.registry import Registry

    shapes: Registry[int] = Registry("shape", group="radllama.test_shapes")
    monkeypatch.setitem(__import__("sys").modules, "toy_shapes_registry", shapes)
    body = "import toy_shapes_registry\ntoy_shapes_registry.register('hexagon', 6)\n"
    _install_plugin(tmp_path, monkeypatch, "radllama.test_shapes", "toy_shapes", body)
    assert "hexagon" not in shapes  # plugins load on the first lookup, not at import
    assert shapes.lookup("hexagon") == 6


def test_a_broken_plugin_is_one_line_naming_it(tmp_path, monkeypatch):
    from radllama.core.errors import ConfigError
    from radllama.core.registry import Registry

    shapes: Registry[int] = Registry("shape", group="radllama.test_broken")
    _install_plugin(tmp_path, monkeypatch, "radllama.test_broken", "toy_broken", "1 / 0\n")
    with pytest.raises(ConfigError, match="shape plugin 'toy_broken' .* ZeroDivisionError"):
        shapes.lookup("anything")


def test_each_builtin_metric_is_registered_by_its_own_module_in_a_fixed_order():
    """The judge's module imported first still leaves the registry in its order, and the
    runner registers nothing (it only runs what the metric modules registered)."""
    import subprocess
    import sys

    code = (
        "import radllama.evaluate.judge, radllama.evaluate.clinical\n"
        "from radllama.evaluate.metrics import METRICS\n"
        "print(','.join(METRICS.load_builtins()))\n"
        "print(','.join(m.score.__module__.rsplit('.', 1)[1] for m in METRICS.values()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "rougeL,bertscore,clinical,hallucination,judge"
    assert out[1] == "lexical,semantic,clinical,hallucination,judge"
    from pathlib import Path

    import radllama.evaluate.runner as runner

    assert "register_metric(" not in Path(runner.__file__).read_text()
