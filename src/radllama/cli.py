"""`radllama` command line: one thin subcommand per pipeline stage.

Each command parses options, calls one importable function, and maps `RadllamaError`
to a single line on stderr with exit code 2. Logic lives in the stage modules.

Layout: each stage owns one marked section below; keep commands ~10-20 lines and import
the stage module inside the command so `radllama --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional  # noqa: F401  (used by stage sections)

import typer

# The stage Configs (light modules: no torch, no transformers) give the commands' options.
from radllama.core.errors import RadllamaError
from radllama.core.options import config_options
from radllama.data.prepare import PrepareConfig
from radllama.deid.config import DeidConfig
from radllama.demo import DemoConfig
from radllama.evaluate.config import BertScoreConfig, EvaluateConfig, JudgeConfig
from radllama.generation.baselines import BaselinesConfig
from radllama.generation.generate import GenerateConfig
from radllama.model.base import BaseConfig
from radllama.retrieval.index import IndexConfig
from radllama.serving.schemas import ServeConfig
from radllama.synth.corpus import SynthConfig
from radllama.training.config import TrainConfig
from radllama.training.ner import DeidTrainConfig

app = typer.Typer(
    name="radllama",
    help="Radiology report archive -> de-identified instruction data -> fine-tuned local LLM "
    "that writes the IMPRESSION -> honest evaluation -> local serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit (used for domain errors)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the radllama version and the versions of the libraries it builds on."""
    from radllama.core.provenance import package_versions

    for name, ver in package_versions().items():
        typer.echo(f"{name}: {ver}")


# ---- section: synth (issue 2) ------------------------------------------------------------
@app.command()
@config_options(SynthConfig)
def synth(
    out: Annotated[
        Path,
        typer.Option(
            help="Output CSV; FILE.phi.jsonl (PHI ground truth) and FILE.synth.json (config, planted counts) go beside it."
        ),
    ],
    options: dict[str, Any],
    reports: Annotated[
        int, typer.Option("--reports", "-n", help="Number of reports (rows) to write.")
    ] = 10_000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed and config give byte-identical files.")
    ] = 0,
    config: Annotated[
        Path | None, typer.Option(help="YAML of SynthConfig fields (defect rates, PHI rates, ...).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Write a synthetic MGH-like report export with PHI ground truth and planted defects."""
    from radllama.core.config import load_config
    from radllama.synth.corpus import synthesize

    synth_config = load_config(SynthConfig, config, options)
    summary = synthesize(reports, seed, out, config=synth_config, progress=not quiet)
    typer.echo(summary.line())


# ---- end section: synth ------------------------------------------------------------------


# ---- section: prepare / deid (issue 2) ---------------------------------------------------
@app.command()
@config_options(
    PrepareConfig,
    rename={"output_format": "--format", "audit_original_context": "--audit-context"},
)
def prepare(
    options: dict[str, Any],
    config: Annotated[
        Path | None, typer.Argument(help="YAML config (see configs/prepare-*.yaml).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the counts per drop reason; write nothing.")
    ] = False,
) -> None:
    """Report export -> sections -> de-identification -> filters -> instruction rows -> train/eval/test + manifest."""
    from rich.console import Console

    from radllama.data.prepare import load_prepare_config, progress_bar, summary_table
    from radllama.data.prepare import prepare as run_prepare

    settings = load_prepare_config(config, **options)
    with progress_bar(settings) as progress:
        result = run_prepare(settings, dry_run=dry_run, progress=progress)
    Console().print(summary_table(result))


@app.command()
@config_options(DeidConfig, rename={"surrogate_seed": "--seed"})
def deid(
    input: Annotated[Path, typer.Option("--input", help='JSONL rows {"id", "text", ...}.')],
    out: Annotated[Path, typer.Option("--out", help="Output JSONL (same rows, text redacted).")],
    options: dict[str, Any],
    text_field: Annotated[
        list[str], typer.Option("--text-field", help="Field(s) to redact; repeat for several.")
    ] = ["text"],  # noqa: B006
    audit: Annotated[
        Path | None,
        typer.Option(
            "--audit", help="Audit JSON (default OUT.audit.json): counts per type + review sample."
        ),
    ] = None,
) -> None:
    """De-identify a JSONL file: HIPAA Safe Harbor identifiers -> typed placeholders or surrogates."""
    from radllama.core.config import validate_config
    from radllama.core.jsonl import MalformedLines
    from radllama.deid.engine import deidentify_jsonl

    config = validate_config(DeidConfig, options, source="options")
    malformed = MalformedLines()
    report = deidentify_jsonl(input, out, text_field, config, audit, malformed=malformed).to_json()
    counts = ", ".join(f"{k} {v}" for k, v in report["counts_by_type"].items() if v) or "none"
    skipped = ", ".join(f"{k} {v}" for k, v in malformed.by_reason.items())
    typer.echo(
        f"{report['reports_seen']} rows, {report['reports_with_phi']} with identifiers, "
        f"{report['total_redactions']} redactions ({counts}) -> {out}"
        + (f"; {malformed.count} malformed lines skipped ({skipped})" if malformed.count else "")
    )


@app.command("deid-eval")
@config_options(DeidConfig, rename={"surrogate_seed": "--seed"})
def deid_eval(
    file: Annotated[Path, typer.Argument(help='Labelled PHI set: JSONL {"text", "phi", "keep"}.')],
    options: dict[str, Any],
    examples: Annotated[
        int, typer.Option("--examples", help="Misses / damaged terms / over-redactions to show.")
    ] = 10,
) -> None:
    """Score `radllama deid` on a labelled PHI set: recall per type, precision, clinical terms kept."""
    from radllama.core.config import validate_config
    from radllama.deid.scoring import evaluate_file, format_examples, format_table

    config = validate_config(DeidConfig, options, source="options")
    if config.ner is not None:
        from radllama.deid.ner import check_model_dir

        check_model_dir(config.ner)
    result = evaluate_file(file, config)
    typer.echo(format_table(result, "radllama deid" + (" + ner" if config.ner else "")))
    if examples:
        typer.echo(format_examples(result, examples))


@app.command("deid-train")
@config_options(DeidTrainConfig)
def deid_train(
    options: dict[str, Any],
    config: Annotated[
        Path | None,
        typer.Argument(help="YAML of DeidTrainConfig fields (configs/deid-ner-cpu.yaml)."),
    ] = None,
) -> None:
    """Fine-tune the NER second opinion (MiniLM token classifier) on labelled PHI; use it with --ner."""
    from radllama.core.config import load_config
    from radllama.training.ner import train_ner

    settings = load_config(DeidTrainConfig, config, options)
    record = train_ner(settings)
    train, held = record["train"], record.get("held_out")
    line = (
        f"{record['data']['windows']} windows, {train['steps']} steps ({train['epochs']} epochs), "
        f"loss {train['first_loss']} -> {train['last_loss']}, {train['seconds']} s"
    )
    if held:
        line += (
            f"; held out ({held['records']} records): recall rules {held['rules']['recall']} -> "
            f"rules+ner {held['rules+ner']['recall']}, kept {held['rules']['keep_rate']} -> "
            f"{held['rules+ner']['keep_rate']} at threshold {held['threshold']}"
        )
    typer.echo(f"{line} -> {settings.out}")


# ---- end section: prepare / deid ---------------------------------------------------------


# ---- section: index (issue 9) ------------------------------------------------------------
@app.command()
@config_options(IndexConfig)
def index(
    data: Annotated[Path, typer.Argument(help="DATA_DIR from `radllama prepare` (indexes train).")],
    options: dict[str, Any],
    add: Annotated[
        Path | None,
        typer.Option("--add", help="Append the rows of NEW.jsonl (de-identified); no rebuild."),
    ] = None,
    audit: Annotated[
        Path | None,
        typer.Option(help="--add: audit JSON path (default NEW.jsonl.deid_audit.json beside it)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Nearest-neighbour index of the training reports (DATA_DIR/index/) for prompt examples."""
    from radllama.core.config import validate_config
    from radllama.retrieval.index import (
        add_to_index,
        build_index,
        describe,
        describe_addition,
    )

    if add is not None:
        meta = add_to_index(data, add, progress=not quiet, audit=audit)
        typer.echo(describe_addition(meta))
        typer.echo(describe(meta))
        return
    config = validate_config(IndexConfig, options, source="options")
    typer.echo(describe(build_index(data, config, progress=not quiet)))
    typer.echo(f"saved to {data / 'index'}")


# ---- end section: index ------------------------------------------------------------------


# ---- section: base / train / export (issue 3) --------------------------------------------
@app.command()
@config_options(BaseConfig)
def base(
    out: Annotated[Path, typer.Option(help="Output model directory (Hugging Face format).")],
    options: dict[str, Any],
    from_gguf: Annotated[
        Path | None,
        typer.Option(help="Llama-family GGUF file to convert (default: bundled SmolLM2-135M)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="--size only: dataset directory from `radllama prepare` (train.jsonl)."),
    ] = None,
) -> None:
    """Write the base model: a pretrained GGUF as an HF directory, or a tiny Llama built here.

    Without --size it converts a GGUF; with --size it builds a Llama from scratch and
    pretrains it on --data (every other option applies to those builds only).
    """
    from radllama.core.config import validate_config
    from radllama.model.base import build_base, bundled_gguf, convert_gguf, describe

    if "size" not in options:
        if data is not None or options:
            given = "--data" if data is not None else "--" + next(iter(options)).replace("_", "-")
            fail(f"{given} is only read by --size builds; drop it, or add --size tiny")
        record = convert_gguf(from_gguf or bundled_gguf(), out)
        typer.echo(describe(record))
        typer.echo(f"saved to {out}")
        return
    if from_gguf is not None:
        fail("--from-gguf and --size exclude each other: convert a GGUF or build from scratch")
    if data is None:
        fail("--size builds pretrain on your reports: pass --data DATA_DIR (`radllama prepare`)")
    record = build_base(data, out, validate_config(BaseConfig, options, source="options"))
    typer.echo(describe(record))
    typer.echo(f"saved to {out}")


@app.command()
@config_options(TrainConfig, rename={"output_dir": "--out"})
def train(
    config: Annotated[Path, typer.Argument(help="Training config YAML (see configs/).")],
    options: dict[str, Any],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the resolved config and arguments; load nothing."),
    ] = False,
) -> None:
    """Supervised fine-tuning (TRL SFTTrainer): full, LoRA or QLoRA, packed, resumable."""
    import signal

    from radllama.core.config import load_config
    from radllama.training import dry_run as describe_run
    from radllama.training import end_distributed
    from radllama.training import train as run_training

    train_config = load_config(TrainConfig, config, options)
    if dry_run:
        typer.echo(describe_run(train_config))
        return
    try:
        record = run_training(train_config)
    finally:
        end_distributed()  # this process owns the group `accelerate launch` had it create
    if record.get("status") == "interrupted":
        typer.echo(
            f"interrupted ({record['signal']}) at step {record['step']}; checkpoint "
            f"{record['checkpoint']}; rerun with --resume to continue",
            err=True,
        )
        raise typer.Exit(128 + int(getattr(signal, record["signal"])))
    metrics = record["final_metrics"]
    typer.echo(
        f"{record['method']}: {metrics['steps']} steps, loss {metrics['first_logged_loss']:.4f} -> "
        f"{metrics['last_logged_loss']:.4f}, eval loss {metrics['eval_loss']}, "
        f"packing efficiency {metrics['packing_efficiency']}"
    )
    typer.echo(f"saved to {train_config.output_dir}")


@app.command()
def export(
    run_dir: Annotated[
        Path,
        typer.Argument(help="RUN_DIR from `radllama train` (or, with --gguf, any --model)."),
    ],
    out: Annotated[
        Path | None, typer.Option(help="--merge: directory for the merged model.")
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Merge the adapter into a 16-bit copy of the base.")
    ] = False,
    dtype: Annotated[
        str, typer.Option(help="--merge: bfloat16 | float16 | float32 weights.")
    ] = "bfloat16",
    gguf: Annotated[
        Path | None,
        typer.Option("--gguf", help="Write the (merged) model as one GGUF file for llama.cpp."),
    ] = None,
    gguf_type: Annotated[str, typer.Option("--type", help="--gguf: f16 | q8_0 weights.")] = "f16",
) -> None:
    """Export a fine-tuned run: merged HF model (vLLM / TGI) or GGUF (llama.cpp, Ollama)."""
    from radllama.model.export import export_gguf, export_merged

    if gguf is not None:
        if merge or out is not None:
            fail("--gguf writes one file; drop --merge/--out (or run export twice)")
        summary = export_gguf(run_dir, gguf, gguf_type)
        types = ", ".join(f"{n} {k}" for k, n in summary["tensor_types"].items())
        typer.echo(
            f"GGUF ({gguf_type}; tensors: {types}) {summary['bytes'] / 1e6:.1f} MB -> {gguf}"
        )
        return
    if not merge:
        fail(
            "pass --merge --out DIR or --gguf OUT.gguf; the adapter in RUN_DIR already serves "
            "with `vllm serve BASE --enable-lora --lora-modules NAME=RUN_DIR`"
        )
    if out is None:
        fail("--merge needs --out DIR (the merged model directory)")
    typer.echo(f"merged model saved to {export_merged(run_dir, out, dtype=dtype)}")


# ---- end section: base / train / export --------------------------------------------------


# ---- section: generate / evaluate / report / baselines (issue 4) -------------------------
@app.command()
@config_options(GenerateConfig, rename={"engine_args": "--engine-arg"})
def generate(options: dict[str, Any]) -> None:
    """Write an impression for every test report (resumable): PREDS.jsonl for `evaluate`."""
    from radllama.core.config import validate_config
    from radllama.evaluate.hallucination import hallucination_flags
    from radllama.generation.generate import generate_predictions

    config = validate_config(GenerateConfig, options, source="options")
    summary = generate_predictions(config, flagger=hallucination_flags)
    typer.echo(summary.describe())
    if warning := summary.check_failures(config.max_failure_rate):  # raises when most failed
        typer.echo(warning, err=True)


@app.command()
@config_options(BaselinesConfig)
def baselines(options: dict[str, Any]) -> None:
    """Retrieval copies (TF-IDF / dense 1-NN), their k-NN consensus (MBR) and the
    most-frequent impression, as PREDS files."""
    from radllama.core.config import validate_config
    from radllama.generation.baselines import describe, run_baselines

    typer.echo(describe(run_baselines(validate_config(BaselinesConfig, options, source="options"))))


@app.command()
def report(
    scores: Annotated[
        list[Path], typer.Argument(help="SCORES.json per system; the first is the reference")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for report.md/.html/.json")],
    title: Annotated[str, typer.Option("--title", help="Report title")] = (
        "radllama evaluation report"
    ),
) -> None:
    """Table-1-style report (markdown, self-contained HTML with plots, JSON) from SCORES files."""
    from radllama.evaluate.report import build_report, render_markdown_table

    result = build_report(scores, out, title=title)
    typer.echo(render_markdown_table(result))
    typer.echo(f"wrote {', '.join(result['files'].values())}")


@app.command()
@config_options(
    EvaluateConfig, rename={"use_stemmer": "--stemmer", "bootstrap_resamples": "--bootstrap"}
)
@config_options(BertScoreConfig, prefix="bertscore", into="bertscore_options")
@config_options(
    JudgeConfig,
    prefix="judge",
    into="judge_options",
    rename={"allow_remote": "--allow-remote", "max_failure_rate": "--max-failure-rate"},
)
def evaluate(
    preds: Annotated[Path, typer.Argument(help="PREDS.jsonl written by `radllama generate`")],
    out: Annotated[Path, typer.Option("--out", help="Where to write SCORES.json")],
    options: dict[str, Any],
    bertscore_options: dict[str, Any],
    judge_options: dict[str, Any],
    config: Annotated[Path | None, typer.Option(help="EvaluateConfig YAML")] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="DATA_DIR or its manifest.json (judge PHI guard)")
    ] = None,
) -> None:
    """Score predictions: ROUGE-L, BERTScore, clinical agreement, hallucination flags, judge."""
    from radllama.core.config import load_config, validate_config
    from radllama.evaluate.runner import evaluate_predictions, format_table

    cfg = load_config(EvaluateConfig, config, options)
    bert = {**cfg.bertscore.model_dump(), **bertscore_options}
    cfg.bertscore = validate_config(BertScoreConfig, bert, source="bertscore options")
    judge_cfg, manifest_data = _judge_options("judge" in cfg.metrics, judge_options, manifest)
    scores = evaluate_predictions(preds, cfg, judge_cfg, manifest_data, out, progress=True)
    typer.echo(format_table(scores))
    typer.echo(f"wrote {out}")
    if warning := (scores.get("judge") or {}).get("warning"):  # most failing raised above
        typer.echo(warning, err=True)


def _judge_options(
    wanted: bool, options: dict[str, Any], manifest: Path | None
) -> tuple[object | None, object | None]:
    """JudgeConfig + DataManifest for `evaluate` (None, None when the judge is not asked for)."""
    if not wanted:
        return None, None
    from radllama.core.artifacts import DataManifest
    from radllama.core.config import validate_config
    from radllama.core.errors import ConfigError

    if not options.get("base_url") or not options.get("model"):
        raise ConfigError("--metrics judge needs --judge-base-url and --judge-model")
    manifest_data = DataManifest.read(manifest) if manifest is not None else None
    return validate_config(JudgeConfig, options, source="judge options"), manifest_data


# ---- end section: generate / evaluate / report / baselines -------------------------------


# ---- section: serve / impress (issue 5) --------------------------------------------------
@app.command()
@config_options(
    ServeConfig, rename={"allowed_hosts": "--allowed-host", "engine_args": "--engine-arg"}
)
def serve(
    model_dir: Annotated[
        Path,
        typer.Argument(help="RUN_DIR from `radllama train`, a local HF model dir or a .gguf file."),
    ],
    options: dict[str, Any],
) -> None:
    """Serve the model: OpenAI-compatible API + POST /v1/impressions, with dynamic batching."""
    from radllama.core.config import validate_config
    from radllama.serving.server import run_server

    run_server(model_dir, validate_config(ServeConfig, options, source="options"))


@app.command()
@config_options(ServeConfig, only=("decode", "index", "num_examples"))  # as `serve` answers
def impress(
    model: Annotated[
        Path,
        typer.Option(help="RUN_DIR from `radllama train`, a local HF model dir or a .gguf file."),
    ],
    exam: Annotated[str, typer.Option(help="Exam code or description, e.g. 'CT HEAD W/O'.")],
    options: dict[str, Any],
    findings: Annotated[
        str | None, typer.Option(help="FINDINGS text; omit or '-' to read stdin.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most impression tokens.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the /v1/impressions object.")
    ] = False,
) -> None:
    """Write the IMPRESSION for one report's exam + FINDINGS (same answer as the server)."""
    import json

    from radllama.core.config import validate_config
    from radllama.generation.inference import ImpressionModel
    from radllama.serving.engine import check_candidate_index
    from radllama.serving.server import check_impression_request
    from radllama.serving.server import impress as impress_one

    if findings in (None, "-"):
        if sys.stdin.isatty():
            fail("no findings: pass --findings TEXT or pipe the FINDINGS text on stdin")
        stdin = getattr(sys.stdin, "buffer", None)  # None: an already-decoded text stream
        try:  # bytes, decoded strictly: a lone surrogate would reach the tokenizer
            findings = stdin.read().decode("utf-8") if stdin is not None else sys.stdin.read()
        except UnicodeDecodeError as error:
            fail(
                f"the findings on stdin are not valid UTF-8 (byte {error.start}); convert them, "
                "e.g. `iconv -f latin1 -t utf-8`"
            )
    if any("\ud800" <= char <= "\udfff" for char in findings):  # e.g. undecodable argv bytes
        fail("the findings are not valid UTF-8 (a lone surrogate); pass UTF-8 text")
    serve_config = validate_config(ServeConfig, options, "options")
    check_impression_request(findings, max_tokens, serve_config)  # before the slow model load
    check_candidate_index(model, serve_config)
    loaded = ImpressionModel.load(
        model, index=serve_config.index, num_examples=serve_config.num_examples
    )
    result = impress_one(loaded, exam, findings, max_tokens, serve_config)
    typer.echo(json.dumps(result, ensure_ascii=False) if json_output else result["impression"])


# ---- end section: serve / impress --------------------------------------------------------


# ---- section: demo (issue 4) -------------------------------------------------------------
@app.command()
@config_options(DemoConfig, rename={"synth_reports": "--reports"})
def demo(
    options: dict[str, Any],
    config: Annotated[
        Path | None,
        typer.Argument(
            help="Demo YAML (e.g. configs/openi.yaml); default: embedded synthetic corpus."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Output directory (rerun resumes: finished steps are skipped).")
    ] = Path("demo_out"),
) -> None:
    """The main job: synthesise -> prepare -> base -> QLoRA + full SFT -> generate -> evaluate -> report."""
    from radllama.core.config import load_config
    from radllama.demo import run_demo

    run_demo(load_config(DemoConfig, config, options), out)


# ---- end section: demo -------------------------------------------------------------------


@app.callback()
def _root() -> None:
    """Radiology report archive -> fine-tuned local impression writer -> honest evaluation."""


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code (so tests can call it in-process).

    A `RadllamaError` becomes one line on stderr and exit code 2; usage errors are click's
    (exit code 2 as well); anything else is a bug and keeps its traceback. The model hub is
    off unless the user turned it on (`radllama.core.guard.offline_by_default`).
    """
    from radllama.core.guard import offline_by_default

    offline_by_default()  # before any Hugging Face library is imported: they read it at import
    try:
        app(args=argv, prog_name="radllama", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except RadllamaError as error:
        typer.echo(f"error: {error}", err=True)
        return error.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
