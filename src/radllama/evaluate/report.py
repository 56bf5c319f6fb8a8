"""Table-1-style report from one SCORES.json per system: markdown, self-contained HTML, JSON.

`build_report([base.json, qlora.json, full.json], out_dir)` writes

- ``report.md``: one row per system and one column per metric any SCORES file holds (in the
  order of the metric registry, `radllama.evaluate.metrics`; labels as the SCORES file
  recorded them), each cell ``mean [ci_low, ci_high]`` (95% bootstrap CI);
  ROUGE-L by modality, body region and normal/abnormal; paired bootstrap deltas against the
  first system; the paper's Table 1 for context (its numbers, on MGH data);
- ``report.html``: the same tables plus plots embedded as base64 PNG (no external files);
- ``report.json``: everything above as data (it is also what `build_report` returns).

The first SCORES file is the reference system for the paired deltas (put the base model or
the baseline first).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

from radllama.core.artifacts import Report, Scores
from radllama.core.errors import DataError
from radllama.core.provenance import package_versions, utc_now
from radllama.evaluate.metrics import column_info, column_order

BREAKDOWNS = [
    ("modality", "modality"),
    ("body_region", "body region"),
    ("normal_vs_abnormal", "normal vs abnormal"),
]
MISSING = "—"

# Paper Table 1 (Llama 3-70B on MGH data; GPT-4o as the judge). For context only: different
# data, model size and judge, so not comparable number for number.
PAPER_TABLE1 = {
    "source": "Shi et al., RadiologyLlama-70B, Table 1 (MGH data, GPT-4o judge)",
    "columns": ["rougeL", "bertscore_precision", "bertscore_recall", "bertscore_f1", "judge_score"],
    "rows": {
        "Llama 3-70B (base)": [0.1494, 0.8246, 0.8690, 0.8460, 3.65],
        "Llama 3-70B QLoRA": [0.2919, 0.8682, 0.8864, 0.8768, 4.92],
        "Llama 3-70B full fine-tune": [0.2890, 0.8735, 0.8817, 0.8771, 4.74],
    },
}
DEFAULT_TITLE = "radllama evaluation report"
N_RESAMPLES = 1000


# ---- loading ------------------------------------------------------------------------------


def load_scores(path: Path) -> dict[str, Any]:
    """Read and check one SCORES.json (the output of `radllama evaluate`) via `Scores`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"scores file not found: {path}; pass SCORES.json files from `radllama evaluate`"
        )
    return Scores.read(path).to_json()


def _system_entry(scores: dict[str, Any], path: Path) -> dict[str, Any]:
    """What the report keeps of one SCORES file (per-sample rows stay out of report.json)."""
    return {
        "system": str(scores["system"]),
        "source": str(path),
        "n": scores.get("n"),
        "n_skipped": scores.get("n_skipped", 0),
        "skipped_reasons": scores.get("skipped_reasons", {}),
        "metrics": scores["metrics"],
        "breakdowns": scores.get("breakdowns", {}),
        "config": scores.get("config", {}),
        "versions": scores.get("versions", {}),
    }


# ---- tables -------------------------------------------------------------------------------


def _number(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.{decimals}f}"


def format_cell(metric: dict[str, Any] | None, decimals: int = 4) -> str:
    """``mean [ci_low, ci_high]``; ``mean`` alone without a CI; ``—`` when not measured."""
    if not metric or metric.get("mean") is None:
        return MISSING
    mean = _number(metric["mean"], decimals)
    if metric.get("ci_low") is None or metric.get("ci_high") is None:
        return mean
    return f"{mean} [{_number(metric['ci_low'], decimals)}, {_number(metric['ci_high'], decimals)}]"


def _column_labels(scores: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Label, decimals and direction of every metric any system has: as its SCORES file
    recorded them (from the metric registry at scoring time), else as registered now."""
    labels: dict[str, dict[str, Any]] = {}
    for entry in scores:
        recorded = entry.get("columns") or {}
        for key in entry["metrics"]:
            if key not in labels:
                info = column_info(key)
                labels[key] = recorded.get(key) or {
                    "label": info.label, "decimals": info.decimals,
                    "higher_is_better": info.higher_is_better,
                }  # fmt: skip
    return labels


def active_columns(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(key, label, decimals) of every metric some system has, in metric-registry order;
    metrics the registry does not know come after, so nothing computed is left out."""
    present = [name for system in report["systems"] for name in system["metrics"]]
    labels = report["column_labels"]
    return [(k, labels[k]["label"], labels[k]["decimals"]) for k in column_order(present)]


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _main_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = active_columns(report)
    header = ["System", *(label for _, label, _ in columns), "n"]
    rows = [
        [
            system["system"],
            *(format_cell(system["metrics"].get(key), digits) for key, _, digits in columns),
            str(system["n"]) if system["n"] is not None else MISSING,
        ]
        for system in report["systems"]
    ]
    return header, rows


def render_markdown_table(report: dict[str, Any]) -> str:
    """The Table-1-style markdown table (one row per system; the demo prints it)."""
    return _markdown(*_main_table(report))


def _breakdown_table(report: dict[str, Any], breakdown: str, metric: str = "rougeL"):
    """Rows = groups (e.g. modalities), columns = systems; cell = mean metric (n)."""
    groups = sorted({g for s in report["systems"] for g in s["breakdowns"].get(breakdown, {})})
    header = [breakdown, *(s["system"] for s in report["systems"])]
    rows = []
    for group in groups:
        cells = [group]
        for system in report["systems"]:
            entry = system["breakdowns"].get(breakdown, {}).get(group)
            value = None if entry is None else entry.get(metric)
            cells.append(MISSING if value is None else f"{value:.4f} (n={entry.get('n', '?')})")
        rows.append(cells)
    return header, rows


def _filters_table(report: dict[str, Any], metric: str = "rougeL"):
    """All rows vs the rows that pass the training filters (and each failed filter), per
    system; None when every row passes (nothing to separate)."""
    groups = sorted({g for s in report["systems"] for g in s["breakdowns"].get("filters", {})})
    if not set(groups) - {"pass"}:
        return None
    header = ["rows", *(s["system"] for s in report["systems"])]
    rows = [["all rows"]]
    for system in report["systems"]:
        summary = system["metrics"].get(metric) or {}
        value = summary.get("mean")
        rows[0].append(MISSING if value is None else f"{value:.4f} (n={system['n']})")
    for group in ["pass", *(g for g in groups if g != "pass")]:
        cells = ["pass the filters" if group == "pass" else f"fail: {group}"]
        for system in report["systems"]:
            entry = system["breakdowns"].get("filters", {}).get(group)
            value = None if entry is None else entry.get(metric)
            cells.append(MISSING if value is None else f"{value:.4f} (n={entry.get('n', '?')})")
        rows.append(cells)
    return header, rows


def _paper_table() -> tuple[list[str], list[list[str]]]:
    keys = PAPER_TABLE1["columns"]
    columns = {key: (column_info(key).label, column_info(key).decimals) for key in keys}
    columns["judge_score"] = ("GPT-4o score (0-10)", 2)
    header = ["Model (paper, MGH data)", *(columns[key][0] for key in keys)]
    rows = [
        [name, *(f"{v:.{columns[key][1]}f}" for key, v in zip(keys, values, strict=True))]
        for name, values in PAPER_TABLE1["rows"].items()
    ]
    return header, rows


def _delta_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = {key: (label, digits) for key, label, digits in active_columns(report)}
    header = ["System", "vs", "Metric", "Δ mean [95% CI]", "p", "n pairs"]
    rows = []
    for delta in report["paired_deltas"]:
        label, digits = columns.get(delta["metric"], (delta["metric"], 4))
        signed = f"{delta['delta']:+.{digits}f}"  # the sign is the point of this column
        ci = f"[{_number(delta['ci_low'], digits)}, {_number(delta['ci_high'], digits)}]"
        rows.append(
            [
                delta["system"],
                delta["baseline"],
                label,
                f"{signed} {ci}",
                f"{delta['p_value']:.4f}",
                str(delta["n"]),
            ]
        )
    return header, rows


# ---- figures (matplotlib Agg, embedded as base64 PNG) ---------------------------------------


def _figure(width: float, height: float, **subplots: Any):
    """A pyplot-free Figure (Agg canvas): no global backend state, nothing left open."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots(**subplots)


def _png_base64(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _error_bars(metrics: list[dict[str, Any] | None]) -> tuple[list[float], list[list[float]]]:
    """Bar heights and asymmetric [below, above] CI lengths (0 where a CI is missing)."""
    means, below, above = [], [], []
    for metric in metrics:
        mean = (metric or {}).get("mean")
        means.append(math.nan if mean is None else mean)
        low, high = (metric or {}).get("ci_low"), (metric or {}).get("ci_high")
        below.append(0.0 if mean is None or low is None else max(0.0, mean - low))
        above.append(0.0 if mean is None or high is None else max(0.0, high - mean))
    return means, [below, above]


def _grouped_bars(ax, systems: list[dict], keys: list[str], labels: list[str]) -> None:
    width = 0.8 / max(1, len(systems))
    for index, system in enumerate(systems):
        means, errors = _error_bars([system["metrics"].get(key) for key in keys])
        offsets = [i + (index - (len(systems) - 1) / 2) * width for i in range(len(keys))]
        ax.bar(offsets, means, width, yerr=errors, capsize=3, label=system["system"])
    ax.set_xticks(range(len(keys)), labels, rotation=20, ha="right")
    ax.legend(fontsize=8)


def plot_metric_bars(report: dict[str, Any]) -> str | None:
    """Metric means per system with 95% CI error bars (0-1 metrics; judge on its own axis)."""
    systems = report["systems"]
    labels = report["column_labels"]

    def on_unit_scale(key: str) -> bool:  # 0-1 scores where higher is better share one axis
        means = [s["metrics"][key].get("mean") for s in systems if key in s["metrics"]]
        return labels[key]["higher_is_better"] and all(m is None or 0 <= m <= 1 for m in means)

    unit = [
        (k, lbl) for k, lbl, _ in active_columns(report) if k != "judge_score" and on_unit_scale(k)
    ]
    has_judge = any("judge_score" in s["metrics"] for s in systems)
    if not unit and not has_judge:
        return None
    ratios = [max(1, len(unit)), 1] if has_judge and unit else [1]
    figure, axes = _figure(9, 3.8, ncols=len(ratios), width_ratios=ratios, squeeze=False)
    if unit:
        _grouped_bars(axes[0][0], systems, [k for k, _ in unit], [lbl for _, lbl in unit])
        axes[0][0].set_ylim(0, 1)
        axes[0][0].set_title("Metrics (mean, 95% CI)")
    if has_judge:
        ax = axes[0][-1]
        _grouped_bars(ax, systems, ["judge_score"], ["Judge score"])
        ax.set_ylim(0, 10)
        ax.set_title("LLM judge (0-10)")
    return _png_base64(figure)


def plot_hallucination(report: dict[str, Any]) -> str | None:
    """Hallucination rate per system with 95% CI (lower is better)."""
    systems = [s for s in report["systems"] if "hallucination_rate" in s["metrics"]]
    if not systems:
        return None
    means, errors = _error_bars([s["metrics"]["hallucination_rate"] for s in systems])
    figure, ax = _figure(max(4, 1.2 * len(systems)), 3.2)
    ax.bar([s["system"] for s in systems], means, yerr=errors, capsize=4, color="tab:red")
    ax.set_ylabel("rate of predictions flagged")
    ax.set_ylim(0, max(0.05, *(m + e for m, e in zip(means, errors[1], strict=True))) * 1.15)
    ax.set_title("Hallucination rate (lower is better)")
    ax.tick_params(axis="x", rotation=20)
    return _png_base64(figure)


def plot_modality_heatmap(report: dict[str, Any], metric: str = "rougeL") -> str | None:
    """Systems x modalities heatmap of the mean metric, annotated with the values."""
    header, rows = _breakdown_table(report, "modality", metric)
    if not rows:
        return None
    systems = header[1:]
    grid = [
        [s["breakdowns"].get("modality", {}).get(row[0], {}).get(metric, math.nan) for row in rows]
        for s in report["systems"]
    ]
    figure, ax = _figure(max(4, 0.9 * len(rows) + 2), 0.6 * len(systems) + 1.6)
    top = max(0.01, max((v for line in grid for v in line if not math.isnan(v)), default=1))
    image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0, vmax=top)
    ax.set_xticks(range(len(rows)), [row[0] for row in rows], rotation=30, ha="right")
    ax.set_yticks(range(len(systems)), systems)
    for y, line in enumerate(grid):
        for x, value in enumerate(line):
            if not math.isnan(value):
                # Dark text on the bright (high) end of viridis, white on the dark end.
                color = "black" if value > 0.6 * top else "white"
                ax.text(x, y, f"{value:.2f}", ha="center", va="center", color=color, fontsize=8)
    figure.colorbar(image, ax=ax)
    ax.set_title(f"{metric} by modality")
    return _png_base64(figure)


def plot_distributions(per_sample: dict[str, list[dict]], metric: str = "rougeL") -> str | None:
    """Per-sample score distribution per system: box plots and overlaid histograms."""
    from matplotlib.ticker import MaxNLocator

    values = {
        name: [r[metric] for r in rows if isinstance(r.get(metric), int | float)]
        for name, rows in per_sample.items()
    }
    values = {name: v for name, v in values.items() if v}
    if not values:
        return None
    figure, (box_ax, hist_ax) = _figure(10, 3.6, ncols=2)
    box_ax.boxplot(list(values.values()), tick_labels=list(values), showmeans=True)
    box_ax.set_title(f"Per-sample {metric}")
    box_ax.tick_params(axis="x", rotation=20)
    for name, v in values.items():
        hist_ax.hist(v, bins=20, range=(0, 1), alpha=0.5, label=name)
    hist_ax.set_xlabel(metric)
    hist_ax.set_ylabel("samples")
    hist_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist_ax.legend(fontsize=8)
    return _png_base64(figure)


def build_figures(report: dict[str, Any], per_sample: dict[str, list[dict]]) -> dict[str, str]:
    """Figure name -> base64 PNG, for the figures the data allows."""
    figures = {
        "metric_bars": plot_metric_bars(report),
        "modality_heatmap": plot_modality_heatmap(report),
        "rougeL_distribution": plot_distributions(per_sample),
        "hallucination_rate": plot_hallucination(report),
    }
    return {name: png for name, png in figures.items() if png}


# ---- documents ----------------------------------------------------------------------------


def _skipped_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for system in report["systems"]:
        if system["n_skipped"]:
            reasons = ", ".join(f"{k}: {v}" for k, v in system["skipped_reasons"].items())
            lines.append(
                f"- {system['system']}: {system['n_skipped']} row(s) skipped ({reasons or 'no reason given'})"
            )
    return lines


def _sections(
    report: dict[str, Any],
) -> list[tuple[str, str, tuple[list[str], list[list[str]]] | None]]:
    """(heading, note, table) in document order; shared by markdown and HTML."""
    first = report["systems"][0]["system"]
    sections = [
        (
            "Results",
            "Cells are mean [95% bootstrap CI]; n = rows scored; — = not measured. "
            "Hallucination rate: lower is better.",
            _main_table(report),
        )
    ]
    if report["paired_deltas"]:
        sections.append(
            (
                f"Paired differences vs {first}",
                "Δ = system − reference system on the same rows (paired bootstrap, "
                f"{report['n_resamples']} resamples); p = two-sided bootstrap p-value.",
                _delta_table(report),
            )
        )
    if filters := _filters_table(report):
        sections.append(
            (
                "ROUGE-L on all rows and on the rows that pass the filters",
                "Every test row is predicted; a row that would fail a training filter (the "
                "paper's rules) still counts in 'all rows' (the Results table).",
                filters,
            )
        )
    for key, label in BREAKDOWNS:
        header, rows = _breakdown_table(report, key)
        if rows:
            sections.append(
                (f"ROUGE-L by {label}", "Mean ROUGE-L per group (n rows).", (header, rows))
            )
    sections.append(
        (
            "The paper's Table 1, for context",
            "These are the PAPER's numbers (Llama 3-70B on MGH data; judge = GPT-4o), not measured "
            "here: different data, model and judge, so they are not comparable number for number.",
            _paper_table(),
        )
    )
    return sections


def render_markdown(report: dict[str, Any]) -> str:
    parts = [
        f"# {report['title']}",
        "",
        f"Generated {report['created']} by radllama {report['radllama_version']}.",
    ]
    for heading, note, table in _sections(report):
        parts += ["", f"## {heading}", "", note, "", _markdown(*table)]
        if heading == "Results" and (skipped := _skipped_lines(report)):
            parts += ["", "Skipped rows (not scored, counted):", *skipped]
    parts += ["", "## Inputs", ""]
    parts += [f"- {s['system']}: `{s['source']}`" for s in report["systems"]]
    return "\n".join(parts) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


FIGURE_CAPTIONS = {
    "metric_bars": "Metric means with 95% bootstrap confidence intervals.",
    "modality_heatmap": "Mean ROUGE-L by modality.",
    "rougeL_distribution": "Distribution of per-sample ROUGE-L.",
    "hallucination_rate": "Share of predictions with at least one hallucination flag (95% CI).",
}
CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;"
    "padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}"
    "th{background:#f3f3f3}img{max-width:100%}.note{color:#555;font-size:.9em}"
)


def render_html(report: dict[str, Any], figures: dict[str, str]) -> str:
    """Self-contained HTML: inline CSS, tables, PNG plots as data URIs."""
    title = html.escape(report["title"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"]
    parts += [f"<style>{CSS}</style></head><body><h1>{title}</h1>"]
    parts.append(
        f"<p class='note'>Generated {html.escape(report['created'])} by radllama "
        f"{html.escape(str(report['radllama_version']))}.</p>"
    )
    for index, (heading, note, table) in enumerate(_sections(report)):
        parts.append(f"<h2>{html.escape(heading)}</h2><p class='note'>{html.escape(note)}</p>")
        parts.append(_html_table(*table))
        if index == 0:
            parts += [f"<p class='note'>{html.escape(line)}</p>" for line in _skipped_lines(report)]
            for name, png in figures.items():
                caption = html.escape(FIGURE_CAPTIONS.get(name, name))
                parts.append(
                    f"<figure><img alt='{name}' src='data:image/png;base64,{png}'>"
                    f"<figcaption class='note'>{caption}</figcaption></figure>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


# ---- entry point --------------------------------------------------------------------------


def _per_sample_hallucination(scores: dict[str, Any]) -> None:
    """Give each per-sample row a 0/1 `hallucination_rate` from its flags when it lacks one,
    so the paired bootstrap can compare hallucination rates row by row."""
    for row in scores.get("per_sample") or []:
        flags = row.get("hallucination_flags")
        if "hallucination_rate" not in row and isinstance(flags, list):
            row["hallucination_rate"] = float(bool(flags))


def _paired_deltas(scores: list[dict[str, Any]], n_resamples: int) -> list[dict[str, Any]]:
    """Paired bootstrap of each later system minus the first one, per metric both measured.

    A metric without per-sample values shared by both systems (matched on report_id) is left
    out of the delta table; its means still appear in the main table.
    """
    from radllama.evaluate.stats import paired_bootstrap

    for entry in scores:
        _per_sample_hallucination(entry)
    first, deltas = scores[0], []
    for other in scores[1:]:
        for metric in column_order(list(first["metrics"])):
            if metric not in other["metrics"]:
                continue
            try:
                result = paired_bootstrap(other, first, metric, n_resamples)  # other - first
            except DataError:
                continue
            deltas.append(
                {"system": other["system"], "baseline": first["system"], "metric": metric, **result}
            )
    return deltas


def build_report(
    scores_paths: list[Path],
    out_dir: Path,
    title: str = DEFAULT_TITLE,
    n_resamples: int = N_RESAMPLES,
) -> dict[str, Any]:
    """Read SCORES files, write report.md / report.html / report.json in `out_dir`.

    Returns the report dict (the content of report.json). The first file is the reference
    system for paired deltas.
    """
    if not scores_paths:
        raise DataError("no SCORES.json given; pass one per system, reference system first")
    scores = [load_scores(Path(p)) for p in scores_paths]
    names = [str(s["system"]) for s in scores]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise DataError(
            f"two scores files share the system name '{duplicate}'; rerun `radllama evaluate` with distinct --system names"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "schema_version": Report.SCHEMA_VERSION,
        "title": title,
        "created": utc_now(),
        "radllama_version": package_versions(["radllama"])["radllama"],
        "systems": [_system_entry(s, Path(p)) for s, p in zip(scores, scores_paths, strict=True)],
        "n_resamples": n_resamples,
        "paired_deltas": _paired_deltas(scores, n_resamples) if len(scores) > 1 else [],
        "paper_table1": PAPER_TABLE1,
        "column_labels": _column_labels(scores),
    }
    report["columns"] = [key for key, _, _ in active_columns(report)]
    figures = build_figures(report, {s["system"]: s.get("per_sample") or [] for s in scores})
    report["figures"] = sorted(figures)
    report["files"] = {
        name: str(out_dir / name) for name in ("report.md", "report.html", "report.json")
    }
    (out_dir / "report.md").write_text(render_markdown(report))
    (out_dir / "report.html").write_text(render_html(report, figures))
    written = Report.parse(report, out_dir / Report.FILE_NAME)
    written.write(out_dir / Report.FILE_NAME)
    return written.to_json()
