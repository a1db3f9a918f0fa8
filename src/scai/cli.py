"""The `scai` command line: a thin skin over the Python API (no logic lives here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from scai import __version__
from scai.cli_common import RunsDir, SetOpt, err, open_store, out, run_overrides, when
from scai.errors import ConfigError, ScaiError

app = typer.Typer(
    help="scai: alignment research by simulation.", no_args_is_help=True,
    pretty_exceptions_enable=False, add_completion=False,
)
runs_app = typer.Typer(help="List, inspect and export runs in the store.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the on-disk response cache.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(cache_app, name="cache")

@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        out.print(f"scai {__version__}")
        raise typer.Exit()


@app.command()
def ask(
    prompt: str = typer.Argument(..., help="What to ask."),
    model: str = typer.Option("local", "--model", "-m", help="Model string (see `scai models`)."),
    system: str | None = typer.Option(None, "--system", help="System prompt."),
    json_schema: Path | None = typer.Option(
        None, "--json-schema", help="JSON schema file the reply must satisfy."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed (seeded calls are cached)."),
    temperature: float = typer.Option(0.7, "--temperature", "-t"),
    max_tokens: int = typer.Option(256, "--max-tokens"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole completion as JSON."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Ask a model one thing; print the reply and what it cost (tokens, seconds)."""
    from scai.ask import ask_once, load_schema

    schema = load_schema(json_schema) if json_schema else None
    completion, run_id = ask_once(
        prompt, model=model, system=system, schema=schema, seed=seed, temperature=temperature,
        max_tokens=max_tokens, use_cache=not no_cache, store=open_store(runs_dir),
    )
    if as_json:
        out.print_json(completion.model_dump_json())
    else:
        print(json.dumps(completion.parsed, indent=2) if schema else completion.text)
    u = completion.usage
    err.print(
        f"[dim]{completion.model}: {u.prompt_tokens} prompt + {u.completion_tokens} completion "
        f"tokens, {u.latency_s:.2f} s{', cached' if completion.cached else ''}"
        f"{f', ${u.cost_usd:.6f}' if u.cost_usd is not None else ''} · run {run_id}[/dim]"
    )


@app.command()
def models(
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Also check these model strings (repeatable)."
    ),
) -> None:
    """List the model backends and whether each is usable here."""
    from scai.llm.catalog import check_models

    table = Table("backend", "model string", "status", "detail")
    ok_all = True
    for row in check_models(model or []):
        ok_all &= row.ok or not row.requested
        table.add_row(row.backend, row.model, "[green]ok[/]" if row.ok else "[red]unavailable[/]",
                      row.detail)
    out.print(table)
    if not ok_all:
        raise typer.Exit(1)


@app.command()
def validate(
    config: Path = typer.Argument(..., help="A config file of any kind."),
    overrides: list[str] | None = SetOpt,
) -> None:
    """Check a config file and print it fully resolved, with every default filled in."""
    from scai.config import to_yaml
    from scai.kinds import load_config
    cfg = load_config(config, overrides or [])
    print(to_yaml(cfg), end="")
    err.print(f"[green]ok[/green]: {config} is a valid {cfg.kind!s} config")


@app.command()
def batch(
    config: Path = typer.Argument(..., help="A `kind: batch` config file."),
    overrides: list[str] | None = SetOpt,
    resume: str | None = typer.Option(None, "--resume", help="Resume this run id (or prefix)."),
    no_cache: bool = typer.Option(False, "--no-cache"),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Run many prompts x samples through a model; resumable, recorded in the store."""
    from scai.batch import run_batch
    from scai.kinds import load_config

    cfg = load_config(config, overrides or [], kind="batch")
    s = run_batch(cfg, open_store(runs_dir), resume=resume, cache=not no_cache)
    out.print(
        f"run [bold]{s.run_id}[/]: {s.calls_made} calls made, {s.calls_skipped} already done, "
        f"{s.cache_hits} from cache, {s.failures} failed; {s.completion_tokens} tokens in "
        f"{s.wall_s:.1f} s ({s.tokens_per_s:.1f} tok/s)"
    )
    if s.failures:
        raise typer.Exit(1)


@app.command()
def converse(
    scenario: Path = typer.Argument(..., help="A `kind: converse` scenario file."),
    runs: int = typer.Option(1, "--runs", "-n", min=1, help="Independent runs (seeds S, S+1, ...)."),
    seed: int | None = typer.Option(None, "--seed", help="Base seed (default: the file's)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Default model for agents."),
    out_dir: Path | None = typer.Option(None, "--out", help="Where transcripts and plots go."),
    overrides: list[str] | None = SetOpt,
    resume: str | None = typer.Option(None, "--resume", help="Resume this run id (or prefix)."),
    no_cache: bool = typer.Option(False, "--no-cache"),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Run a multi-agent conversation scenario; judge it; aggregate over runs."""
    from scai.converse import run_converse
    from scai.kinds import load_config

    cfg = load_config(scenario, run_overrides(overrides, seed, model), kind="converse")
    result = run_converse(cfg, open_store(runs_dir), runs=runs, out_dir=out_dir, resume=resume,
                          cache=not no_cache)
    table = Table("run", "seed", "stopped by", "rounds", "statements", "tokens", "judge failures")
    for r in result.runs:
        table.add_row(r.run_id, str(r.seed), r.stop_reason, str(r.rounds_run), str(r.statements),
                      str(r.tokens), str(r.judge_parse_failures))
    out.print(table)
    scores = {k: v for k, v in result.aggregate.items() if "." in k}
    if scores:
        out.print("[bold]judged scores[/] (mean [95% CI])")
        for name, est in scores.items():
            out.print(f"  {name}: {est.fmt()}", markup=False)
    out.print(f"transcripts in {result.out_dir}" + (f"; plot {result.plot}" if result.plot else ""))


@runs_app.command("list")
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


@runs_app.command("show")
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
    if info.error:
        out.print(f"[red]error:[/] {info.error}")
    if info.summary:
        out.print("[bold]summary[/]")
        print(yaml.safe_dump(info.summary, sort_keys=False).rstrip())
    out.print("[bold]config[/]")
    print(yaml.safe_dump(info.config, sort_keys=False, allow_unicode=True).rstrip())
    evs = store.events(info.id)[-events:] if events else []
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


@runs_app.command("export")
def runs_export(
    run: str = typer.Argument(..., help="Run id, unique prefix, or `latest`."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl, parquet or csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write a run's events as JSONL, Parquet or CSV (one row per event)."""
    from scai.store import export_run

    if fmt not in ("jsonl", "parquet", "csv"):
        raise ConfigError(f"--format {fmt!r}: use jsonl, parquet or csv")
    path = export_run(open_store(runs_dir), run, fmt, output)  # type: ignore[arg-type]
    out.print(f"wrote {path}")


@cache_app.command("stats")
def cache_stats() -> None:
    """Entries, size and hits of the response cache."""
    from scai.llm.cache import ResponseCache

    s = ResponseCache().stats()
    out.print(f"cache {s.path}: {s.entries} entries, {s.size_bytes / 1e6:.2f} MB, {s.hits} hits")
    for identity, n in s.by_model.items():
        out.print(f"  {n:>7}  {identity}")


@cache_app.command("clear")
def cache_clear(
    older_than_days: float | None = typer.Option(
        None, "--older-than-days", help="Only entries older than this many days."
    ),
) -> None:
    """Delete cached responses (all, or only old ones)."""
    from scai.llm.cache import ResponseCache

    n = ResponseCache().clear(None if older_than_days is None else older_than_days * 86400)
    out.print(f"removed {n} cached responses")


def _register_features() -> None:
    from scai.kinds import register_clis

    register_clis(app)


_register_features()


def main() -> None:
    """Entry point: user mistakes become one line on stderr and a non-zero exit code."""
    try:
        app()
    except ScaiError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        sys.exit(exc.exit_code)
    except ValidationError as exc:  # an option value out of range, e.g. --max-tokens 0
        from scai.config import format_validation_error

        message = format_validation_error("options", exc)
        err.print(Text.assemble(("error: ", "bold red"), message), highlight=False)
        sys.exit(2)
    except OSError as exc:  # a path the user gave cannot be read or written
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; finished work is kept in the run store (resume with --resume)")
        sys.exit(130)


if __name__ == "__main__":
    main()
