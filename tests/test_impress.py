"""`radllama impress`: one impression from the command line, same object as /v1/impressions."""

from __future__ import annotations

import io
import json

import pytest

from radllama.evaluate.hallucination import hallucination_flags
from radllama.generation.inference import GenerationOutput, ImpressionModel
from radllama.serving.engine import ServingEngine

EXAM = "XR CHEST 2V"
FINDINGS = "There is a right lower lobe consolidation. Small right pleural effusion."


def test_impress_prints_the_impression_and_json_object(run_cli, tiny_model_dir):
    code, out, err = run_cli(
        "impress", "--model", tiny_model_dir, "--exam", EXAM, "--findings", FINDINGS,
        "--max-tokens", "6", "--json",
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert set(body) == {"impression", "model", "latency_ms", "flags"}
    assert body["impression"].strip() and body["model"] == tiny_model_dir.name
    assert body["flags"] == hallucination_flags(FINDINGS, body["impression"])

    # Plain output is the impression alone; greedy decoding makes it the same text.
    code, out, _ = run_cli(
        "impress", "--model", tiny_model_dir, "--exam", EXAM, "--findings", FINDINGS,
        "--max-tokens", "6",
    )  # fmt: skip
    assert code == 0 and out.strip() == body["impression"]


def test_impress_reads_findings_from_stdin(run_cli, tiny_model_dir, monkeypatch):
    code, expected, _ = run_cli(
        "impress", "--model", tiny_model_dir, "--exam", EXAM, "--findings", FINDINGS,
        "--max-tokens", "5",
    )  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(FINDINGS + "\n"))
    code, out, err = run_cli(
        "impress", "--model", tiny_model_dir, "--exam", EXAM, "--findings", "-", "--max-tokens", "5"
    )
    assert code == 0, err
    assert out == expected


@pytest.mark.parametrize(
    ("findings", "max_tokens", "message"),
    [("   ", "6", "findings is empty"), (FINDINGS, "0", "max_tokens must be between 1")],
)
def test_impress_bad_input_is_one_line_exit_2(
    run_cli, tiny_model_dir, findings, max_tokens, message
):
    code, out, err = run_cli(
        "impress", "--model", tiny_model_dir, "--exam", EXAM, "--findings", findings,
        "--max-tokens", max_tokens,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_impression_object_carries_hallucination_flags(tiny_model_dir):
    """The response builder flags impression statements the findings do not support."""
    engine = ServingEngine(ImpressionModel.load(tiny_model_dir))
    output = GenerationOutput(
        raw_text="Impression: Left upper lobe pneumonia.", prediction="Left upper lobe pneumonia.",
        prompt_tokens=10, completion_tokens=7, finish_reason="stop",
    )  # fmt: skip
    body = engine.impression_response("The lungs are clear. No effusion.", output, 12.34)
    assert body["impression"] == "Left upper lobe pneumonia." and body["latency_ms"] == 12.3
    assert [flag["observation"] for flag in body["flags"]] == ["pneumonia"]
