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
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

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
    """Everything that shapes the prompt; saved in the manifest and with every checkpoint.

    `messages` is the one function that builds chat messages from a report.
    """

    version: str = Field(INSTRUCTION_SET_VERSION, description="Instruction set version.")
    system_prompt: str = Field(SYSTEM_PROMPT, description="System message ('' for none).")
    inference_instruction: str = Field(
        INSTRUCTIONS[0], description="Instruction used at generation time."
    )
    exam_field: Literal["exam_code", "exam_description"] = Field(
        "exam_code",
        description="Row field shown as EXAM; the other one is the fallback when it is empty.",
    )
    num_examples: int = Field(
        0, ge=0, description="k: similar prior reports (retrieved) shown before the case."
    )
    example_max_words: int = Field(
        60, ge=1, description="Each example's FINDINGS is cut to this many words (short prompts)."
    )
    index: dict[str, Any] | None = Field(
        None,
        description="Identity of the retrieval index the examples come from (kind, encoder and "
        "its hash, data hash, train split hash, path); set when num_examples > 0.",
    )

    def exam(self, row: Mapping[str, Any]) -> str:
        """The EXAM text of a row: `exam_field`, else the other exam field, else ''.

        >>> PromptStyle(exam_field="exam_description").exam({"exam_code": "CTH", "exam_description": ""})
        'CTH'
        """
        other = EXAM_FIELDS[1] if self.exam_field == EXAM_FIELDS[0] else EXAM_FIELDS[0]
        return str(row.get(self.exam_field) or row.get(other) or "")

    def user_prompt(
        self,
        exam: str,
        findings: str,
        *,
        instruction: str | None = None,
        examples: Sequence[Example] | None = None,
    ) -> str:
        """The user turn for one report (see `build_user_prompt`).

        `examples`: anything with `findings` and `impression` (an `Example`, a retrieval
        Neighbour); the first `num_examples` are shown (all when it is 0), each FINDINGS cut
        to `example_max_words` words.
        """
        if examples:
            shown = examples[: self.num_examples] if self.num_examples else examples
            examples = [
                Example(_cut(e.findings, self.example_max_words), e.impression) for e in shown
            ]
        return build_user_prompt(
            exam, findings, instruction or self.inference_instruction, examples=examples
        )

    def messages(
        self,
        exam: str,
        findings: str,
        *,
        instruction: str | None = None,
        completion: str | None = None,
        examples: Sequence[Example] | None = None,
    ) -> list[dict[str, str]]:
        """THE function that turns one report into chat messages, for every stage.

        prepare and training (`completion` given: system, user, assistant), generation and
        serving (`completion` None: system + user, the generation prompt) and the tests all
        call this, so the four cannot drift apart. `instruction` defaults to the style's
        inference instruction (prepare passes the one drawn for the row). `examples` are
        similar prior reports put before the case (retrieval; see `build_user_prompt`).

        >>> PromptStyle(system_prompt="").messages("XR", "Clear.", completion="Normal.")
        [{'role': 'user', 'content': 'Write the IMPRESSION for this radiology report.\\n\\nEXAM: XR\\nFINDINGS: Clear.'}, {'role': 'assistant', 'content': 'Normal.'}]
        """
        user = self.user_prompt(exam, findings, instruction=instruction, examples=examples)
        return self.chat(user, completion)

    def row_messages(
        self,
        row: Mapping[str, Any],
        *,
        instruction: str | None = None,
        completion: str | None = None,
        examples: Sequence[Example] | None = None,
    ) -> list[dict[str, str]]:
        """`messages` for a DATA_DIR row: the exam per `exam_field`, the row's findings."""
        return self.messages(
            self.exam(row),
            str(row["findings"]),
            instruction=instruction,
            completion=completion,
            examples=examples,
        )

    def chat(self, user: str, completion: str | None = None) -> list[dict[str, str]]:
        """The message list around an already rendered user turn (system first when set)."""
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": user})
        if completion is not None:
            messages.append({"role": "assistant", "content": completion})
        return messages


class Example(NamedTuple):
    """A similar prior report shown in the prompt (retrieval-augmented generation)."""

    findings: str
    impression: str


def _cut(text: str, max_words: int) -> str:
    """At most `max_words` words; ' ...' marks a cut.

    >>> _cut("a b c", 2)
    'a b ...'
    """
    words = text.split()
    return " ".join(words[:max_words]) + (" ..." if len(words) > max_words else "")


def build_user_prompt(
    exam: str, findings: str, instruction: str, examples: Sequence[Example] | None = None
) -> str:
    """The user turn: instruction, then the exam code/description joined with the findings.

    Retrieval plugs in here: `examples` (similar prior reports, most similar first) are
    listed between the instruction and the case, each as its FINDINGS and IMPRESSION. With
    no examples the prompt is exactly the one the paper's recipe trains on.

    >>> print(build_user_prompt("XR", "Clear.", "Summarize.", [Example("Clear.", "Normal.")]))
    Summarize.
    <BLANKLINE>
    SIMILAR PRIOR REPORT 1:
    FINDINGS: Clear.
    IMPRESSION: Normal.
    <BLANKLINE>
    EXAM: XR
    FINDINGS: Clear.
    """
    exam = (exam or "").strip() or "UNKNOWN"
    shown = "".join(
        f"SIMILAR PRIOR REPORT {i}:\nFINDINGS: {ex.findings.strip()}\n"
        f"IMPRESSION: {ex.impression.strip()}\n\n"
        for i, ex in enumerate(examples or (), start=1)
    )
    return f"{instruction}\n\n{shown}EXAM: {exam}\nFINDINGS: {findings.strip()}"


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
