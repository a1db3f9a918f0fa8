"""The CLI kit: what every command shares (consoles, common options, the store, tables).

Every command module imports from here, never from `scai.cli`, so the order in which commands
are registered does not matter. One command pattern: a command is a plain module-level function
that parses options, calls the Python API and prints the result (`print_table`); the module's
`register(app)` attaches its commands (`app.command()(fn)`), and the feature's record in its
`kind.py` names the module. Commands that record runs take `runs_dir: ... = RunsDir`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from scai.store import RunStore

# Piped output is not wrapped at 80 columns: tables and paths stay whole for grep and files.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, soft_wrap=True)

RunsDir = typer.Option(
    None, "--runs-dir", envvar="SCAI_RUNS_DIR", help="Run store directory (default ./runs)."
)
SetOpt = typer.Option(None, "--set", help="Override a config value: --set a.b=VALUE (repeatable).")
ResumeOpt = typer.Option(None, "--resume", help="Resume this run id (or prefix).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the response cache.")
RunsOpt = typer.Option(1, "--runs", "-n", min=1, help="Independent runs (seeds S, S+1, ...).")
SeedOpt = typer.Option(None, "--seed", help="Base seed (default: the file's).")


def model_option(help: str = "Model string (see `scai models`).") -> Any:
    """`--model/-m`, with what the model is used for in this command."""
    return typer.Option(None, "--model", "-m", help=help)


def out_option(help: str = "Where reports and plots go.") -> Any:
    """`--out`, with what the command writes there."""
    return typer.Option(None, "--out", help=help)


def run_overrides(overrides: list[str] | None, seed: int | None = None,
                  model: str | None = None) -> list[str]:
    """--set values plus the --seed and --model shortcuts, as config overrides."""
    extra = list(overrides or [])
    if seed is not None:
        extra.append(f"seed={seed}")
    if model is not None:
        extra.append(f"model.model={model}")
    return extra


def open_store(runs_dir: Path | None) -> RunStore:
    """The run store at `--runs-dir` (or $SCAI_RUNS_DIR, or ./runs)."""
    from scai.store import RunStore

    return RunStore(runs_dir)


def print_usage(store: RunStore, run_ids: Iterable[str]) -> None:
    """What each run's model calls cost: calls, tokens, the share reused from cached prefixes."""
    for run_id in run_ids:
        usage = store.run_usage(run_id)
        if usage.calls or usage.cache_hits:
            out.print(f"run {run_id}: {usage.line()}", style="dim", markup=False, highlight=False)


def when(ts: float | None) -> str:
    """A timestamp as local date and time ('-' for none)."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def cell(value: Any) -> str:
    """A table cell: numbers rounded for reading, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                title: str | None = None) -> None:
    """Print rows under `columns` as one rich table (cells through `cell` unless already str)."""
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(v if isinstance(v, str) else cell(v) for v in row))
    out.print(table)
