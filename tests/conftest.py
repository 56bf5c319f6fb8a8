"""Shared test fixtures. Real data lives in ../shared/data and is skipped when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data; skips the test when the folder is absent (users' machines)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only on the project's machines)")
    return SHARED_DATA


@pytest.fixture
def run_cli(capsys):
    """Run `radllama ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from radllama.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


# ---- tiny dataset + tiny model shared by train / generate / serve tests -----------------
_FINDINGS = [
    (
        "XR CHEST 2V",
        "XR",
        "chest",
        "The lungs are clear without focal consolidation. No pleural effusion or pneumothorax. "
        "Heart size is normal.",
        "No acute cardiopulmonary process.",
    ),
    (
        "XR CHEST 2V",
        "XR",
        "chest",
        "There is a right lower lobe consolidation. Small right pleural effusion. No pneumothorax. "
        "Heart size is normal.",
        "Right lower lobe pneumonia with small right pleural effusion.",
    ),
    (
        "CT HEAD W/O",
        "CT",
        "head",
        "No intracranial hemorrhage, mass effect or midline shift. Ventricles are normal in size. "
        "Gray-white differentiation is preserved.",
        "No acute intracranial abnormality.",
    ),
    (
        "CT HEAD W/O",
        "CT",
        "head",
        "There is an acute subdural hematoma along the left convexity measuring 8 mm with 3 mm of "
        "midline shift.",
        "Acute left subdural hematoma with 3 mm midline shift.",
    ),
    (
        "US ABDOMEN",
        "US",
        "abdomen",
        "The gallbladder contains multiple shadowing stones without wall thickening. The common "
        "bile duct measures 4 mm. No free fluid.",
        "Cholelithiasis without sonographic cholecystitis.",
    ),
    (
        "MR L-SPINE",
        "MR",
        "spine",
        "At L4-L5 there is a broad based disc bulge with moderate spinal canal stenosis. "
        "Other levels are unremarkable.",
        "L4-L5 disc bulge with moderate spinal canal stenosis.",
    ),
]


def make_tiny_rows(n: int, seed: int = 0) -> list[dict]:
    """Hand-written report pairs in the DATA_DIR row format (docs/ARCHITECTURE.md)."""
    import random

    from radllama.core import prompts

    rng = random.Random(seed)
    style = prompts.PromptStyle()
    rows = []
    for i in range(n):
        exam, modality, region, findings, impression = _FINDINGS[i % len(_FINDINGS)]
        instruction_index = prompts.choose_instruction(rng)
        prepend_index = prompts.choose_prepend(rng, 0.3)
        messages = style.messages(
            exam,
            findings,
            instruction=prompts.INSTRUCTIONS[instruction_index],
            completion=prompts.build_completion(impression, prepend_index),
        )
        rows.append(
            {
                "report_id": f"r{i:05d}",
                "patient_id": f"p{i // 2:05d}",
                "exam_code": exam,
                "exam_description": exam,
                "modality": modality,
                "body_region": region,
                "findings": findings,
                "impression": impression,
                "instruction_index": instruction_index,
                "prepend_index": prepend_index,
                "prompt": messages[-2]["content"],
                "completion": messages[-1]["content"],
                "messages": messages,
            }
        )
    return rows


def make_tiny_data_dir(path: Path, n_train: int = 48, n_eval: int = 6, n_test: int = 12) -> Path:
    """A DATA_DIR with train/eval/test.jsonl and a manifest, as `radllama prepare` writes it."""
    from radllama.core import prompts
    from radllama.core.artifacts import DataManifest
    from radllama.core.jsonl import write_jsonl
    from radllama.core.provenance import file_sha256

    path.mkdir(parents=True, exist_ok=True)
    rows = make_tiny_rows(n_train + n_eval + n_test)
    splits = {
        "train": rows[:n_train],
        "eval": rows[n_train : n_train + n_eval],
        "test": rows[n_train + n_eval :],
    }
    for name, split_rows in splits.items():
        write_jsonl(path / f"{name}.jsonl", [dict(r, split=name) for r in split_rows])
    n_rows = len(rows)
    DataManifest(
        data_hash="fixture",
        counts={"input_rows": n_rows, "kept": n_rows,
                "splits": {name: len(r) for name, r in splits.items()}},
        prompt_style=prompts.PromptStyle(),
        deid={"enabled": True, "mode": "placeholder"},
        outputs={  # readers check every file against these hashes
            f"{name}.jsonl": {"bytes": (path / f"{name}.jsonl").stat().st_size,
                              "sha256": file_sha256(path / f"{name}.jsonl")}
            for name in splits
        },
        fixture=True,
    ).write(path)  # fmt: skip
    return path


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """A small hand-written DATA_DIR (session-scoped; do not modify it in tests)."""
    return make_tiny_data_dir(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_data_dir, tmp_path_factory) -> Path:
    """A micro Llama + BPE tokenizer built by `radllama.model.base` (a few pretraining steps)."""
    from radllama.model.base import BaseConfig, build_base

    out = tmp_path_factory.mktemp("tiny_model")
    build_base(
        tiny_data_dir,
        out,
        BaseConfig(size="micro", vocab_size=512, seq_length=64, batch_size=4, max_steps=20),
    )
    return out
