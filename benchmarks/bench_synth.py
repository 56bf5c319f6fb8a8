"""Throughput of `radllama synth`: worker processes vs one process, side by side.

    .venv/bin/python benchmarks/bench_synth.py [--reports 200000] [--no-single]

Writes both corpora to a temporary folder, checks that they are byte-identical (the output
must not depend on the worker count), prints reports/s and the ratio, extrapolates the time
for 1 million reports (target: under 2 minutes), and appends a section to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from radllama.core.provenance import file_sha256
from radllama.synth.corpus import SynthConfig, synthesize

RESULTS = Path(__file__).with_name("RESULTS.md")


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the worker processes)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(n_reports: int, workers: int, folder: Path) -> tuple[float, float, str, int]:
    """(reports/s wall, reports per CPU-second, CSV+sidecar hash, bytes written)."""
    out = folder / f"w{workers}.csv"
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    summary = synthesize(n_reports, 0, out, config=SynthConfig(workers=workers), progress=False)
    seconds = time.perf_counter() - started
    per_cpu_second = n_reports / (cpu_seconds() - cpu_started)
    digest = file_sha256(summary.csv_path) + file_sha256(summary.phi_path)
    size = summary.csv_path.stat().st_size + summary.phi_path.stat().st_size
    return n_reports / seconds, per_cpu_second, digest, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--no-single", action="store_true", help="Skip the 1-process run.")
    parser.add_argument("--no-append", action="store_true", help="Print only; leave RESULTS.md.")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        parallel, parallel_cpu, digest, size = run(args.reports, cores, Path(tmp))
        single = None
        if not args.no_single:
            single, _, single_digest, _ = run(args.reports, 1, Path(tmp))
            assert single_digest == digest, "output depends on the worker count"
    load_after = os.getloadavg()[0]
    lines = [
        f"- {args.reports:,} reports, {size / args.reports:,.0f} bytes/report (CSV + PHI sidecar)",
        f"- {cores} worker processes: {parallel:,.0f} reports/s "
        f"-> 1 M reports in {1e6 / parallel:.0f} s at this load (target < 120 s)",
        # CPU time is what the machine's load does not change much: with both cores free
        # the wall time is about CPU time / cores.
        f"- CPU cost: {parallel_cpu:,.0f} reports per CPU-second (workers + writer) "
        f"-> 1 M reports in ~{1e6 / parallel_cpu / cores:.0f} s with {cores} idle cores",
    ]
    if single is not None:
        lines += [
            f"- 1 process (named alternative): {single:,.0f} reports/s; "
            f"ratio {parallel / single:.2f}x; outputs byte-identical",
        ]
    lines.append(
        f"- 1-min load average {load_before:.1f} before, {load_after:.1f} after (on {cores} "
        "cores): wall-clock figures are only as good as the machine was idle"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    day = time.strftime("%Y-%m-%d", time.gmtime())
    section = (
        f"\n## synth: synthetic corpus throughput ({day}, 2-core CPU sandbox, commit {commit})\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(section)
    if args.no_append:
        return
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(section)


if __name__ == "__main__":
    sys.exit(main())
