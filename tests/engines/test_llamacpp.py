"""GGUFs from `radllama export --gguf` run in llama.cpp (llama-cpp-python in its own venv, a
portable AVX2 build) as they do in transformers: the tiny test model and the SmolLM2 base,
f16 and q8_0. Checked: prompt token ids (chat-rendered prompts and report lines with runs of
spaces before digits), greedy tokens (llama.cpp's choice at every step of transformers' greedy
path scores within 0.05 (f16) / 0.5 (q8_0) logit of transformers' best; f16 generates the same
20 tokens up to the first exact tie), the special ids, and the chat template as llama.cpp
applies it vs radllama's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from engine_helpers import engine_or_skip, radllama

pytestmark = pytest.mark.engines

PROBE = Path(__file__).with_name("llamacpp_probe.py")
GREEDY = 20
FINDINGS = [
    ("XR CHEST 2V", "The lungs are clear. No pleural effusion or pneumothorax."),
    (
        "CT CHEST W",
        "Right lower lobe nodule measures B.   12 mm, previously 9 mm.\n\n  4. No pneumothorax.",
    ),  # fmt: skip
]
REPORT_LINES = ["Compression of T12  and L1   vertebral bodies, 2010 comparison."]
Q8_TOLERANCE = 0.5  # logits; q8_0 rounds every weight row to 8 bits
F16_TOLERANCE = 0.05  # logits; measured: SmolLM2 f16 picks within 2e-5 of transformers' best


@pytest.fixture(scope="module", params=["tiny", "smollm2"])
def model_dir(request):
    return request.getfixturevalue("tiny_model_dir" if request.param == "tiny" else "smollm2_base")


@pytest.fixture(scope="module")
def transformers_side(model_dir):
    """Prompts, their ids, greedy tokens and logits along the greedy path, from transformers."""
    import torch

    from radllama.generation.inference import ImpressionModel
    from radllama.model import loader

    prompting = ImpressionModel.load_prompting(model_dir)
    tokenizer = prompting.tokenizer
    model = loader.load_causal_lm(model_dir, dtype=torch.float32).eval()
    prompts = [prompting.build_prompt(exam, findings) for exam, findings in FINDINGS]
    rows = []
    for text in prompts + REPORT_LINES:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        sequence = list(ids)
        with torch.inference_mode():
            for _ in range(GREEDY):
                logits = model(torch.tensor([sequence])).logits[0, -1]
                sequence.append(int(logits.argmax()))
            path = model(torch.tensor([sequence])).logits[0, len(ids) - 1 :]
        rows.append({"ids": ids, "greedy": sequence[len(ids) :], "teacher": sequence,
                     "logits": path.numpy()})  # fmt: skip
    messages = prompting.messages(*FINDINGS[0])
    chat = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    config = model.config
    return {"texts": prompts + REPORT_LINES, "rows": rows, "messages": messages, "chat": chat,
            "tokenizer": tokenizer, "config": config}  # fmt: skip


def _llamacpp(gguf: Path, side: dict, tmp_path: Path) -> dict:
    python = engine_or_skip("llamacpp")
    request = tmp_path / "request.json"
    request.write_text(json.dumps({
        "gguf": str(gguf), "prompts": side["texts"], "greedy_tokens": GREEDY,
        "teacher": [row["teacher"] for row in side["rows"]], "messages": side["messages"],
    }))  # fmt: skip
    done = subprocess.run([str(python), str(PROBE), str(request)], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("gguf_type", ["f16", "q8_0"])
def test_gguf_in_llamacpp_matches_transformers(model_dir, transformers_side, gguf_type, tmp_path):
    import numpy as np

    gguf = tmp_path / f"model-{gguf_type}.gguf"
    radllama("export", model_dir, "--gguf", gguf, "--type", gguf_type)
    side = transformers_side
    got = _llamacpp(gguf, side, tmp_path)
    tokenizer, config = side["tokenizer"], side["config"]
    # The chat template writes BOS where the model wants it; llama.cpp must not add another.
    assert got["add_bos"] is False
    assert got["bos"] == tokenizer.bos_token_id and got["eos"] == tokenizer.eos_token_id
    if config.pad_token_id is not None:
        assert got["pad"] == config.pad_token_id  # config.json's, not the training pad
    for text, ours, theirs in zip(side["texts"], side["rows"], got["prompts"], strict=True):
        assert theirs["ids"] == ours["ids"], text
        # At every step of transformers' greedy path, llama.cpp's pick is (near-)best for
        # transformers too; f16 also generates the same greedy tokens up to the first tie
        # (SmolLM2 ties exactly, margin 0.0 in fp32, on the first token of one prompt).
        logits = ours["logits"]
        picked = logits[np.arange(len(logits)), theirs["teacher_argmax"]]
        tolerance = F16_TOLERANCE if gguf_type == "f16" else Q8_TOLERANCE
        assert (logits.max(axis=1) - picked).max() <= tolerance, text
        if gguf_type == "f16":
            top2 = np.sort(logits, axis=1)[:, -2:]
            ties = np.flatnonzero(top2[:, 1] - top2[:, 0] < F16_TOLERANCE)
            n = int(ties[0]) if len(ties) else GREEDY
            assert theirs["greedy"][:n] == ours["greedy"][:n], text
            assert theirs["teacher_argmax"][:n] == [int(r.argmax()) for r in logits[:n]]
    assert got["chat_python"] == side["chat"], got["chat_format"]  # create_chat_completion
    if got["chat_cpp"] is not None:  # llama.cpp's built-in templates (llama-server, no --jinja)
        # chatml (SmolLM2) comes out identical; the built-in llama3 template (the tiny model)
        # leaves out <|begin_of_text|>: use llama-server --jinja for such models.
        bos = tokenizer.bos_token or ""
        assert got["chat_cpp"] in (side["chat"], side["chat"].removeprefix(bos))
