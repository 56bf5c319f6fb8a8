"""ImpressionModel: loading run dirs / adapters / bare models, prompts, batched generation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from radllama.core.errors import RadllamaError
from radllama.core.prompts import INSTRUCTIONS, PromptStyle
from radllama.generation.inference import GenerationSettings, ImpressionModel

CUSTOM_STYLE = PromptStyle(
    system_prompt="You write impressions.", inference_instruction=INSTRUCTIONS[7]
)


def write_run_file(run_dir: Path, method: str, base_model: str, style: PromptStyle) -> None:
    """radllama_run.json in the RUN_DIR format of docs/ARCHITECTURE.md."""
    record = {
        "method": method,
        "base_model": base_model,
        "hyperparameters": {"learning_rate": 1e-4, "epochs": 1},
        "prompt_style": style.model_dump(),
        "data_manifest_hash": "fixture",
        "package_versions": {},
        "seed": 0,
        "final_metrics": {},
    }
    (run_dir / "radllama_run.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def full_run_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """A full fine-tune RUN_DIR: model + tokenizer + run file with a non-default prompt style."""
    run_dir = tmp_path_factory.mktemp("full_run") / "run"
    shutil.copytree(tiny_model_dir, run_dir)
    write_run_file(run_dir, "full", str(tiny_model_dir), CUSTOM_STYLE)
    return run_dir


@pytest.fixture(scope="module")
def lora_run_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """A LoRA RUN_DIR: PEFT adapter (non-zero B so it changes outputs) + tokenizer + run file."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir = tmp_path_factory.mktemp("lora_run")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(run_dir)
    write_run_file(run_dir, "lora", str(tiny_model_dir), CUSTOM_STYLE)
    return run_dir


@pytest.fixture(scope="module")
def random_model(tiny_model_dir) -> ImpressionModel:
    """The tiny model's tokenizer + a freshly initialised Llama with wide weights.

    The pretrained micro model writes nearly the same words for every prompt; random wide
    weights make each prompt's greedy continuation different, so batching bugs show.
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    loaded = ImpressionModel.load(tiny_model_dir, device="cpu")
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.3
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = config.eos_token_id
    return ImpressionModel("random", model, loaded.tokenizer, PromptStyle())


def _items(data_dir: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (data_dir / "test.jsonl").read_text().splitlines()]
    # Different lengths so the batch needs left padding.
    return [
        (r["exam_code"], " ".join(r["findings"].split()[: 3 + 2 * i])) for i, r in enumerate(rows)
    ]


def test_bare_model_uses_default_prompt_style(tiny_model_dir):
    model = ImpressionModel.load(tiny_model_dir)
    prompt = model.build_prompt("CT HEAD W/O", "No hemorrhage.")
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
    assert PromptStyle().system_prompt in prompt and INSTRUCTIONS[0] in prompt
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert "EXAM: CT HEAD W/O\nFINDINGS: No hemorrhage." in prompt
    ids = model.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert model.prompt_tokens("CT HEAD W/O", "No hemorrhage.") == len(ids)
    assert ids.count(model.tokenizer.bos_token_id) == 1  # the template's BOS, not a second one
    assert model.tokenizer.eos_token_id in model.eos_token_ids and model.max_context > 0


def test_run_dir_prompt_style_is_reproduced(full_run_dir):
    model = ImpressionModel.load(full_run_dir)
    assert model.prompt_style == CUSTOM_STYLE and model.run.method == "full"
    prompt = model.build_prompt("XR CHEST", "Clear lungs.")
    assert "You write impressions." in prompt and INSTRUCTIONS[7] in prompt
    assert INSTRUCTIONS[0] not in prompt


def test_lora_adapter_is_applied(lora_run_dir, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    loaded = ImpressionModel.load(lora_run_dir)
    assert loaded.prompt_style == CUSTOM_STYLE
    ids = loaded.tokenizer(
        loaded.build_prompt("XR", "Clear."), add_special_tokens=False, return_tensors="pt"
    )
    reference = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), lora_run_dir
    )
    bare = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        got = loaded.model(**ids).logits
        want = reference.eval()(**ids).logits
        base = bare(**ids).logits
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(got, base, atol=1e-3)  # the adapter changed the model


def test_batched_generation_equals_one_at_a_time(random_model, tiny_data_dir):
    items = _items(tiny_data_dir)
    settings = GenerationSettings(max_new_tokens=12, batch_size=len(items))
    batched = random_model.generate(items, settings)
    single = [
        random_model.generate([item], GenerationSettings(max_new_tokens=12, batch_size=1))[0]
        for item in items
    ]
    assert [o.raw_text for o in batched] == [o.raw_text for o in single]
    assert [o.prompt_tokens for o in batched] == [random_model.prompt_tokens(*i) for i in items]
    assert len({o.raw_text for o in batched}) > len(items) // 2  # outputs depend on the prompt
    assert len({o.prompt_tokens for o in batched}) > 1  # lengths differ: padding was exercised


def test_generation_is_deterministic_and_counts_tokens(random_model, tiny_data_dir):
    items = _items(tiny_data_dir)[:3]
    settings = GenerationSettings(max_new_tokens=7, batch_size=2)
    first, second = random_model.generate(items, settings), random_model.generate(items, settings)
    assert first == second
    for output in first:
        assert output.finish_reason in {"stop", "length"}
        assert 1 <= output.completion_tokens <= 7


def test_stops_at_generation_config_eos(random_model, tiny_data_dir):
    item = _items(tiny_data_dir)[4]
    prompt_ids = random_model.tokenizer(random_model.build_prompt(*item), add_special_tokens=False)
    with torch.no_grad():
        sequence = random_model.model.generate(
            torch.tensor([prompt_ids["input_ids"]]),
            max_new_tokens=10,
            do_sample=False,
            eos_token_id=random_model.eos_token_ids,
            pad_token_id=random_model.tokenizer.pad_token_id,
        )[0]
    new_ids = sequence[len(prompt_ids["input_ids"]) :].tolist()
    assert len(new_ids) == 10 and not set(new_ids) & set(random_model.eos_token_ids)
    # Make a later generated token a stop token through the generation config only.
    stop_at, target = next((i, t) for i, t in enumerate(new_ids) if i >= 3 and t not in new_ids[:i])
    model = random_model.model
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [*saved, target]
    try:
        stopping = ImpressionModel("random-stop", model, random_model.tokenizer, PromptStyle())
        out = stopping.generate([item], GenerationSettings(max_new_tokens=10))[0]
    finally:
        model.generation_config.eos_token_id = saved
    assert out.finish_reason == "stop" and out.completion_tokens == stop_at + 1
    expected = random_model.tokenizer.decode(new_ids[:stop_at], skip_special_tokens=True).strip()
    assert out.raw_text == expected


def test_sampling_is_seeded(random_model, tiny_data_dir):
    items = _items(tiny_data_dir)[:2]
    settings = GenerationSettings(max_new_tokens=8, temperature=1.5, seed=3)
    assert random_model.generate(items, settings) == random_model.generate(items, settings)


def test_prompt_longer_than_context_is_a_clear_error(random_model):
    random_model.max_context, saved = 20, random_model.max_context
    try:
        with pytest.raises(RadllamaError, match="context is 20; shorten"):
            random_model.generate([("CT", "word " * 50)])
    finally:
        random_model.max_context = saved


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "has no config.json"),
        ("no_tokenizer", "no tokenizer"),
        ("no_template", "no chat template"),
        ("bad_base", "is not a local model directory"),
    ],
)
def test_bad_model_dirs_are_one_line_errors(setup, message, tiny_model_dir, lora_run_dir, tmp_path):
    target = tmp_path / "model"
    if setup == "empty":
        target.mkdir()
    elif setup in {"no_tokenizer", "no_template"}:
        shutil.copytree(tiny_model_dir, target)
        if setup == "no_tokenizer":
            for name in ("tokenizer.json", "tokenizer_config.json"):
                (target / name).unlink(missing_ok=True)
        else:
            config_path = target / "tokenizer_config.json"
            config = json.loads(config_path.read_text())
            config.pop("chat_template", None)
            config_path.write_text(json.dumps(config))
            (target / "chat_template.jinja").unlink(missing_ok=True)
    elif setup == "bad_base":
        shutil.copytree(lora_run_dir, target)
        write_run_file(target, "lora", str(tmp_path / "nowhere"), PromptStyle())
        config_path = target / "adapter_config.json"
        config = json.loads(config_path.read_text())
        config["base_model_name_or_path"] = str(tmp_path / "nowhere")
        config_path.write_text(json.dumps(config))
    with pytest.raises(RadllamaError, match=message) as raised:
        ImpressionModel.load(target)
    assert "\n" not in str(raised.value)


def test_settings_are_validated():
    with pytest.raises(RadllamaError, match="batch_size"):
        GenerationSettings(batch_size=0)
    with pytest.raises(RadllamaError, match="top_p"):
        GenerationSettings(top_p=0)


def test_qlora_run_loads_in_4bit_and_generates(lora_run_dir, tmp_path):
    import bitsandbytes as bnb

    run_dir = tmp_path / "qlora"
    shutil.copytree(lora_run_dir, run_dir)
    run = json.loads((run_dir / "radllama_run.json").read_text())
    quantization = {"load_in_4bit": True, "bnb_4bit_quant_type": "fp4"}  # as the run trained
    (run_dir / "radllama_run.json").write_text(
        json.dumps(dict(run, method="qlora", quantization=quantization))
    )
    model = ImpressionModel.load(run_dir, device="cpu", load_in_4bit=True)
    layers = [m for m in model.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and {m.weight.quant_state.quant_type for m in layers} == {"fp4"}
    assert any("lora_A" in name for name, _ in model.model.named_parameters())  # not merged
    out = model.generate([("XR CHEST", "Clear lungs.")], GenerationSettings(max_new_tokens=4))[0]
    assert out.prompt_tokens > 0 and 1 <= out.completion_tokens <= 4


def test_prompt_tokens_match_the_training_tokenization(full_run_dir):
    """Generation's prompt ids are exactly the prompt part of a training example."""
    from radllama.training import data

    model = ImpressionModel.load(full_run_dir)
    exam, findings = "CT HEAD W/O", "No intracranial hemorrhage."
    messages = model.prompt_style.messages(exam, findings)
    completion = [{"role": "assistant", "content": "No acute intracranial abnormality."}]
    example = data.tokenize_pair(model.tokenizer, messages, completion)
    n_prompt = example["completion_mask"].index(1)
    ids = model.tokenizer(model.build_prompt(exam, findings), add_special_tokens=False)["input_ids"]
    assert ids == example["input_ids"][:n_prompt]
