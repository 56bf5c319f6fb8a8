"""The k-table of issue 9: ROUGE-L of PREDS files on their shared report_ids, with bootstrap
CIs and a paired bootstrap against a reference system (default: the dense 1-NN copy).

    python benchmarks/retrieval_k_table.py PREDS_DIR --reference retrieval-dense [--markdown]

Every PREDS.jsonl in PREDS_DIR is one system (its file name); rows are restricted to the
report_ids that all systems answered, so the comparison is paired and n is the same for all.
ROUGE-L: per-sample F-measure, no stemming (as the Open-i reference numbers), mean over rows.
"distinct" counts the different prediction strings (after whitespace normalisation) over those
rows: a system that answers one sentence everywhere shows 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from radllama.evaluate.lexical import rouge_l
from radllama.evaluate.stats import bootstrap_ci, paired_bootstrap
from radllama.jsonl import read_jsonl


def load(preds_dir: Path) -> dict[str, dict[str, dict]]:
    systems = {}
    for path in sorted(preds_dir.glob("*.jsonl")):
        rows = [r for r in read_jsonl(path) if r.get("prediction") is not None]
        systems[path.stem] = {str(r["report_id"]): r for r in rows}
    return systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preds_dir", type=Path)
    parser.add_argument("--reference", default="retrieval-dense")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    systems = load(args.preds_dir)
    shared = sorted(set.intersection(*(set(rows) for rows in systems.values())), key=str)
    scores = {}
    for name, rows in systems.items():
        values = rouge_l(
            [rows[i]["prediction"] for i in shared], [rows[i]["reference"] for i in shared]
        )
        per_sample = [{"report_id": i, "rougeL": v} for i, v in zip(shared, values, strict=True)]
        distinct = len({" ".join(rows[i]["prediction"].split()) for i in shared})
        scores[name] = {"system": name, "per_sample": per_sample, "distinct": distinct,
                        "ci": bootstrap_ci(values, args.resamples)}  # fmt: skip
    print(f"n = {len(shared)} shared rows; reference for the paired bootstrap: {args.reference}\n")
    print(f"| system | ROUGE-L [95% CI] | delta vs {args.reference} [95% CI] | distinct |")
    print("|---|---|---|---|")
    for name, score in sorted(scores.items(), key=lambda item: -item[1]["ci"]["mean"]):
        ci = score["ci"]
        delta = ""
        if name != args.reference and args.reference in scores:
            p = paired_bootstrap(score, scores[args.reference], "rougeL", args.resamples)
            delta = f"{p['delta']:+.4f} [{p['ci_low']:+.4f}, {p['ci_high']:+.4f}]"
        mean = f"{ci['mean']:.4f} [{ci['ci_low']:.4f}, {ci['ci_high']:.4f}]"
        print(f"| {name} | {mean} | {delta} | {score['distinct']} |")
    print(json.dumps({name: s["ci"] for name, s in scores.items()}))


if __name__ == "__main__":
    main()
