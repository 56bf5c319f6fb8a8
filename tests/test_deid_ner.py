"""The learned second opinion (issue 19): `radllama deid-train` fine-tunes a token classifier,
and `prepare --ner` / `deid --ner` redact the union of its spans and the rules' spans.

The model here is a tiny randomly initialised BERT (2 layers, width 32) with the MiniLM's
tokenizer, trained in the test for a few dozen steps on a few rows in which made-up surnames
that no rule knows ("zorblax", lower case, no cue word) are labelled NAME. The rules alone
leave them in the text; with the union they are masked, and the manifest counts them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from radllama.core.errors import ConfigError
from radllama.deid.config import DeidConfig
from radllama.deid.engine import Deidentifier
from radllama.deid.ner import bio_labels, check_model_dir
from radllama.deid.spans import Span

UNKNOWN = ["zorblax", "quimbert", "vandersnoot", "plimpkin"]  # no rule can know these
CONTEXTS = [  # no cue word the rules know ("reviewed with" would be one)
    "{} agrees the effusion is small and layering",
    "images shown to {} later and the nodule is unchanged",
    "{} notes the effusion is small and layering",
    "{} thinks the opacity is atelectasis",
]


# twelve reports, distinct without digits (a number the model tags must not make duplicates)
SIDES = [f"{a} {b} is clear" for a in ("Left", "Right", "Middle") for b in ("apex", "base", "hilum", "fissure")]  # fmt: skip


def _training_rows(path: Path) -> Path:
    rows = []
    for n, (name, context) in enumerate(
        (name, context) for name in UNKNOWN for context in CONTEXTS
    ):
        text = context.format(name)
        start = text.index(name)
        rows.append(
            {
                "id": f"t{n}",
                "text": text,
                "phi": [{"start": start, "end": start + len(name), "type": "NAME"}],
                "keep": [],
            }
        )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny random BERT saved with the shipped MiniLM's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from radllama.core.encoders import minilm_path

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path("--base-model"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def ner_model(tiny_base, tmp_path_factory) -> tuple[Path, dict]:
    from radllama.training.ner import DeidTrainConfig, train_ner

    folder = tmp_path_factory.mktemp("ner")
    config = DeidTrainConfig(
        out=folder / "model",
        base_model=tiny_base,
        synth_reports=4,
        phi_sets=[_training_rows(folder / "rows.jsonl")],
        eval_percent=0,
        max_length=64,
        batch_size=8,
        learning_rate=5e-3,
        warmup_ratio=0.0,
        max_steps=60,
        minutes=None,
    )
    return config.out, train_ner(config, progress=False)


def test_training_writes_a_loadable_model_and_its_record(ner_model):
    model_dir, record = ner_model
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "tokenizer.json").is_file()
    assert not list(model_dir.glob("*.bin")) and not (model_dir / "trainer").exists()
    assert record["train"]["steps"] == 60
    assert record["train"]["last_loss"] < record["train"]["first_loss"]
    assert record["labels"] == bio_labels()
    written = json.loads((model_dir / "radllama_ner.json").read_text())
    assert written["data"]["sources"][1]["trained_records"] == 16
    check_model_dir(model_dir)  # the label set is radllama's


def test_the_union_masks_what_only_the_model_finds(ner_model):
    model_dir, _ = ner_model
    text = "zorblax thinks the opacity is atelectasis"
    assert Deidentifier().find(text) == []  # the rules alone leave the name
    deid = Deidentifier(DeidConfig(ner=model_dir))
    (result,) = deid.redact_many([text])
    assert "zorblax" not in result.text and "[NAME]" in result.text
    assert result.ner_added == {"NAME": 1}
    start = text.index("zorblax")
    assert Span(start, start + len("zorblax"), "NAME") in deid.find_many([text])[0]
    assert deid.redact_many([]) == [] and deid.find_many([]) == []  # a chunk with no text


def test_prepare_with_ner_masks_model_only_spans_and_counts_them(ner_model, tmp_path, run_cli):
    model_dir, _ = ner_model
    source = tmp_path / "reports.csv"
    findings = (
        "The lungs are clear without focal consolidation. Heart size is normal. "
        "Images shown to {} later and the nodule is unchanged."
    )
    with open(source, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "report_id",
                "patient_id",
                "exam_code",
                "exam_description",
                "report_date",
                "report_text",
            ]
        )
        for n, name in enumerate(UNKNOWN * 3):
            text = (
                f"FINDINGS:\n{findings.format(name)} {SIDES[n]}.\n\nIMPRESSION:\nNo acute process."
            )
            writer.writerow([f"r{n}", f"p{n}", "XR CHEST 2V", "XR CHEST 2 VIEWS", "2020", text])
    outputs = {}
    for label, extra in (("rules", []), ("ner", ["--ner", str(model_dir)])):
        out = tmp_path / label
        code, _, err = run_cli(
            "prepare", "--input", source, "--out", out, "--workers", "1",
            "--audit", tmp_path / f"{label}.audit.json", *extra,
        )  # fmt: skip
        assert code == 0, err
        rows = [json.loads(line) for split in ("train", "eval", "test")
                for line in (out / f"{split}.jsonl").read_text().splitlines()]  # fmt: skip
        outputs[label] = (rows, json.loads((out / "manifest.json").read_text()))
    rules_rows, rules_manifest = outputs["rules"]
    ner_rows, ner_manifest = outputs["ner"]
    assert len(rules_rows) == len(ner_rows) == 12
    assert all(any(name in row["findings"] for name in UNKNOWN) for row in rules_rows)
    assert not any(any(name in row["findings"] for name in UNKNOWN) for row in ner_rows)
    assert all("[NAME]" in row["findings"] for row in ner_rows)
    ner = ner_manifest["deid"]["ner"]
    assert ner["added_total"] >= 12 and ner["added_by_type"]["NAME"] >= 12
    assert ner["model"] == str(model_dir.resolve()) and len(ner["sha256"]) == 64
    assert "ner" not in rules_manifest["deid"]
    audit = json.loads((tmp_path / "ner.audit.json").read_text())
    assert audit["ner_added_total"] == ner["added_total"]


def test_deid_eval_scores_the_union(ner_model, tmp_path, run_cli):
    model_dir, _ = ner_model
    rows = _training_rows(tmp_path / "set.jsonl")
    code, rules_out, err = run_cli("deid-eval", rows, "--examples", "0")
    assert code == 0, err
    code, ner_out, err = run_cli("deid-eval", rows, "--examples", "0", "--ner", model_dir)
    assert code == 0, err

    def name_recall(out: str) -> float:
        line = next(line for line in out.splitlines() if line.startswith("NAME"))
        return float(line.split()[2])

    assert name_recall(rules_out) < 0.5 < name_recall(ner_out) and "+ ner" in ner_out


def test_a_model_for_another_label_set_is_one_line_exit_2(ner_model, tmp_path, run_cli):
    import shutil

    model_dir, _ = ner_model
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    config = json.loads((other / "config.json").read_text())
    config["id2label"] = {"0": "O", "1": "B-PER", "2": "I-PER"}
    (other / "config.json").write_text(json.dumps(config))
    rows = _training_rows(tmp_path / "set.jsonl")
    for folder, message in ((other, "are not radllama's BIO set"), (tmp_path / "none", "no such")):
        code, _, err = run_cli("deid", "--input", rows, "--out", tmp_path / "o.jsonl",
                               "--ner", folder)  # fmt: skip
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        code, _, err = run_cli("prepare", "--input", rows, "--out", tmp_path / "p",
                               "--preset", "openi", "--ner", folder)  # fmt: skip
        assert code == 2 and message in err, err


def test_pickle_weights_are_not_loaded(ner_model, tmp_path):
    import shutil

    model_dir, _ = ner_model
    other = tmp_path / "pickled"
    shutil.copytree(model_dir, other)
    (other / "model.safetensors").unlink()
    (other / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ConfigError, match="no model.safetensors"):
        check_model_dir(other)


def test_training_refuses_a_holdout_draw(tmp_path):
    from radllama.training.ner import DeidTrainConfig

    with pytest.raises(ValueError, match="holdouts are scored, never trained on"):
        DeidTrainConfig(out=tmp_path / "m", phi_sets=[tmp_path / "phi_broad_holdout.jsonl"])


def test_the_cpu_recipe_loads_and_names_its_command():
    from radllama.core.config import load_config
    from radllama.training.ner import DeidTrainConfig

    path = Path(__file__).resolve().parents[1] / "configs" / "deid-ner-cpu.yaml"
    header = path.read_text().split("\n\n")[0]
    assert "radllama deid-train" in header and "Hardware" in header and "tokens/step" in header
    config = load_config(DeidTrainConfig, path)
    assert config.phi_sets and all("dev" in p.name for p in config.phi_sets)


def test_deid_jsonl_with_ner_masks_model_only_spans(ner_model, tmp_path, run_cli):
    model_dir, _ = ner_model
    rows = _training_rows(tmp_path / "set.jsonl")
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("deid", "--input", rows, "--out", out, "--ner", model_dir)
    assert code == 0, err
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert len(texts) == 16 and not any(name in t for name in UNKNOWN for t in texts)
    audit = json.loads(out.with_suffix(".audit.json").read_text())
    assert audit["ner_added_total"] >= 16 and audit["ner_added_by_type"]["NAME"] >= 16


def test_the_threshold_is_chosen_on_held_out_records_and_saved(ner_model, tmp_path):
    from radllama.deid.ner import NerTagger
    from radllama.deid.scoring import load_phi_set
    from radllama.training.ner import DeidTrainConfig, held_out_scores

    model_dir, _ = ner_model
    records = load_phi_set(_training_rows(tmp_path / "held.jsonl"))
    config = DeidTrainConfig(out=tmp_path / "unused", thresholds=[0.3, 0.6, 0.9], keep_floor=0.0)
    report = held_out_scores(model_dir, records, config)
    assert [row["threshold"] for row in report["sweep"]] == [0.3, 0.6, 0.9]
    assert report["threshold"] in (0.3, 0.6, 0.9) and report["records"] == 16
    assert report["rules"]["name_recall"] < 0.5 < report["rules+ner"]["name_recall"]
    tagger = NerTagger(model_dir)
    assert tagger.threshold == 0.5  # trained without held-out records: the default
    assert tagger.max_length == 64  # the training windows, from radllama_ner.json
    assert NerTagger(model_dir, threshold=0.9).threshold == 0.9


def test_training_with_held_out_records_saves_the_chosen_threshold(tiny_base, tmp_path):
    from radllama.training.ner import DeidTrainConfig, train_ner

    config = DeidTrainConfig(
        out=tmp_path / "model",
        base_model=tiny_base,
        synth_reports=0,
        phi_sets=[_training_rows(tmp_path / "rows.jsonl")],
        eval_percent=50,
        max_length=64,
        batch_size=8,
        max_steps=3,
        minutes=None,
        thresholds=[0.4, 0.8],
    )
    record = train_ner(config, progress=False)
    saved = json.loads((config.out / "radllama_ner.json").read_text())
    held = saved["held_out"]
    assert held["records"] == record["data"]["sources"][1]["held_out_records"] > 0
    assert saved["threshold"] == held["threshold"] in (0.4, 0.8) and len(held["sweep"]) == 2
