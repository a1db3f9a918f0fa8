"""`scai runs` (list, inspect and export runs in the store) and `scai cache` (the response cache)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from scai.cli_common import RunsDir, open_store, out, when
from scai.errors import ConfigError


def runs_list(
    kind: str | None = typer.Option(None, "--kind", help="Only runs of this kind."),
    limit: int = typer.Option(50, "--limit", "-n"),
    runs_dir: Path | None = RunsDir,
) -> None:
    """The runs in the store, newest first."""
    rows = open_store(runs_dir).list_runs(kind=kind, limit=limit)
    if not rows:
        out.print("no runs yet")
        return
    table = Table("id", "kind", "name", "status", "started", "duration", "events")
    colour = {"completed": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}
    for r in rows:
        table.add_row(r.id, r.kind, r.name or "", f"[{colour[r.status]}]{r.status}[/]",
                      when(r.created_at), f"{r.duration_s:.1f} s", str(r.n_events))
    out.print(table)


def runs_show(
    run: str = typer.Argument(..., help="Run id, unique prefix, or `latest`."),
    events: int = typer.Option(10, "--events", help="How many of the latest events to show."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """A run's status, config, summary and latest events."""
    import yaml

    from scai.config import to_yaml  # noqa: F401  (keeps yaml import cost off `runs list`)

    store = open_store(runs_dir)
    info = store.get(run)
    out.print(f"[bold]{info.id}[/]  kind={info.kind}  status={info.status}")
    out.print(f"started {when(info.created_at)}, finished {when(info.finished_at)}, "
              f"{info.duration_s:.1f} s, {info.n_events} events")
    usage = store.run_usage(info.id)
    if usage.calls or usage.cache_hits or usage.failures or usage.unreadable:
        out.print(usage.line(), markup=False, highlight=False)
    if info.error:
        out.print(f"[red]error:[/] {info.error}")
    if info.summary:
        out.print("[bold]summary[/]")
        print(yaml.safe_dump(info.summary, sort_keys=False).rstrip())
    out.print("[bold]config[/]")
    print(yaml.safe_dump(info.config, sort_keys=False, allow_unicode=True).rstrip())
    evs, bad = store.read_events(info.id) if events else ([], [])
    evs = evs[-events:] if events else []
    if bad:  # a crash can leave a truncated payload: show the rest, name what is left out
        out.print(f"[yellow]{len(bad)} event(s) cannot be read and are left out:[/] "
                  f"{', '.join(bad[:4])}" + (" ..." if len(bad) > 4 else ""))
    if evs:
        out.print(f"[bold]last {len(evs)} events[/]")
    for e in evs:
        text = ""
        if e.type == "model_call":
            text = (e.payload.get("completion") or {}).get("text", "")
        elif e.type == "step":
            text = e.payload.get("text") or json.dumps(e.payload.get("parsed"))
        elif e.type == "model_error":
            text = e.payload.get("error", "")
        else:
            text = json.dumps(e.payload, ensure_ascii=False)
        text = text.replace("\n", " ")
        out.print(f"  {when(e.ts)} {e.type:<12} {e.key or '':<28} {text[:90]}", markup=False,
                  highlight=False)


EVENT_FORMATS = ("jsonl", "parquet", "csv")
DIR_FORMATS = ("tensorboard", "hf-dataset", "dataset-parquet", "dataset-jsonl")


def runs_export(
    run: str = typer.Argument(..., help="Run id, unique prefix, or `latest`."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="Events (one row each): jsonl, "
                            "parquet, csv. Metrics: tensorboard. Data (pairs, SFT, episodes, "
                            "transcripts): hf-dataset, dataset-parquet, dataset-jsonl."),
    output: Path | None = typer.Option(None, "--output", "--out", "-o",
                                       help="Output file (events) or folder (the others)."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write a run's events (JSONL, Parquet, CSV), its metrics as TensorBoard event files, or its
    data as a Hugging Face dataset (Parquet/JSONL) with a dataset card."""
    if fmt not in EVENT_FORMATS + DIR_FORMATS:
        raise ConfigError(f"--format {fmt!r}: use jsonl, parquet or csv (events), tensorboard, "
                          "hf-dataset, dataset-parquet or dataset-jsonl")
    if fmt == "tensorboard":
        from scai.export import export_tensorboard

        path = export_tensorboard(runs_dir, run, output)
        out.print(f"wrote {path} (view: tensorboard --logdir {path})")
        return
    if fmt in DIR_FORMATS:
        from scai.export import export_dataset

        path, tables = export_dataset(runs_dir, run, fmt, output)  # type: ignore[arg-type]
        counts = ", ".join(f"{t.name} {t.table.num_rows} rows" for t in tables)
        out.print(f"wrote {path} ({counts}; card: {path / 'README.md'})")
        return
    from scai.store import export_run

    path = export_run(open_store(runs_dir), run, fmt, output)  # type: ignore[arg-type]
    out.print(f"wrote {path}")


def cache_stats() -> None:
    """Entries, size and hits of the response cache."""
    from scai.llm.cache import ResponseCache

    s = ResponseCache().stats()
    out.print(f"cache {s.path}: {s.entries} entries, {s.size_bytes / 1e6:.2f} MB, {s.hits} hits")
    for identity, n in s.by_model.items():
        out.print(f"  {n:>7}  {identity}")


def cache_clear(
    older_than_days: float | None = typer.Option(
        None, "--older-than-days", help="Only entries older than this many days."
    ),
) -> None:
    """Delete cached responses (all, or only old ones)."""
    from scai.llm.cache import ResponseCache

    n = ResponseCache().clear(None if older_than_days is None else older_than_days * 86400)
    out.print(f"removed {n} cached responses")


def register(app: typer.Typer) -> None:
    """Add `scai runs ...` and `scai cache ...` to `app`."""
    runs_app = typer.Typer(help="List, inspect and export runs in the store.",
                           no_args_is_help=True)
    cache_app = typer.Typer(help="Inspect or clear the on-disk response cache.",
                            no_args_is_help=True)
    runs_app.command("list")(runs_list)
    runs_app.command("show")(runs_show)
    runs_app.command("export")(runs_export)
    cache_app.command("stats")(cache_stats)
    cache_app.command("clear")(cache_clear)
    app.add_typer(runs_app, name="runs")
    app.add_typer(cache_app, name="cache")
