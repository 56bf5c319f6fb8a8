"""Synthetic MGH-like radiology report corpus: the embedded default dataset.

The paper's reports are private, so `radllama synth` writes an export that looks like a
hospital archive (`CSV_COLUMNS`), with ground truth that the later stages are checked against:

- ``FILE.csv``: one report per row; ``report_text`` is a whole report with headers
  (EXAM / CLINICAL HISTORY / TECHNIQUE / COMPARISON / FINDINGS / IMPRESSION and their
  variants: "FINDINGS AND IMPRESSION", "CONCLUSION", "IMPRESSION/RECOMMENDATION", rare
  misspellings, addenda, numbered impressions, signatures).
- ``FILE.phi.jsonl``: one line per report (same order) with the exact character spans of every
  planted identifier (``spans``: start/end/type/text, types in `PHI_TYPES`), the clinical terms
  that de-identification must keep (``keep``), where the findings/impression/addendum bodies
  are (``sections``) and under which header (``headers``), the abnormal observations behind
  the impression (``labels``, most important first), and the planted ``defect`` (or null).
- ``FILE.synth.json``: the config and the exact number of planted defects of each kind.

Clinical content is built from per-region observations: an abnormal observation renders one
FINDINGS sentence and one IMPRESSION item from the same slot values (side, size, level...),
and impression items are ordered by severity, so findings -> impression is learnable.
Normal studies get a normal impression for their region ("No acute intracranial abnormality.").

Speed: templates are compiled once at import; a report is a list of string pieces with a
running offset, so spans cost nothing to track. Chunks of `SynthConfig.chunk_size` reports
are seeded by (seed, chunk index) and rendered in worker processes; output bytes depend only
on the seed and the config, never on the number of workers.

Exam codes and the modality/region mapping live in `radllama.core.exams`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from radllama.core.errors import ConfigError, DataError
from radllama.core.exams import (  # noqa: F401  (EXAM_CODES etc. stay importable from here)
    BODY_REGIONS,
    EXAM_CODES,
    EXAMS,
    MODALITIES,
    UNKNOWN,
    modality_and_region,
)
from radllama.deid.engine import (
    PHI_TYPES,  # the identifier types planted here are the ones deid finds
)
from radllama.synth.compose import _EXAM_CUM_WEIGHTS, _EXAM_LIST, _PLANS, _compose, _Plan
from radllama.synth.config import CSV_COLUMNS, DEFECT_KINDS, SynthConfig, SynthSummary  # noqa: F401  (public API)
from radllama.synth.vocabulary import (  # the data the generator below draws from
    FIRST_EXAM_DAY,
    LAST_EXAM_DAY,
    OBSERVATIONS,  # noqa: F401  (the clinical content, importable here)
    Ctx,
    Patient,
    Person,
    randint,
)


def synth_paths(out_csv: str | Path) -> tuple[Path, Path, Path]:
    """(FILE.csv, FILE.phi.jsonl, FILE.synth.json) for an output path."""
    out_csv = Path(out_csv)
    stem = out_csv.name[: -len(out_csv.suffix)] if out_csv.suffix else out_csv.name
    return out_csv, out_csv.with_name(f"{stem}.phi.jsonl"), out_csv.with_name(f"{stem}.synth.json")


def _draw_defect(rng: random.Random, thresholds: tuple[tuple[float, str], ...]) -> str | None:
    draw = rng.random()
    for threshold, kind in thresholds:
        if draw < threshold:
            return kind
    return None


def _make_ctx(
    rng: random.Random,
    cfg: SynthConfig,
    patient: Patient,
    plan: _Plan,
    day: int,
    prior: int | None,
) -> Ctx:
    ctx = Ctx()
    ctx.pt = patient
    ctx.rad, ctx.ref = Person(rng), Person(rng)
    ctx.exam_date = date.fromordinal(day)
    ctx.prior_date = date.fromordinal(prior if prior is not None else day - randint(rng, 30, 2000))
    ctx.minutes = randint(rng, 0, 1439)
    ctx.acc = (
        f"A{randint(rng, 1000000, 9999999)}"
        if rng.random() < 0.6
        else str(randint(rng, 10**7, 10**9))
    )
    ctx.modality, ctx.region, ctx.site = plan.modality, plan.region, plan.site
    ctx.segment, ctx.contrast = plan.segment, plan.contrast
    lateral = plan.region in ("upper_limb", "lower_limb", "breast")
    ctx.side = ("right" if rng.random() < 0.5 else "left") if lateral else None
    ctx.part = plan.part(ctx.side)
    ctx.age = randint(rng, 90, 104) if rng.random() < cfg.over89_age_rate else randint(rng, 18, 89)
    return ctx


def _iter_chunk(
    seed: int, chunk_index: int, start: int, count: int, cfg: SynthConfig
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Reports start..start+count-1 from their own RNG (seed, chunk index)."""
    rng = random.Random(f"radllama-synth/{seed}/{chunk_index}")
    thresholds, total = [], 0.0
    for kind in DEFECT_KINDS:
        total += getattr(cfg, f"{kind}_rate")
        thresholds.append((total, kind))
    thresholds_t = tuple(thresholds)
    produced, last_clean = 0, None
    while produced < count:
        patient = Patient(rng, f"P{start + produced:09d}")
        day = randint(rng, FIRST_EXAM_DAY, LAST_EXAM_DAY - 1000)
        prior = None
        for _ in range(min(randint(rng, 1, cfg.max_reports_per_patient), count - produced)):
            report_id = f"R{start + produced:09d}"
            produced += 1
            defect = _draw_defect(rng, thresholds_t)
            if defect == "duplicate" and last_clean is not None:
                row, record = last_clean
                yield (
                    {**row, "report_id": report_id},
                    {
                        **record,
                        "report_id": report_id,
                        "defect": defect,
                        "duplicate_of": row["report_id"],
                    },
                )
                continue
            if defect == "duplicate":
                defect = None  # nothing clean to copy yet in this chunk: counted as clean
            code = rng.choices(_EXAM_LIST, cum_weights=_EXAM_CUM_WEIGHTS)[0]
            plan = _PLANS[code]
            ctx = _make_ctx(rng, cfg, patient, plan, day, prior)
            if defect == "empty_row":
                text, record = "", {"spans": [], "keep": [], "labels": []}
                record["sections"] = {"findings": None, "impression": None, "addendum": None}
                record["headers"] = {"findings": None, "impression": None}
            else:
                text, record = _compose(rng, cfg, ctx, plan, defect)
            row = {
                "report_id": report_id,
                "patient_id": patient.patient_id,
                "exam_code": code,
                "exam_description": plan.description,
                "report_date": ctx.exam_date.isoformat(),
                "report_text": text,
            }
            record = {"report_id": report_id, **record, "defect": defect, "duplicate_of": None}
            yield row, record
            if defect is None:
                last_clean = (row, record)
            prior, day = day, day + randint(rng, 1, 200)


def _chunks(n_reports: int, seed: int, cfg: SynthConfig) -> list[tuple]:
    return [
        (seed, index, start, min(cfg.chunk_size, n_reports - start), cfg)
        for index, start in enumerate(range(0, n_reports, cfg.chunk_size))
    ]


def iter_reports(
    n_reports: int, seed: int, config: SynthConfig | None = None
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Yield (CSV row dict, sidecar record) for each report, exactly as `synthesize` writes them."""
    cfg = config or SynthConfig()
    for args in _chunks(n_reports, seed, cfg):
        yield from _iter_chunk(*args)


# Defects that `radllama prepare` drops before it looks for duplicate pairs (its rule order:
# empty_row, no_findings, no_impression, short_findings, duplicate).
_DROPPED_BEFORE_DEDUP = frozenset(
    {"empty_row", "missing_findings", "missing_impression", "short_findings"}
)


def _deidentified_section(text: str, bounds: list[int], spans: list[dict]) -> str:
    """A section as perfect de-identification (`radllama.deid.engine` placeholders, e.g. MRN and SSN
    both become "[ID]") followed by white space collapse would leave it."""
    from radllama.deid.engine import PLACEHOLDERS

    start, end = bounds
    pieces, cursor = [], start
    for span in spans:  # spans are in text order
        if start <= span["start"] and span["end"] <= end:
            pieces += (text[cursor : span["start"]], PLACEHOLDERS[span["type"]])
            cursor = span["end"]
    pieces.append(text[cursor:end])
    return " ".join("".join(pieces).split())


def pair_key(text: str, record: dict[str, Any]) -> int:
    """64-bit key of a report's de-identified (findings, impression) pair (duplicate check)."""
    findings = _deidentified_section(text, record["sections"]["findings"], record["spans"])
    impression = _deidentified_section(text, record["sections"]["impression"], record["spans"])
    digest = hashlib.blake2b(f"{findings}\x00{impression}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _render_chunk(args: tuple) -> tuple[str, str, dict[str, Any]]:
    """Worker: one chunk -> (CSV text, JSONL text, counts and pair keys)."""
    csv_buffer, lines = io.StringIO(), []
    writer = csv.writer(csv_buffer, lineterminator="\n")
    defects, phi, modalities, regions = Counter(), Counter(), Counter(), Counter()
    patients, keep, keys = set(), 0, []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row, record in _iter_chunk(*args):
        writer.writerow([row[c] for c in CSV_COLUMNS])
        lines.append(dumps(record))
        defects[record["defect"] or "none"] += 1
        phi.update(span["type"] for span in record["spans"])
        keep += len(record["keep"])
        patients.add(row["patient_id"])
        modalities[EXAM_CODES[row["exam_code"]][1]] += 1
        regions[EXAM_CODES[row["exam_code"]][2]] += 1
        if record["defect"] not in _DROPPED_BEFORE_DEDUP:
            keys.append(pair_key(row["report_text"], record))
    lines.append("")
    stats = {
        "defects": defects,
        "phi": phi,
        "keep": keep,
        "patients": len(patients),
        "modalities": modalities,
        "regions": regions,
        "pair_keys": [np.array(keys, np.uint64)],
    }
    return csv_buffer.getvalue(), "\n".join(lines), stats


def _map_chunks(chunks: list[tuple], workers: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Render chunks in order, in worker processes when there is more than one chunk."""
    if workers <= 1 or len(chunks) <= 1:
        yield from map(_render_chunk, chunks)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(min(workers, len(chunks))) as pool:
        yield from pool.imap(_render_chunk, chunks)


def _check_output(path: Path) -> None:
    """Fail early, in one line, when the output cannot be written."""
    if path.is_dir():
        raise DataError(
            f"--out {path} is a directory; pass a file name such as {path / 'reports.csv'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".tmp"), "w"):
            pass
    except OSError as error:
        raise DataError(
            f"cannot write {path} ({error.strerror or error}); choose a writable --out path"
        ) from None


def _write_corpus(
    chunks: list[tuple], workers: int, tmp_csv: Path, tmp_phi: Path, progress: bool
) -> dict[str, Any]:
    """Render every chunk in order into the two temp files; returns the summed counts.

    On any failure (or Ctrl-C) the temp files are removed: nothing half-written is left that
    could be mistaken for a corpus.
    """
    from rich.console import Console
    from rich.progress import Progress

    totals: dict[str, Any] = {
        "defects": Counter(),
        "phi": Counter(),
        "keep": 0,
        "patients": 0,
        "modalities": Counter(),
        "regions": Counter(),
        "pair_keys": [],
    }
    n_reports = sum(chunk[3] for chunk in chunks)
    try:
        with (
            open(tmp_csv, "w", encoding="utf-8", newline="") as csv_file,
            open(tmp_phi, "w", encoding="utf-8", newline="") as phi_file,
            Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar,
        ):
            task = bar.add_task("synthesising reports", total=n_reports)
            csv.writer(csv_file, lineterminator="\n").writerow(CSV_COLUMNS)
            for csv_text, jsonl_text, stats in _map_chunks(chunks, workers):
                csv_file.write(csv_text)
                phi_file.write(jsonl_text)
                for key, value in stats.items():
                    totals[key] += value
                bar.advance(task, sum(stats["defects"].values()))
    except BaseException:
        tmp_csv.unlink(missing_ok=True)
        tmp_phi.unlink(missing_ok=True)
        raise
    return totals


def synthesize(
    n_reports: int,
    seed: int,
    out_csv: str | Path,
    *,
    config: SynthConfig | None = None,
    progress: bool = True,
) -> SynthSummary:
    """Write FILE.csv, FILE.phi.jsonl and FILE.synth.json; returns the planted counts."""
    cfg = config or SynthConfig()
    if n_reports < 1:
        raise ConfigError(f"--reports must be at least 1 (got {n_reports}); pass a positive count")
    csv_path, phi_path, meta_path = synth_paths(out_csv)
    for path in (csv_path, phi_path, meta_path):
        _check_output(path)
    tmp_csv, tmp_phi, tmp_meta = (p.with_name(p.name + ".tmp") for p in synth_paths(csv_path))
    tmp_meta.unlink(missing_ok=True)  # only probed by _check_output; write_json makes its own
    started = time.perf_counter()
    workers = cfg.workers or os.cpu_count() or 1
    totals = _write_corpus(_chunks(n_reports, seed, cfg), workers, tmp_csv, tmp_phi, progress)
    tmp_csv.replace(csv_path)
    tmp_phi.replace(phi_path)
    seconds = time.perf_counter() - started
    defect_counts = {kind: totals["defects"][kind] for kind in DEFECT_KINDS}
    keys = np.concatenate(totals.pop("pair_keys"))
    expected_drops = {
        "empty_row": defect_counts["empty_row"],
        "no_findings": defect_counts["missing_findings"],
        "no_impression": defect_counts["missing_impression"],
        "short_findings": defect_counts["short_findings"],
        # planted duplicates plus normal studies whose templated text happens to coincide
        "duplicate": int(len(keys) - len(np.unique(keys))),
    }
    summary = SynthSummary(
        csv_path=csv_path,
        phi_path=phi_path,
        meta_path=meta_path,
        n_reports=n_reports,
        n_patients=totals["patients"],
        seed=seed,
        defect_counts=defect_counts,
        expected_drops=expected_drops,
        phi_counts={kind: totals["phi"][kind] for kind in PHI_TYPES},
        keep_count=totals["keep"],
        seconds=seconds,
        reports_per_second=n_reports / max(seconds, 1e-9),
    )
    _write_meta(summary, cfg, totals)
    return summary


def _write_meta(summary: SynthSummary, cfg: SynthConfig, totals: dict[str, Any]) -> None:
    """FILE.synth.json: deterministic (no timings, relative file names), so reruns compare equal."""
    from radllama.core.provenance import write_json

    write_json(
        summary.meta_path,
        {
            "generator": "radllama.synth.corpus",
            "n_reports": summary.n_reports,
            "seed": summary.seed,
            # `workers` never changes the output, so it is not part of the corpus's identity
            "config": cfg.model_dump(exclude={"workers"}),
            "files": {"csv": summary.csv_path.name, "phi": summary.phi_path.name},
            "n_patients": summary.n_patients,
            "defect_counts": summary.defect_counts,
            "clean_reports": summary.n_reports - sum(summary.defect_counts.values()),
            "expected_drops": summary.expected_drops,
            "expected_drops_note": (
                "what `radllama prepare` drops given exact sections and perfect "
                "de-identification (radllama.deid.engine placeholders); duplicate = repeated (findings, impression) pair after "
                "de-identification and white space collapse, first occurrence kept"
            ),
            "phi_counts": summary.phi_counts,
            "keep_count": summary.keep_count,
            "modality_counts": dict(sorted(totals["modalities"].items())),
            "region_counts": dict(sorted(totals["regions"].items())),
        },
    )
