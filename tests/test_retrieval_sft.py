"""Retrieval-augmented SFT and inference with the micro model: `radllama train` with k examples,
then `generate`, `impress --json` and `serve` (real HTTP) build the same prompt and show the
retrieved cases; bad index input is one line with exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from radllama.core.jsonl import read_jsonl
from radllama.generation.inference import ImpressionModel
from radllama.retrieval import build_index
from radllama.serving.server import ServeConfig, build_app, start_in_thread

K = 2
EXAM = "CT HEAD W/O"
FINDINGS = "Acute subdural hematoma along the left convexity, 8 mm, with 3 mm of midline shift."


@pytest.fixture(scope="module")
def data(tiny_data_dir, tmp_path_factory) -> Path:
    """A copy of the tiny DATA_DIR with a dense index (the session fixture stays untouched)."""
    copy = tmp_path_factory.mktemp("rag") / "data"
    shutil.copytree(tiny_data_dir, copy)
    build_index(copy, progress=False)
    return copy


@pytest.fixture(scope="module")
def rag_run(tiny_model_dir, data, tmp_path_factory) -> tuple[Path, dict]:
    from radllama.core.config import validate_config
    from radllama.training import TrainConfig, train

    out = tmp_path_factory.mktemp("runs") / "lora-k2"
    config = validate_config(TrainConfig, dict(
        model=str(tiny_model_dir), data=str(data), output_dir=str(out), method="lora",
        cache_dir=str(tmp_path_factory.mktemp("cache")), max_length=512, num_examples=K,
        example_max_words=12, per_device_train_batch_size=2, learning_rate=5e-3,
        warmup_ratio=0.0, max_steps=3, logging_steps=1, eval_steps=None, save_steps=100,
        gradient_checkpointing=False, report_to="none",
    ))  # fmt: skip
    return out, train(config)


def test_training_rows_carry_k_leak_free_examples(rag_run, data):
    out, record = rag_run
    style = record["prompt_style"]
    assert style["num_examples"] == K and style["example_max_words"] == 12
    meta = json.loads((data / "index" / "meta.json").read_text())
    assert style["index"]["encoder_sha256"] == meta["encoder_sha256"]
    assert style["index"]["train_sha256"] == meta["train_sha256"]
    saved = json.loads((out / "radllama_run.json").read_text())
    assert saved["prompt_style"] == style  # the run file records k and the index identity
    stats = record["data"]["stats"]["train"]["examples"]
    assert stats == {"rows": 48, "examples": 48 * K, "fewer_than_k": 0, "k": K}


def test_training_prompts_exclude_duplicates_and_same_patient(rag_run, data, tiny_model_dir):
    """Decode the cached training rows: every example differs from its row's findings (the
    fixture repeats each finding 8 times, so without the rule the duplicates would win)."""
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    out, record = rag_run
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = load_from_disk(str(Path(record["data"]["cache"]["path"]) / "train"))
    train = list(read_jsonl(data / "train.jsonl"))
    assert len(rows) == len(train)
    for example in rows:
        lines = tokenizer.decode(example["input_ids"]).splitlines()
        assert sum(line.startswith("SIMILAR PRIOR REPORT ") for line in lines) == K
        finding_lines = [
            line[len("FINDINGS: ") :] for line in lines if line.startswith("FINDINGS: ")
        ]
        assert len(finding_lines) == K + 1  # k examples, then the report itself
        own = finding_lines[-1]
        for shown in finding_lines[:K]:
            assert not own.startswith(shown.removesuffix(" ..."))


def test_generate_impress_and_serve_build_the_same_prompt(rag_run, data, run_cli, tmp_path):
    out, _ = rag_run
    preds = tmp_path / "preds.jsonl"
    code, stdout, err = run_cli("generate", "--data", data / "test.jsonl", "--out", preds,
                                "--model", out, "--max-new-tokens", "4", "--limit", "3")  # fmt: skip
    assert code == 0, err
    rows = list(read_jsonl(preds))
    assert len(rows) == 3
    train_ids = {r["report_id"] for r in read_jsonl(data / "train.jsonl")}
    for row in rows:
        assert "SIMILAR PRIOR REPORT 2:" in row["prompt"] and "REPORT 3:" not in row["prompt"]
        assert len(row["retrieved"]) == K and {c["row_id"] for c in row["retrieved"]} <= train_ids
    code, stdout, err = run_cli("impress", "--model", out, "--exam", EXAM, "--findings",
                                FINDINGS, "--max-tokens", "4", "--json")  # fmt: skip
    assert code == 0, err
    local = json.loads(stdout)
    assert local["retrieval"] == {"k": K, "status": "ok"} and len(local["retrieved"]) == K
    assert set(local["retrieved"][0]) == {"row_id", "similarity", "impression"}
    model = ImpressionModel.load(out)
    assert model.retriever is not None and len(model.retriever) == 48  # loaded once, here
    with start_in_thread(build_app(model, ServeConfig())) as server:
        body = {"exam_code": EXAM, "findings": FINDINGS, "max_tokens": 4}
        answer = httpx.post(f"{server.root_url}/v1/impressions", json=body, timeout=60).json()
        assert answer["retrieved"] == local["retrieved"]
        assert answer["impression"] == local["impression"]
        streamed = {**body, "stream": True}
        with httpx.stream(
            "POST", f"{server.root_url}/v1/impressions", json=streamed, timeout=60
        ) as r:
            events = [json.loads(x[5:]) for x in r.iter_lines() if x.startswith("data:")]
        done = next(e for e in events if e.get("type") == "done")
        assert done["response"]["retrieved"] == local["retrieved"]
        # Retrieval breaks: the request still answers, without examples, and says so.
        model.retriever.search = _broken
        broken = httpx.post(f"{server.root_url}/v1/impressions", json=body, timeout=60)
        assert broken.status_code == 200, broken.text
        failed = broken.json()
        assert failed["retrieval"]["status"] == "failed" and failed["retrieved"] == []
        assert "index unavailable" in failed["retrieval"]["detail"]
        assert failed["impression"] is not None


def _broken(*args, **kwargs):
    raise OSError("index unavailable")


def test_zero_shot_base_with_examples_from_an_index(tiny_model_dir, data, run_cli, tmp_path):
    preds = tmp_path / "base-k1.jsonl"
    code, _, err = run_cli("generate", "--data", data / "test.jsonl", "--out", preds, "--model",
                           tiny_model_dir, "--max-new-tokens", "3", "--limit", "2",
                           "--num-examples", "1", "--index", data)  # fmt: skip
    assert code == 0, err
    for row in read_jsonl(preds):
        assert len(row["retrieved"]) == 1 and "SIMILAR PRIOR REPORT 1:" in row["prompt"]


def test_bad_index_input_is_one_line_exit_2(rag_run, data, tiny_data_dir, run_cli, tmp_path):
    out, _ = rag_run
    other = tmp_path / "other"
    shutil.copytree(tiny_data_dir, other)
    rows = list(read_jsonl(other / "train.jsonl"))[:20]
    (other / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_index(other, progress=False)
    generate = ("generate", "--data", data / "test.jsonl", "--model", out, "--limit", "1")
    cases = [
        (("--index", other), "another train split"),  # index of another dataset
        (("--index", tmp_path / "none"), "radllama index DATA_DIR"),  # missing index
        (("--num-examples", "500"), "holds 48 reports"),  # k larger than the index
    ]
    for extra, message in cases:
        code, _, err = run_cli(*generate, "--out", tmp_path / "p.jsonl", *extra)
        assert code == 2, (extra, err)
        assert len(err.strip().splitlines()) == 1 and message in err, err
    code, _, err = run_cli("impress", "--model", out, "--exam", EXAM, "--findings", FINDINGS,
                           "--index", tmp_path / "none")  # fmt: skip
    assert code == 2 and "radllama index DATA_DIR" in err


def test_train_with_examples_needs_an_index(tiny_model_dir, tiny_data_dir, run_cli, tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(
        f"model: {tiny_model_dir}\ndata: {tiny_data_dir}\noutput_dir: {tmp_path / 'run'}\n"
        "method: lora\nnum_examples: 2\nmax_steps: 1\nreport_to: none\n"
    )
    code, _, err = run_cli("train", config)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "radllama index DATA_DIR" in err
