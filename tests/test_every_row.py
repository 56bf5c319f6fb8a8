"""Every benchmark row is predicted (issue 17): rows that fail the paper's filters carry the
reason through PREDS and SCORES, and the report shows all rows next to the rows that pass."""

from __future__ import annotations

from radllama.core.artifacts import PredictionRow
from radllama.core.jsonl import write_jsonl
from radllama.data.filters import FilterConfig, paper_filter_reasons
from radllama.evaluate.report import build_report
from radllama.evaluate.runner import EvaluateConfig, evaluate_predictions

LONG = "the lungs are clear and there is no pleural effusion or pneumothorax seen today"


def test_filter_reasons_name_the_rule_each_row_breaks():
    rows = [
        {"findings": LONG, "impression": "Normal."},
        {"findings": "clear lungs", "impression": "Normal."},
        {"findings": LONG, "impression": "Normal."},  # the same pair again
        {"findings": LONG, "impression": "No acute disease."},
    ]
    assert paper_filter_reasons(rows) == [None, "short_findings", "duplicate", None]
    relaxed = FilterConfig(min_findings_words=0, drop_duplicates=False)
    assert paper_filter_reasons(rows, relaxed) == [None, None, None, None]


def test_filtered_rows_are_scored_and_reported_apart(tmp_path):
    split = [
        {"report_id": "a", "findings": LONG, "impression": "No acute disease."},
        {"report_id": "b", "findings": "clear lungs", "impression": "Normal chest.",
         "filter_reason": "short_findings"},
    ]  # fmt: skip
    predictions = {"a": "No acute disease.", "b": "Pneumonia."}
    preds = tmp_path / "preds.jsonl"
    write_jsonl(
        preds,
        [
            PredictionRow.for_row(r, "sys", None, prediction=predictions[r["report_id"]]).to_json()
            for r in split
        ],
    )
    rows = list(PredictionRow.iter_file(preds))
    assert "filter_reason" not in rows[0] and rows[1]["filter_reason"] == "short_findings"
    scores = evaluate_predictions(
        preds,
        EvaluateConfig(metrics=["rougeL"], bootstrap_resamples=10),
        out_path=tmp_path / "s.json",
    )
    assert scores["n"] == 2 and scores["metrics"]["rougeL"]["mean"] == 0.5
    assert scores["breakdowns"]["filters"]["pass"]["rougeL"] == 1.0
    assert scores["breakdowns"]["filters"]["short_findings"]["n"] == 1
    report = build_report([tmp_path / "s.json"], tmp_path / "report")
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "rows that pass the filters" in markdown
    assert "| all rows | 0.5000 (n=2) |" in markdown
    assert "| pass the filters | 1.0000 (n=1) |" in markdown
    assert "| fail: short_findings | 0.0000 (n=1) |" in markdown
    assert report["systems"][0]["n"] == 2
