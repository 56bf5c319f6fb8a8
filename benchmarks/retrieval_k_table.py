"""The k-table of issue 9: ROUGE-L of PREDS files on their shared report_ids, with bootstrap
CIs and a paired bootstrap against reference systems (default: the dense 1-NN copy).

    python benchmarks/retrieval_k_table.py PREDS_DIR --reference retrieval-dense,retrieval-tfidf

Every PREDS.jsonl in PREDS_DIR is one system (its file name); rows are restricted to the
report_ids that all systems answered, so the comparison is paired and n is the same for all.
ROUGE-L: per-sample F-measure, no stemming (as the Open-i reference numbers), mean over rows.
"distinct" counts the different prediction strings (after whitespace normalisation) over those
rows: a system that answers one sentence everywhere shows 1. "flagged" is the share of
predictions with a hallucination flag (`radllama.evaluate.hallucination`), "pass" the mean
ROUGE-L over the rows without a `filter_reason` (rows that pass the paper's filters).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from radllama.core.jsonl import read_jsonl
from radllama.evaluate.hallucination import hallucination_flags
from radllama.evaluate.lexical import rouge_l
from radllama.evaluate.stats import bootstrap_ci, paired_bootstrap


def load(preds_dir: Path) -> dict[str, dict[str, dict]]:
    systems = {}
    for path in sorted(preds_dir.glob("*.jsonl")):
        rows = [r for r in read_jsonl(path) if r.get("prediction") is not None]
        systems[path.stem] = {str(r["report_id"]): r for r in rows}
    return systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preds_dir", type=Path)
    parser.add_argument("--reference", default="retrieval-dense", help="system(s), comma-separated")
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
        flagged = [bool(hallucination_flags(rows[i]["findings"], rows[i]["prediction"]))
                   for i in shared]  # fmt: skip
        passing = [
            v for i, v in zip(shared, values, strict=True) if not rows[i].get("filter_reason")
        ]
        scores[name] = {"system": name, "per_sample": per_sample, "distinct": distinct,
                        "ci": bootstrap_ci(values, args.resamples),
                        "flagged": sum(flagged) / len(flagged),
                        "pass": (sum(passing) / len(passing), len(passing))}  # fmt: skip
    references = [r for r in args.reference.split(",") if r]
    missing = [r for r in references if r not in scores]
    if missing:
        raise SystemExit(f"--reference {missing} not among the systems {sorted(scores)}")
    print(f"n = {len(shared)} shared rows; paired bootstrap against: {', '.join(references)}\n")
    header = " | ".join(f"delta vs {r} [95% CI]" for r in references)
    print(f"| system | ROUGE-L [95% CI] | {header} | pass | flagged | distinct |")
    print("|---|---|" + "---|" * len(references) + "---|---|---|")
    for name, score in sorted(scores.items(), key=lambda item: -item[1]["ci"]["mean"]):
        ci = score["ci"]
        deltas = []
        for reference in references:
            if name == reference:
                deltas.append("")
                continue
            p = paired_bootstrap(score, scores[reference], "rougeL", args.resamples)
            deltas.append(f"{p['delta']:+.4f} [{p['ci_low']:+.4f}, {p['ci_high']:+.4f}]")
        mean = f"{ci['mean']:.4f} [{ci['ci_low']:.4f}, {ci['ci_high']:.4f}]"
        passing = f"{score['pass'][0]:.4f} (n={score['pass'][1]})"
        print(f"| {name} | {mean} | {' | '.join(deltas)} | {passing} | "
              f"{score['flagged']:.1%} | {score['distinct']} |")  # fmt: skip
    print(json.dumps({name: s["ci"] for name, s in scores.items()}))


if __name__ == "__main__":
    main()
