"""Typed inter-stage files: old files still read, bad ones fail with one line, new ones
round-trip, and the PHI guard accepts datasets that `radllama prepare` de-identified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from radllama.core.artifacts import (
    ArtifactError,
    DataManifest,
    PredictionRow,
    Report,
    RunRecord,
    Scores,
)
from radllama.core.guard import PHIGuardError, check_phi_guard
from radllama.data.prepare import load_prepare_config, prepare

# Written by radllama at commit 898a843 (before artifacts had schema versions): synth 300
# reports -> prepare -> train lora 2 steps -> generate 4 rows -> evaluate rougeL -> report.
LEGACY = Path(__file__).parent / "fixtures" / "main-898a843"
REMOTE = "https://judge.example.com/v1"


def test_files_written_before_schema_versions_still_read():
    manifest = DataManifest.read(LEGACY / "manifest.json")
    assert manifest.schema_version == 1 and manifest.counts.input_rows == 300
    assert manifest.counts.kept + sum(manifest.counts.dropped.values()) == 300
    # Old manifests have no deid section; prepare always de-identified, with this config.
    assert manifest.deid.enabled and manifest.deid.mode == "placeholder"
    assert manifest.deid.counts is None
    assert manifest.prompt_style.exam_field == "exam_code"  # from config.prompt.exam_field
    run = RunRecord.read(LEGACY / "radllama_run.json")
    assert run.method == "lora" and run.final_metrics["steps"] == 2
    assert run.data_manifest_hash == json.loads((LEGACY / "manifest.json").read_text())["data_hash"]
    rows = list(PredictionRow.iter_file(LEGACY / "preds.jsonl"))
    assert len(rows) == 4 and all(PredictionRow.parse(r, "preds").system == "run" for r in rows)
    scores = Scores.read(LEGACY / "scores.json")
    assert scores.system == "run" and scores.metrics["rougeL"].n == 4
    report = Report.read(LEGACY / "report.json")
    assert [s["system"] for s in report.systems] == ["run", "other"]


def test_phi_guard_accepts_a_legacy_prepare_output():
    check_phi_guard(REMOTE, DataManifest.read(LEGACY / "manifest.json"), allow_remote=False)


def test_prepare_writes_the_deid_section_the_guard_reads(tmp_path):
    """Issue 13 item 5: the guard used to look for a key prepare never wrote."""
    header = "report_id,patient_id,exam_code,exam_description,report_date,report_text\n"
    text = (
        '"FINDINGS: Seen by Dr. John Smith on 03/04/2021. The lungs are clear without focal '
        'consolidation or effusion. IMPRESSION: No acute process."'
    )
    lines = [f"r{i},p{i},XR CHEST,Chest X-ray,2021-03-04,{text}" for i in range(6)]
    (tmp_path / "in.csv").write_text(header + "\n".join(lines) + "\n")
    config = load_prepare_config(None, input=tmp_path / "in.csv", out=tmp_path / "data", workers=0)
    prepare(config)
    manifest = DataManifest.read(tmp_path / "data")
    deid = manifest.deid
    assert deid.enabled and deid.mode == "placeholder" and deid.kept_types == []
    assert deid.counts.reports_seen == 6 and deid.counts.by_type.get("NAME", 0) >= 6
    audit = json.loads(Path(deid.audit.path).read_text())  # outside DATA_DIR (issue 13 item 3)
    assert deid.counts.total_redactions == audit["total_redactions"]
    check_phi_guard(REMOTE, manifest, allow_remote=False)
    kept_dates = load_prepare_config(
        None,
        input=tmp_path / "in.csv",
        out=tmp_path / "dated",
        workers=0,
        deid={"keep_types": ["DATE"]},
    )
    prepare(kept_dates)
    with pytest.raises(PHIGuardError, match="DATE"):
        check_phi_guard(REMOTE, DataManifest.read(tmp_path / "dated"), allow_remote=False)


def test_new_files_round_trip(tmp_path):
    run = RunRecord(method="qlora", base_model="/m", seed=3, note="kept as an extra")
    run.write(tmp_path)
    again = RunRecord.read(tmp_path)
    assert again == run and again.model_extra == {"note": "kept as an extra"}
    assert json.loads((tmp_path / "radllama_run.json").read_text())["schema_version"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a run file (expected a JSON object)"),
        ('{"method": "sgd"}', "not a valid run file (field 'method'"),
        ('{"method": "full", "schema_version": 7}', "schema_version 7 is newer"),
        ('{"metrics": {}, "system": "x"}', "not a valid run file (field 'method'"),  # foreign
    ],
)
def test_bad_run_files_fail_with_one_line_naming_the_fix(tmp_path, content, message):
    (tmp_path / "radllama_run.json").write_text(content)
    with pytest.raises(ArtifactError) as caught:
        RunRecord.read(tmp_path)
    assert message in str(caught.value) and "re-run `radllama train`" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_reports_a_foreign_manifest_in_one_line(run_cli, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(LEGACY.parent / "main-898a843", data)
    (data / "test.jsonl").write_text("")
    shutil.copy(LEGACY / "scores.json", data / "manifest.json")  # a scores file, not a manifest
    code, _, err = run_cli(
        "evaluate", LEGACY / "preds.jsonl", "--out", tmp_path / "s.json", "--metrics",
        "rougeL,judge", "--judge-base-url", REMOTE, "--judge-model", "m", "--manifest", data,
    )  # fmt: skip
    assert code == 2 and "not a valid dataset manifest" in err and "radllama prepare" in err
    assert len(err.strip().splitlines()) == 1


def test_a_data_dir_opens_one_way_for_every_stage(tiny_data_dir, tmp_path):
    """`DataDir` is how train, generate, index, base, serve's page and the demo open a DATA_DIR:
    the manifest, the split files checked against its hashes, the rows."""
    from radllama.core.artifacts import DataDir, load_split
    from radllama.core.errors import DataError
    from radllama.serving.page import exam_codes_seen_in_training

    folder = Path(shutil.copytree(tiny_data_dir, tmp_path / "data"))  # edited below
    data = DataDir.open_prepared(folder)
    assert data.data_hash == "fixture" and data.prompt_style.exam_field == "exam_code"
    assert set(data.listed_splits(("train", "eval"))) == {"train", "eval"}
    train = list(data.rows("train"))
    assert len(train) == 48 and len(data.load("test")[0]) == 12
    assert load_split(folder, limit=3)[0] == data.load("test", limit=3)[0]
    codes = {row["exam_code"] for row in train}
    assert set(exam_codes_seen_in_training({"data": {"dir": str(folder)}})) == codes
    # A split file that is not the one the manifest hashed is refused by every reader.
    with (folder / "train.jsonl").open("a") as handle:
        handle.write(json.dumps(dict(train[0], report_id="extra")) + "\n")
    for read in (
        lambda: DataDir.open_prepared(folder),
        lambda: list(DataDir.open(folder).rows("train")),
        lambda: load_split(folder, split="train"),
    ):
        with pytest.raises(ArtifactError, match="does not match manifest.json"):
            read()
    assert exam_codes_seen_in_training({"data": {"dir": str(folder)}}) == []
    (folder / "manifest.json").unlink()
    assert len(list(DataDir.open(folder).rows("train"))) == 49  # a bare folder of splits
    with pytest.raises(DataError, match="has no manifest.json"):
        DataDir.open_prepared(folder)
    with pytest.raises(DataError, match="not found; pass a DATA_DIR"):
        DataDir.open(tmp_path / "missing")


def test_stage_records_have_typed_owners_that_write_what_they_were_given(tmp_path):
    """Index meta, base record, tokenisation cache entry and resume record are read through
    their models (typed fields, one-line errors) and written with exactly the writer's keys."""
    from radllama.core.artifacts import BaseMeta, IndexMeta, ResumeRecord, TokenizedCacheMeta
    from radllama.core.errors import DataError

    index = {"format": "radllama-index-v1", "kind": "bm25", "exam_field": "exam_code",
             "encoder": "bm25-okapi", "encoder_sha256": "bm25-okapi-word", "data_hash": None,
             "train_sha256": "ab" * 32, "rows": 3, "additions": [], "dim": None}  # fmt: skip
    written = IndexMeta.parse(index, "meta.json").write(tmp_path / "meta.json")
    assert json.loads(written.read_text()) == {**index, "schema_version": 1}
    meta = IndexMeta.read(written)
    assert meta.rows == 3 and meta.kind == "bm25" and meta.batch_size is None
    with pytest.raises(DataError, match="is index format 'radllama-index-v0', not radllama"):
        IndexMeta.parse({**index, "format": "radllama-index-v0"}, tmp_path / "meta.json")
    with pytest.raises(ArtifactError, match="field 'rows'.*re-run `radllama index DATA_DIR`"):
        IndexMeta.parse({**index, "rows": "many"}, "meta.json")

    old_gguf = BaseMeta.parse({"kind": "radllama-gguf-base", "source": {"sha256": "x"}}, "b")
    assert (
        old_gguf.converter == 1
        and BaseMeta.parse({"kind": "radllama-gguf-base", "converter_version": 2}, "b").converter
        == 2
    )
    with pytest.raises(ArtifactError, match="base model record.*re-run `radllama base`"):
        BaseMeta.parse({"kind": "a-pickle"}, "b")

    entry = TokenizedCacheMeta(key_inputs={"max_length": 64}, splits=["train"], stats={})
    assert TokenizedCacheMeta.read(entry.write(tmp_path / "entry.json")).splits == ["train"]

    now = ResumeRecord(method="lora", seed=0, max_length=64, world_size=1)
    assert now.changed(ResumeRecord(method="lora", seed=1, max_length=32, world_size=1)) == [
        "seed",
        "max_length",
    ]
    before_world_size = ResumeRecord.parse({"method": "lora", "seed": 0, "max_length": 64}, "r")
    assert now.changed(before_world_size) == ["world_size"]  # an older file lacks it: refused
    assert set(json.loads(now.write(tmp_path / "r.json").read_text())) == {
        "method", "seed", "max_length", "world_size", "schema_version"
    }  # fmt: skip
