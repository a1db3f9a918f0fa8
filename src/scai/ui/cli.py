"""`scai ui` (the dashboard) and `scai report RUN -o FILE` (a self-contained report)."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import RunsDir, out


def ui(
    runs_dir: Path | None = RunsDir,
    port: int = typer.Option(8501, "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default "
                             "local only; 0.0.0.0 exposes the dashboard to the network)."),
) -> None:
    """Open the read-only dashboard over the run store in your browser."""
    from scai.ui.server import serve

    code = serve(runs_dir, port, host, echo=lambda s: out.print(s, markup=False,
                                                                highlight=False))
    if code:
        raise typer.Exit(code)

def report(
    run: str = typer.Argument(..., help="Run id, unique prefix, or `latest`."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="FILE.html (self-contained) or FILE.md (PNGs "
                                            "beside it); default RUN.html."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write a run's page (figures, tables, transcript) as a shareable HTML or Markdown file."""
    from scai.report import StoreReader, run_page, write_report

    reader = StoreReader(runs_dir)
    page = run_page(reader, run)
    target = output or Path(f"{reader.resolve(run)}.html")
    files = write_report(page, target)
    out.print(f"wrote {target}" + (f" and {len(files) - 1} image(s) beside it"
                                   if len(files) > 1 else ""), markup=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the `scai` app."""
    app.command()(ui)
    app.command()(report)
