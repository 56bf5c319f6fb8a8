"""The learned second opinion (issue 19): rules alone vs rules + NER (`--ner MODEL_DIR`) on the
blind broad set, and what the model costs in `radllama prepare`.

    flock /work/cpu.lock .venv/bin/python benchmarks/bench_deid_ner.py --ner out/deid-ner \
        [--prepare-reports 2000] [--append]

Scores (same scorer as tests/test_deid_broad.py, `radllama.deid.scoring`): recall overall, per
type and of surname tokens, character precision, clinical terms kept, on

- dev, held-out part: the dev records that `radllama deid-train` held out (crc32 of the id
  % 100 < eval_percent, as in `radllama.training.ner`); the model never saw them;
- dev, all 1,000 records: most of them were trained on (an upper bound, not a measurement);
- holdout: never trained on, never read; numbers only, no misses printed.

Cost: reports/s of rules alone vs rules + NER on the broad texts (one process, all of a
draw's texts in one `find_many` call), and wall seconds of `radllama prepare` on
`--prepare-reports` synthetic reports with and without `--ner` (2 workers, 1 torch thread
each), with the model-only span counts from its manifest. Prints a markdown section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import zlib
from pathlib import Path

from radllama.deid.config import DeidConfig
from radllama.deid.scoring import DeidScore, load_phi_set, ours, score

HERE = Path(__file__).resolve().parent
BROAD = HERE.parent / "tests" / "data" / "phi_broad"
TYPES = ["NAME", "DATE", "TIME", "AGE", "ID", "PHONE", "FAX", "EMAIL", "URL", "IP"]
TYPES += ["ADDRESS", "ZIP", "CITY", "HOSPITAL", "DEVICE"]
KEEP_FLOOR = 0.995  # clinical terms kept (the target is 0.99; the rules keep 0.998)


def cpu_name() -> str:
    name, flags = platform.processor() or "unknown CPU", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = line
    except OSError:
        pass
    return f"{name} ({'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else '?'})"


def draws(eval_percent: int, dev_all: bool) -> dict[str, list]:
    dev = load_phi_set(BROAD / "phi_broad_dev.jsonl")
    held = [r for r in dev if zlib.crc32(r.id.encode()) % 100 < eval_percent]
    out = {"dev held out": held}
    if dev_all:
        out["dev all (mostly trained on)"] = dev
    out["holdout"] = load_phi_set(BROAD / "phi_broad_holdout.jsonl")
    return out


def score_both(records: list, ner: Path, threshold: float) -> dict[str, DeidScore]:
    rules = score(records, ours(DeidConfig()), max_examples=0)
    model = DeidConfig(ner=ner, ner_threshold=threshold, ner_batch_size=64)
    union = score(records, ours(model), max_examples=0)
    return {"rules": rules, "rules+ner": union}


def table(results: dict[str, dict[str, DeidScore]]) -> str:
    head = ["figure"] + [f"{draw}: {system}" for draw in results for system in results[draw]]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    rows = [("records", lambda s: f"{s.reports}")]
    rows += [("recall, all", lambda s: f"{s.recall():.4f}")]
    rows += [("surname tokens", lambda s: f"{s.surname_recall:.4f}")]
    rows += [(kind, (lambda k: lambda s: f"{s.recall(k):.4f}")(kind)) for kind in TYPES]
    rows += [("clinical terms kept", lambda s: f"{s.keep_rate:.4f}")]
    rows += [("precision (chars)", lambda s: f"{s.precision:.4f}")]
    rows += [("reports/s (1 process)", lambda s: f"{s.reports / s.seconds:,.0f}")]
    for label, cell in rows:
        cells = [cell(results[d][s]) for d in results for s in results[d]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def prepare_cost(reports: int, ner: Path, threshold: float) -> dict[str, dict]:
    from radllama.data.prepare import load_prepare_config, prepare
    from radllama.synth.corpus import synthesize

    folder = Path(tempfile.mkdtemp(prefix="bench_deid_ner_"))
    try:
        csv_path = folder / "reports.csv"
        synthesize(reports, seed=3, out_csv=csv_path, progress=False)
        out: dict[str, dict] = {}
        for label, extra in (("rules", {}), ("rules+ner", {"ner": ner})):
            config = load_prepare_config(
                None, input=csv_path, out=folder / label, workers=2, **extra
            )
            config.deid.ner_threshold = threshold
            started = time.perf_counter()
            manifest = prepare(config).manifest
            seconds = time.perf_counter() - started
            out[label] = {
                "seconds": seconds,
                "reports_per_s": reports / seconds,
                "kept": manifest["counts"]["kept"],
                "redactions": manifest["deid"]["counts"]["total_redactions"],
                "ner": manifest["deid"].get("ner"),
            }
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ner", type=Path, required=True, help="model dir (radllama deid-train)")
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's")
    parser.add_argument(
        "--sweep",
        default="",
        help="thresholds to try on the dev held-out records only (e.g. 0.3,0.5,0.7); the best "
        f"recall with clinical terms kept >= {KEEP_FLOOR} is used everywhere",
    )
    parser.add_argument("--prepare-reports", type=int, default=2000)
    parser.add_argument("--dev-all", action="store_true", help="also all dev (mostly trained on)")
    parser.add_argument("--append", action="store_true", help="append the section to RESULTS.md")
    args = parser.parse_args()
    record = json.loads((args.ner / "radllama_ner.json").read_text())
    # the model's own (deid-train chose it on the held-out dev records), unless --sweep/--threshold
    threshold = args.threshold or record.get("threshold") or record["config"].get("threshold", 0.5)
    load = os.getloadavg()
    sets = draws(record["config"]["eval_percent"], args.dev_all)
    sweep = []
    if args.sweep:
        for value in (float(v) for v in args.sweep.split(",")):
            union = score_both(sets["dev held out"], args.ner, value)["rules+ner"]
            sweep.append((value, union.recall(), union.surname_recall, union.keep_rate))
            print(f"threshold {value}: recall {union.recall():.4f}, kept {union.keep_rate:.4f}")
        ok = [row for row in sweep if row[3] >= KEEP_FLOOR] or [max(sweep, key=lambda r: r[3])]
        threshold = max(ok, key=lambda row: (row[1], row[0]))[0]
    results = {name: score_both(records, args.ner, threshold) for name, records in sets.items()}
    cost = prepare_cost(args.prepare_reports, args.ner, threshold) if args.prepare_reports else {}
    train = record["train"]
    section = [
        f"## deid: rules vs rules + NER second opinion on the broad set (issue 19, "
        f"{time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, shared with other engineers' jobs "
        f"(load average {load[0]:.1f} before). Command: `benchmarks/bench_deid_ner.py --ner "
        f"{args.ner}` (threshold {threshold}). Model: `radllama deid-train "
        f"configs/deid-ner-cpu.yaml`: MiniLM-L6 token classifier, {record['data']['windows']:,} "
        f"windows of {record['max_length']} tokens ({record['data']['texts']:,} texts: synthetic "
        f"reports + the dev records not held out), {train['steps']} steps "
        f"({train['epochs']} epochs) in {train['seconds']} s, loss {train['first_loss']} -> "
        f"{train['last_loss']}. The holdout was never trained on nor read.",
        "",
        table(results),
    ]
    if sweep:
        section += [
            "",
            "Threshold chosen on the dev held-out records only (best recall with clinical terms "
            f"kept >= {KEEP_FLOOR}): "
            + "; ".join(
                f"{value}: recall {recall:.4f}, surnames {surname:.4f}, kept {kept:.4f}"
                for value, recall, surname, kept in sweep
            )
            + f" -> **{threshold}**.",
        ]
    if cost:
        rules, union = cost["rules"], cost["rules+ner"]
        ner = union["ner"] or {}
        section += [
            "",
            f"`radllama prepare` on {args.prepare_reports:,} synthetic reports, 2 workers (1 torch "
            f"thread each): rules {rules['seconds']:.1f} s ({rules['reports_per_s']:,.0f} "
            f"reports/s), rules + NER {union['seconds']:.1f} s ({union['reports_per_s']:,.0f} "
            f"reports/s): **{union['seconds'] / rules['seconds']:.0f}x** the time, "
            f"{1000 * (union['seconds'] - rules['seconds']) / args.prepare_reports:.1f} ms more "
            f"per report on this CPU. Redactions {rules['redactions']:,} -> "
            f"{union['redactions']:,}; spans only the model found: {ner.get('added_total')} "
            f"({ner.get('added_by_type')}); rows kept {rules['kept']:,} / {union['kept']:,}.",
        ]
    text = "\n".join(section) + "\n"
    print(text)
    if args.append:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
