"""`radllama generate`: PREDS rows, resumability, crash safety, bad input, the openai backend
over real HTTP (scripted server; and `radllama serve` when present)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from judge_server import ScriptedChatServer, marker

from radllama.core.artifacts import DataManifest, DeidSection, RunRecord
from radllama.core.jsonl import write_jsonl
from radllama.core.prompts import PromptStyle, strip_prepend
from radllama.generation.generate import GenerateConfig, generate_predictions, resolve_prompt_style
from radllama.generation.inference import ImpressionModel

N_TEST = 12  # rows in the tiny fixture's test split


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_follow_the_contract_and_rerun_resumes(
    run_cli, tiny_model_dir, tiny_data_dir, tmp_path
):
    out = tmp_path / "preds.jsonl"
    args = ["generate", "--model", tiny_model_dir, "--data", tiny_data_dir / "test.jsonl",
            "--out", out, "--max-new-tokens", "6", "--batch-size", "3"]  # fmt: skip
    code, stdout, _ = run_cli(*args, "--limit", "5")
    assert code == 0 and "5 generated" in stdout
    first = read_rows(out)
    assert len(first) == 5
    code, stdout, _ = run_cli(*args)
    assert code == 0 and "7 generated" in stdout and "5 already done (skipped)" in stdout
    rows = read_rows(out)
    assert rows[:5] == first  # earlier rows untouched
    test_rows = {r["report_id"]: r for r in map(json.loads, (tiny_data_dir / "test.jsonl").open())}
    assert sorted(r["report_id"] for r in rows) == sorted(test_rows)  # all ids, no duplicates
    for row in rows:
        source = test_rows[row["report_id"]]
        assert row["system"] == tiny_model_dir.name
        assert row["reference"] == source["impression"] and row["findings"] == source["findings"]
        assert (row["exam_code"], row["modality"], row["body_region"]) == (
            source["exam_code"], source["modality"], source["body_region"])  # fmt: skip
        assert row["prompt"].endswith(
            f"EXAM: {source['exam_code']}\nFINDINGS: {source['findings']}"
        )
        assert row["prediction"] == strip_prepend(row["raw_output"])
        assert row["latency_s"] > 0 and row["prompt_tokens"] > 0
        assert 1 <= row["completion_tokens"] <= 6 and "error" not in row
    code, stdout, _ = run_cli(*args)  # nothing left to do
    assert code == 0 and "0 generated" in stdout and len(read_rows(out)) == N_TEST


def test_crash_after_first_batch_leaves_a_valid_partial_file(
    tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch
):
    out = tmp_path / "preds.jsonl"
    config = GenerateConfig(
        model=tiny_model_dir, data=tiny_data_dir, out=out, max_new_tokens=4, batch_size=4
    )
    original = ImpressionModel.generate
    calls = []

    def crash_on_second_batch(self, items, settings=None):
        calls.append(len(items))
        if len(calls) == 2:
            raise RuntimeError("injected crash")
        return original(self, items, settings)

    monkeypatch.setattr(ImpressionModel, "generate", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="injected crash"):
        generate_predictions(config)
    partial = read_rows(out)  # every line parses
    assert len(partial) == 4
    monkeypatch.setattr(ImpressionModel, "generate", original)
    summary = generate_predictions(config)
    assert (summary.already_done, summary.generated, summary.errors) == (4, N_TEST - 4, 0)
    assert len({r["report_id"] for r in read_rows(out)}) == len(read_rows(out)) == N_TEST


def test_cut_off_last_line_and_failed_rows_are_redone(tiny_model_dir, tiny_data_dir, tmp_path):
    out = tmp_path / "preds.jsonl"
    config = GenerateConfig(
        model=tiny_model_dir, data=tiny_data_dir, out=out, max_new_tokens=3, limit=3
    )
    generate_predictions(config)
    rows = read_rows(out)
    failed = dict(rows[1], prediction=None, raw_output=None, error="HTTP 500: boom")
    write_jsonl(out, [rows[0], failed])
    with open(out, "a") as handle:
        handle.write(json.dumps(rows[2])[:25])  # a crash in the middle of a write
    summary = generate_predictions(config)
    assert (summary.already_done, summary.retried, summary.generated) == (1, 1, 2)
    again = read_rows(out)
    assert sorted(r["report_id"] for r in again) == sorted(r["report_id"] for r in rows)
    assert not any("error" in r for r in again)


def test_bad_inputs_are_one_line_errors(run_cli, tiny_model_dir, tiny_data_dir, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    no_findings = tmp_path / "bad.jsonl"
    write_jsonl(
        no_findings,
        [
            {"report_id": "a", "impression": "x", "findings": "y"},
            {"report_id": "b", "impression": "x"},
        ],
    )
    other = tmp_path / "other.jsonl"
    write_jsonl(other, [{"report_id": "r00060", "system": "someone-else", "prediction": "x"}])
    common = ["generate", "--model", tiny_model_dir, "--max-new-tokens", "2"]
    cases = [
        (["--data", empty, "--out", tmp_path / "o1.jsonl"], "has no rows"),
        (["--data", no_findings, "--out", tmp_path / "o2.jsonl"], "row 2: missing findings"),
        (
            ["--data", tmp_path / "nope.jsonl", "--out", tmp_path / "o3.jsonl"],
            "data file not found",
        ),
        (["--data", tiny_data_dir, "--out", other], "holds predictions of system 'someone-else'"),
        (
            ["--data", tiny_data_dir, "--out", tmp_path / "o4.jsonl", "--backend", "openai"],
            "needs --base-url",
        ),
    ]
    for extra, message in cases:
        code, _, err = run_cli(*common, *extra)
        assert code == 2 and err.endswith("\n") and message in err.splitlines()[-1], (message, err)
    code, _, err = run_cli(
        "generate",
        "--model",
        tmp_path / "missing",
        "--data",
        tiny_data_dir,
        "--out",
        tmp_path / "o5.jsonl",
    )
    assert code == 2 and "does not exist" in err


def test_duplicate_report_ids_are_counted_not_generated_twice(
    tiny_model_dir, tiny_data_dir, tmp_path
):
    rows = read_rows(tiny_data_dir / "test.jsonl")[:2]
    data = tmp_path / "dup.jsonl"
    write_jsonl(data, [rows[0], rows[1], rows[0]])
    summary = generate_predictions(
        GenerateConfig(model=tiny_model_dir, data=data, out=tmp_path / "p.jsonl", max_new_tokens=2)
    )
    assert summary.generated == 2 and summary.dropped == {"duplicate report_id": 1}
    assert "1 duplicate report_id" in summary.describe()


def test_prompt_style_comes_from_the_run_then_the_data(tiny_data_dir):
    described = PromptStyle(exam_field="exam_description")
    manifest = DataManifest.read(tiny_data_dir).model_copy(update={"prompt_style": described})
    run = RunRecord(method="full", prompt_style=PromptStyle(system_prompt="Trained."))
    assert resolve_prompt_style(None, None, None) == PromptStyle()
    assert resolve_prompt_style(None, None, manifest).exam_field == "exam_description"  # bare
    assert resolve_prompt_style(None, run, manifest) == run.prompt_style  # not the test data's
    override = resolve_prompt_style("exam_description", run, manifest)
    assert override.exam_field == "exam_description" and override.system_prompt == "Trained."


def test_exam_field_of_the_data_is_used_for_a_bare_model(tiny_model_dir, tiny_data_dir, tmp_path):
    rows = read_rows(tiny_data_dir / "test.jsonl")[:2]
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(
        data / "test.jsonl", [dict(r, exam_description="DESC " + r["exam_code"]) for r in rows]
    )
    described = PromptStyle(exam_field="exam_description")
    hand_made = {"prompt_style": described, "outputs": {}}  # other files: no hashes to check
    DataManifest.read(tiny_data_dir).model_copy(update=hand_made).write(data)
    out = tmp_path / "p.jsonl"
    generate_predictions(GenerateConfig(model=tiny_model_dir, data=data, out=out, max_new_tokens=2))
    assert all("EXAM: DESC " in r["prompt"] for r in read_rows(out))
    # An empty exam field falls back to the other one.
    write_jsonl(data / "test.jsonl", [dict(r, exam_description="") for r in rows])
    out2 = tmp_path / "p2.jsonl"
    generate_predictions(
        GenerateConfig(model=tiny_model_dir, data=data, out=out2, max_new_tokens=2)
    )
    prompts = {p["report_id"]: p["prompt"] for p in read_rows(out2)}
    assert all(f"EXAM: {r['exam_code']}\n" in prompts[r["report_id"]] for r in rows)


# ---- openai backend over real HTTP ---------------------------------------------------------


def _scripted_data(tiny_data_dir: Path, tmp_path: Path, behaviours: list[str]) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    rows = read_rows(tiny_data_dir / "test.jsonl")[: len(behaviours)]
    scripted = [
        dict(r, findings=f"{r['findings']} {marker(b)}" if b else r["findings"])
        for r, b in zip(rows, behaviours, strict=True)
    ]
    write_jsonl(data / "test.jsonl", scripted)
    manifest = json.loads((tiny_data_dir / "manifest.json").read_text())
    manifest.pop("outputs")  # the file changed: its old hash would (rightly) be refused
    (data / "manifest.json").write_text(json.dumps(manifest))
    return data


def test_openai_backend_retries_records_failures_and_bounds_concurrency(
    tiny_data_dir, tmp_path, run_cli
):
    # Sleeps first: the first two requests start together, so both workers are in flight.
    behaviours = [
        "sleep:0.5",
        "sleep:0.5",
        "sleep:0.5",
        "",
        "fail500:1",
        "fail500",
        "bad400",
        "sleep:0.1",
    ]
    data = _scripted_data(tiny_data_dir, tmp_path, behaviours)
    out = tmp_path / "preds.jsonl"
    with ScriptedChatServer() as server:
        args = ["generate", "--backend", "openai", "--base-url", server.base_url, "--api-model", "scripted",
                "--data", data / "test.jsonl", "--out", out, "--concurrency", "2", "--max-new-tokens", "9", "--max-retries", "2"]  # fmt: skip
        code, stdout, err = run_cli(*args)
        assert code == 0, err
        assert "6 generated, 2 failed" in stdout
        assert server.max_in_flight == 2  # bounded by --concurrency
        sent = server.requests[0]
        assert sent["model"] == "scripted" and sent["max_tokens"] == 9 and sent["temperature"] == 0
        assert [m["role"] for m in sent["messages"]] == ["system", "user"]
        rows = {r["report_id"]: r for r in read_rows(out)}
        by_behaviour = dict(zip(behaviours, read_rows(data / "test.jsonl"), strict=False))
        ok = rows[by_behaviour["fail500:1"]["report_id"]]  # retried once, then answered
        assert json.loads(ok["prediction"])["score"] == 8 and ok["system"] == "scripted"
        assert ok["completion_tokens"] == 1 and ok["finish_reason"] == "stop"
        down = rows[by_behaviour["fail500"]["report_id"]]
        assert (
            down["prediction"] is None
            and "HTTP 500" in down["error"]
            and "after 2 retries" in down["error"]
        )
        rejected = rows[by_behaviour["bad400"]["report_id"]]
        assert "HTTP 400" in rejected["error"] and "retries" not in rejected["error"]
        assert server.attempts[sent_text(by_behaviour["fail500"], server)] == 3  # 1 + 2 retries
        # A rerun retries only the failed rows (and replaces them, no duplicates).
        before = server.request_count
        code, stdout, _ = run_cli(*args)
        assert code == 0 and "6 already done" in stdout and server.request_count - before >= 2
        assert len(read_rows(out)) == len(behaviours)


def sent_text(row: dict, server: ScriptedChatServer) -> str:
    """The attempts key the scripted server used for this row's request."""
    return next(t for t in server.attempts if row["findings"] in t)


def test_openai_backend_refuses_remote_endpoint_without_deid(tiny_data_dir, tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(tiny_data_dir / "test.jsonl", data / "test.jsonl")
    manifest = DataManifest.read(tiny_data_dir)
    manifest.model_copy(update={"deid": DeidSection(enabled=False)}).write(data)
    code, _, err = run_cli("generate", "--backend", "openai", "--base-url", "https://api.example.com/v1",
                           "--api-model", "gpt-4o", "--data", data, "--out", tmp_path / "p.jsonl")  # fmt: skip
    assert code == 2 and "refusing to send report text" in err
    assert not (tmp_path / "p.jsonl").exists()


def test_openai_backend_through_radllama_serve_matches_hf(tiny_model_dir, tiny_data_dir, tmp_path):
    from radllama.serving import server as serve

    model = ImpressionModel.load(tiny_model_dir)
    hf_out, api_out = tmp_path / "hf.jsonl", tmp_path / "api.jsonl"
    common = dict(data=tiny_data_dir, max_new_tokens=5, limit=6)
    generate_predictions(GenerateConfig(model=tiny_model_dir, out=hf_out, **common))
    app = serve.build_app(model, serve.ServeConfig(max_batch_size=4, batch_wait_ms=5))
    with serve.start_in_thread(app) as running:
        config = GenerateConfig(backend="openai", base_url=running.base_url, api_model=model.name,
                                model=tiny_model_dir, out=api_out, concurrency=3, **common)  # fmt: skip
        summary = generate_predictions(config)
    assert summary.generated == 6 and summary.errors == 0
    hf = {r["report_id"]: r for r in read_rows(hf_out)}
    api = {r["report_id"]: r for r in read_rows(api_out)}
    assert hf.keys() == api.keys()
    for report_id, row in api.items():  # same prompt, same greedy answer, whichever backend
        assert row["prompt"] == hf[report_id]["prompt"]
        assert row["raw_output"] == hf[report_id]["raw_output"]
