"""`radllama` command line: one thin subcommand per pipeline stage.

Each command parses options, calls one importable function, and maps `RadllamaError`
to a single line on stderr with exit code 2. Logic lives in the stage modules.

Layout: each stage owns one marked section below; keep commands ~10-20 lines and import
the stage module inside the command so `radllama --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional  # noqa: F401  (used by stage sections)

import typer

from radllama.errors import RadllamaError

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
    from radllama.provenance import package_versions

    for name, ver in package_versions().items():
        typer.echo(f"{name}: {ver}")


# ---- section: synth (issue 2) ------------------------------------------------------------
# ---- end section: synth ------------------------------------------------------------------

# ---- section: prepare / deid (issue 2) ---------------------------------------------------
# ---- end section: prepare / deid ---------------------------------------------------------

# ---- section: base / train / export (issue 3) --------------------------------------------
@app.command()
def base(
    data: Annotated[Path, typer.Option(help="Dataset directory from `radllama prepare` (reads train.jsonl).")],
    out: Annotated[Path, typer.Option(help="Output model directory (Hugging Face format).")],
    size: Annotated[str, typer.Option(help="micro | tiny (~5 M params) | small (~22 M params).")] = "tiny",
    max_steps: Annotated[int, typer.Option(help="Pretraining optimizer steps.")] = 300,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-clock budget; stops early.")] = None,
    seq_length: Annotated[int, typer.Option(help="Pretraining block length (tokens).")] = 256,
    batch_size: Annotated[int, typer.Option(help="Blocks per optimizer step.")] = 16,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Build the embedded base model: BPE tokenizer + Llama-architecture model pretrained here."""
    from radllama.base import BaseConfig, build_base, describe
    from radllama.config import validate_config

    config = validate_config(BaseConfig, dict(
        size=size, max_steps=max_steps, max_minutes=max_minutes, seq_length=seq_length,
        batch_size=batch_size, seed=seed), source="options")
    record = build_base(data, out, config)
    typer.echo(describe(record))
    typer.echo(f"saved to {out}")


# ---- end section: base / train / export --------------------------------------------------

# ---- section: generate / evaluate / report / baselines (issue 4) -------------------------
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
    from radllama.report import build_report, render_markdown_table

    result = build_report(scores, out, title=title)
    typer.echo(render_markdown_table(result))
    typer.echo(f"wrote {', '.join(result['files'].values())}")


# ---- end section: generate / evaluate / report / baselines -------------------------------

# ---- section: serve / impress (issue 5) --------------------------------------------------
# ---- end section: serve / impress --------------------------------------------------------

# ---- section: demo (issue 4) -------------------------------------------------------------
# ---- end section: demo -------------------------------------------------------------------


@app.callback()
def _root() -> None:
    """Radiology report archive -> fine-tuned local impression writer -> honest evaluation."""


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code (so tests can call it in-process).

    A `RadllamaError` becomes one line on stderr and exit code 2; usage errors are click's
    (exit code 2 as well); anything else is a bug and keeps its traceback.
    """
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
