"""One prompt builder: prepare, training, generation and the tests render a report through
`PromptStyle.messages`, so they agree message for message."""

from __future__ import annotations

import json

import pytest

from radllama.core import prompts
from radllama.core.prompts import Example, PromptStyle
from radllama.data.prepare import encode_row, instruction_row
from radllama.training.data import conversation

IDS = {
    "report_id": "r1", "patient_id": None, "exam_code": "CTHDWO",
    "exam_description": "CT HEAD W/O", "modality": "CT", "body_region": "head",
}  # fmt: skip


@pytest.mark.parametrize(
    "style",
    [
        PromptStyle(),
        PromptStyle(system_prompt="", exam_field="exam_description"),
        PromptStyle(system_prompt='Quote " and \\ and \u2028.', inference_instruction="Go."),
    ],
)
def test_prepare_training_and_generation_build_the_same_messages(style):
    row = instruction_row(IDS, "No bleed.", "Normal head.", 3, 1, style)
    completion = f"{prompts.PREPEND_PHRASES[1]} Normal head."
    expected = style.messages(
        style.exam(IDS), "No bleed.", instruction=prompts.INSTRUCTIONS[3], completion=completion
    )
    assert row["messages"] == expected
    assert json.loads(encode_row(row) + "}") == row  # the fast encoder writes the same JSON
    prompt, answer = conversation(row, style)  # training
    assert prompt + answer == expected
    # Generation: the same messages without the assistant turn (with the inference instruction).
    generation = style.messages(style.exam(IDS), "No bleed.", instruction=prompts.INSTRUCTIONS[3])
    assert generation == prompt
    # A row without `messages` is wrapped by the same style.
    bare = {"prompt": row["prompt"], "completion": row["completion"]}
    assert sum(conversation(bare, style), []) == expected


def test_exam_field_and_examples_shape_the_user_turn():
    described = PromptStyle(exam_field="exam_description")
    assert "EXAM: CT HEAD W/O\n" in described.row_messages({**IDS, "findings": "x"})[-1]["content"]
    assert "EXAM: CTHDWO\n" in PromptStyle().row_messages({**IDS, "findings": "x"})[-1]["content"]
    plain = PromptStyle().user_prompt("XR", "Clear.")
    with_examples = PromptStyle().user_prompt(
        "XR", "Clear.", examples=[Example("Old clear.", "Normal."), Example("Effusion.", "Fluid.")]
    )
    assert with_examples.endswith("EXAM: XR\nFINDINGS: Clear.") and plain != with_examples
    assert with_examples.index("IMPRESSION: Normal.") < with_examples.index("IMPRESSION: Fluid.")
    assert PromptStyle().user_prompt("XR", "Clear.", examples=[]) == plain
