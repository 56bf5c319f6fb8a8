"""GGUF in and out, and the one loader: export round trip on the micro model, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from radllama.core.errors import ConfigError
from radllama.model import loader
from radllama.model.base import GgufError, convert_gguf, inspect_gguf
from radllama.model.export import export_gguf

PROMPT = [
    {"role": "system", "content": "You are a radiologist."},
    {"role": "user", "content": "EXAM: CT CHEST\nFINDINGS: Small left pleural effusion."},
]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # Converted GGUF copies go to a per-session cache, not the user's ~/.cache.
    monkeypatch.setenv("RADLLAMA_CACHE", str(tmp_path_factory.getbasetemp() / "radllama_cache"))


@pytest.fixture(scope="module")
def tiny_gguf(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("gguf") / "micro-f16.gguf"
    summary = export_gguf(tiny_model_dir, out, "f16")
    return out, summary


def _greedy_and_logits(model, tokenizer, n_new=8):
    import torch

    ids = tokenizer.apply_chat_template(
        PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        logits = model(**ids).logits[0, -1].float()
        out = model.generate(**ids, max_new_tokens=n_new, do_sample=False, min_new_tokens=n_new)
    return ids["input_ids"][0].tolist(), out[0, ids["input_ids"].shape[1] :].tolist(), logits


@pytest.mark.parametrize("gguf_type,tolerance", [("f16", 2e-2), ("q8_0", 0.25)])
def test_export_round_trip_through_transformers(tiny_model_dir, tmp_path, gguf_type, tolerance):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / f"m-{gguf_type}.gguf"
    summary = export_gguf(tiny_model_dir, out, gguf_type)
    info = inspect_gguf(out)
    assert info["architecture"] == "llama" and info["file_type"] == gguf_type.upper()
    if gguf_type == "q8_0":
        assert summary["tensor_types"].get("Q8_0", 0) > 0
    ref = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    ref_tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    back = AutoModelForCausalLM.from_pretrained(
        out.parent, gguf_file=out.name, dtype=torch.float32
    ).eval()
    back_tok = AutoTokenizer.from_pretrained(out.parent, gguf_file=out.name)
    assert back_tok.chat_template == ref_tok.chat_template
    ref_prompt, ref_new, ref_logits = _greedy_and_logits(ref, ref_tok)
    back_prompt, back_new, back_logits = _greedy_and_logits(back, back_tok)
    assert back_prompt == ref_prompt  # same tokenizer: same ids for the same prompt
    assert (ref_logits - back_logits).abs().max().item() < tolerance
    if gguf_type == "f16":
        assert back_new == ref_new


def test_gguf_is_a_model_for_every_loader(tiny_gguf, tiny_model_dir):
    from radllama.generation.inference import GenerationSettings, ImpressionModel

    path, _ = tiny_gguf
    source = loader.resolve_model(path)
    assert source.kind == "gguf"
    converted = loader.gguf_model_dir(path)
    record = json.loads((converted / "radllama_base.json").read_text())
    assert record["source"]["sha256"] == loader_sha(path)
    assert record["source"]["quantization"] == "F16"
    assert (converted / "model.safetensors").is_file()
    model = ImpressionModel.load(path)
    reference = ImpressionModel.load(tiny_model_dir)
    settings = GenerationSettings(max_new_tokens=6)
    items = [("CT CHEST", "Small left pleural effusion.")]
    assert model.generate(items, settings)[0].raw_text == (
        reference.generate(items, settings)[0].raw_text
    )


def loader_sha(path):
    from radllama.model.base import file_sha256

    return file_sha256(path)


def test_convert_gguf_writes_a_plain_hf_dir(tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, _ = tiny_gguf
    record = convert_gguf(path, tmp_path / "base")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    assert getattr(model, "hf_quantizer", None) is None  # not marked GGUF-quantised
    assert AutoTokenizer.from_pretrained(tmp_path / "base").chat_template
    assert record["source"]["file"] == str(path) and len(record["source"]["sha256"]) == 64


def test_train_takes_a_gguf_model(tiny_gguf, tiny_data_dir, tmp_path):
    from radllama.core.config import validate_config
    from radllama.training import TrainConfig, train

    path, _ = tiny_gguf
    config = validate_config(
        TrainConfig,
        dict(
            method="lora", model=str(path), data=str(tiny_data_dir),
            output_dir=str(tmp_path / "run"), max_steps=2, max_length=512,
            per_device_train_batch_size=2, gradient_checkpointing=False, bf16=False,
            attn_implementation="sdpa", report_to="none", logging_steps=1, save_steps=2,
        ),
        source="test",
    )  # fmt: skip
    record = train(config)
    assert record["base_model"] == str(path)
    from radllama.generation.inference import ImpressionModel

    loaded = ImpressionModel.load(tmp_path / "run")  # adapter over a GGUF base
    assert loaded.generate([("CT", "Clear lungs.")])[0].completion_tokens >= 1


def _truncated(tiny_gguf, tmp_path):
    path, _ = tiny_gguf
    target = tmp_path / "cut.gguf"
    target.write_bytes(path.read_bytes()[:200])
    return target


def _foreign_arch(tiny_gguf, tmp_path):
    import gguf

    target = tmp_path / "other.gguf"
    writer = gguf.GGUFWriter(target, "mamba")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def _not_gguf(tiny_gguf, tmp_path):
    target = tmp_path / "weights.gguf"
    target.write_text("not a model")
    return target


@pytest.mark.parametrize(
    "make,message",
    [
        (_truncated, "truncated or damaged"),
        (_foreign_arch, "'mamba' model"),
        (_not_gguf, "not a GGUF file"),
    ],
)
def test_bad_gguf_is_one_line_exit_2(run_cli, tiny_gguf, tmp_path, make, message):
    target = make(tiny_gguf, tmp_path)
    code, _, err = run_cli("base", "--from-gguf", target, "--out", tmp_path / "m")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(GgufError, match=message):
        loader.gguf_model_dir(target)


def test_base_option_errors(run_cli, tiny_gguf, tmp_path):
    path, _ = tiny_gguf
    code, _, err = run_cli("base", "--from-gguf", path, "--size", "micro", "--out", tmp_path / "m")
    assert code == 2 and "exclude each other" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("base", "--size", "micro", "--out", tmp_path / "m")
    assert code == 2 and "--data" in err


def test_base_from_gguf_cli(run_cli, tiny_gguf, tmp_path):
    path, _ = tiny_gguf
    code, out, err = run_cli("base", "--from-gguf", path, "--out", tmp_path / "m")
    assert code == 0, err
    assert "llama, F16" in out and (tmp_path / "m" / "generation_config.json").is_file()


def test_export_gguf_cli_and_errors(run_cli, tiny_model_dir, tmp_path):
    code, out, err = run_cli(
        "export", tiny_model_dir, "--gguf", tmp_path / "x.gguf", "--type", "q8_0"
    )
    assert code == 0 and "Q8_0" in out, err
    code, _, err = run_cli("export", tiny_model_dir, "--gguf", tmp_path / "y.gguf", "--type", "q2")
    assert code == 2 and "f16, q8_0" in err
    no_template = shutil.copytree(tiny_model_dir, tmp_path / "no_template")
    config = json.loads((no_template / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(config))
    (no_template / "chat_template.jinja").unlink(missing_ok=True)
    code, _, err = run_cli("export", no_template, "--gguf", tmp_path / "z.gguf")
    assert code == 2 and "no chat template" in err and len(err.strip().splitlines()) == 1


def test_model_file_that_is_not_gguf_is_refused(tmp_path):
    (tmp_path / "model.bin").write_text("x")
    with pytest.raises(loader.ModelError, match="not a .gguf"):
        loader.resolve_model(tmp_path / "model.bin")


@pytest.mark.slow
def test_bundled_smollm2_converts_and_answers(tmp_path, run_cli):
    """The real default base: bundled SmolLM2-135M-Instruct GGUF -> HF dir -> an impression."""
    pytest.importorskip("gguf")
    from radllama.generation.inference import GenerationSettings, ImpressionModel
    from radllama.model.base import bundled_gguf

    try:
        gguf_file = bundled_gguf()
    except ConfigError as error:  # pragma: no cover - package not installed
        pytest.skip(str(error))
    code, out, err = run_cli("base", "--out", tmp_path / "smollm2")
    assert code == 0, err
    record = json.loads((tmp_path / "smollm2" / "radllama_base.json").read_text())
    assert record["source"]["quantization"] == "Q4_1" and record["layers"] == 30
    assert record["source"]["file"] == str(gguf_file) and 130e6 < record["parameters"] < 140e6
    model = ImpressionModel.load(tmp_path / "smollm2")
    assert model.tokenizer.eos_token == "<|im_end|>" and model.tokenizer.pad_token != "<|im_end|>"
    out = model.generate(
        [("XR CHEST", "Heart size is normal. Lungs are clear. No effusion.")],
        GenerationSettings(max_new_tokens=24),
    )[0]
    assert len(out.raw_text.split()) >= 3  # English words, not an empty completion


def test_generate_and_impress_cli_take_a_gguf(run_cli, tiny_gguf, tiny_data_dir, tmp_path):
    path, _ = tiny_gguf
    code, _, err = run_cli(
        "generate", "--model", path, "--data", tiny_data_dir, "--out", tmp_path / "p.jsonl",
        "--max-new-tokens", "3", "--limit", "2",
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["system"] == path.name
    code, out, err = run_cli(
        "impress", "--model", path, "--exam", "CT", "--findings", "Clear lungs.",
        "--max-tokens", "3",
    )  # fmt: skip
    assert code == 0 and out.strip(), err
