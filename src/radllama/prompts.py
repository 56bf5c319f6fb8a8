"""Report row -> chat messages (the dataset transform). Tokens are the tokenizer's business.

The paper draws one of 20 instructions per pair, joins the exam code with the findings in
the input, and with some probability starts the impression with one of 10 prepend
phrases. The *prompt style* (system prompt, instruction set version, which instruction is
used at inference) is saved beside every checkpoint so generation reproduces training.

>>> style = PromptStyle()
>>> build_user_prompt("CT CHEST W/O", "Lungs are clear.", INSTRUCTIONS[0])
'Write the IMPRESSION for this radiology report.\\n\\nEXAM: CT CHEST W/O\\nFINDINGS: Lungs are clear.'
>>> strip_prepend("Impression: No acute abnormality.")
'No acute abnormality.'
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

INSTRUCTION_SET_VERSION = "radllama-instructions-v1"
EXAM_FIELDS = ("exam_code", "exam_description")

SYSTEM_PROMPT = (
    "You are a radiology assistant. Given the exam and the FINDINGS of a radiology report, "
    "write the IMPRESSION as a radiologist would. A radiologist reviews every impression."
)

# 20 instructions asking for the impression (paper: "20 different instructions").
INSTRUCTIONS: tuple[str, ...] = (
    "Write the IMPRESSION for this radiology report.",
    "Summarize the findings below into a radiology impression.",
    "Based on the findings, what is the impression?",
    "Generate the impression section of this report from the findings.",
    "Provide a concise radiological impression for the following findings.",
    "Read the findings and write the radiologist's conclusion.",
    "What would the impression of this radiology report be?",
    "Derive the clinical impression from these imaging findings.",
    "Condense the findings into the key impression points, most important first.",
    "As a radiologist, write the impression for the study below.",
    "Give the final impression for this exam.",
    "Produce the IMPRESSION that accompanies these FINDINGS.",
    "Write a brief summary impression of the following imaging findings.",
    "Interpret the findings and state the impression.",
    "Complete the report by writing its impression.",
    "Turn these findings into an impression suitable for the referring clinician.",
    "State the most clinically relevant conclusions from these findings.",
    "Compose the impression for this radiology examination.",
    "Given the exam and findings, summarize the diagnostic impression.",
    "Draft the impression section for the report below.",
)

# 10 phrases that may start the impression (paper: "prepend phrase ... from 10 sentences").
PREPEND_PHRASES: tuple[str, ...] = (
    "Impression:",
    "IMPRESSION:",
    "The impression is as follows:",
    "Based on the findings, the impression is:",
    "Radiologist's impression:",
    "Summary of findings:",
    "In conclusion:",
    "Final impression:",
    "The key conclusions are:",
    "Assessment:",
)

_PREPEND_RE = re.compile(
    r"^\s*(?:"
    + "|".join(re.escape(p) for p in sorted(PREPEND_PHRASES, key=len, reverse=True))
    + r")\s*",
    re.IGNORECASE,
)


class PromptStyle(BaseModel):
    """How a (exam, findings) pair becomes chat messages; saved with every checkpoint."""

    version: str = Field(INSTRUCTION_SET_VERSION, description="Instruction set version.")
    system_prompt: str = Field(SYSTEM_PROMPT, description="System message ('' for none).")
    inference_instruction: str = Field(
        INSTRUCTIONS[0], description="Instruction used at generation time."
    )
    exam_field: Literal["exam_code", "exam_description"] = Field(
        "exam_code",
        description="Row field shown as EXAM; the other one is the fallback when it is empty.",
    )

    def exam(self, row: Mapping[str, Any]) -> str:
        """The EXAM text of a row: `exam_field`, else the other exam field, else ''.

        >>> PromptStyle(exam_field="exam_description").exam({"exam_code": "CTH", "exam_description": ""})
        'CTH'
        """
        other = EXAM_FIELDS[1] if self.exam_field == EXAM_FIELDS[0] else EXAM_FIELDS[0]
        return str(row.get(self.exam_field) or row.get(other) or "")

    def messages(self, exam: str, findings: str, instruction: str | None = None) -> list[dict]:
        """System + user messages (no assistant turn): the generation prompt."""
        user = build_user_prompt(exam, findings, instruction or self.inference_instruction)
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return msgs + [{"role": "user", "content": user}]


def build_user_prompt(exam: str, findings: str, instruction: str) -> str:
    """The user turn: instruction, then the exam code/description joined with the findings."""
    exam = (exam or "").strip() or "UNKNOWN"
    return f"{instruction}\n\nEXAM: {exam}\nFINDINGS: {findings.strip()}"


def choose_instruction(rng: random.Random) -> int:
    """Index of the instruction for one pair (uniform over the 20)."""
    return rng.randrange(len(INSTRUCTIONS))


def choose_prepend(rng: random.Random, probability: float) -> int | None:
    """Index of a prepend phrase with the given probability, else None."""
    if rng.random() < probability:
        return rng.randrange(len(PREPEND_PHRASES))
    return None


def build_completion(impression: str, prepend_index: int | None) -> str:
    """The assistant turn: optional prepend phrase, then the impression."""
    impression = impression.strip()
    if prepend_index is None:
        return impression
    return f"{PREPEND_PHRASES[prepend_index]} {impression}"


def strip_prepend(text: str) -> str:
    """Remove one leading known prepend phrase (used to clean predictions)."""
    return _PREPEND_RE.sub("", text, count=1).strip()
