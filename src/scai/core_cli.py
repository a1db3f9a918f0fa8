"""The core commands: ask a model, list backends, validate a config, run a batch."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from scai.cli_common import RunsDir, SetOpt, err, open_store, out


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


def models(
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Also check these model strings (repeatable)."
    ),
) -> None:
    """List the model backends and whether each is usable here."""
    from scai.llm.factory import check_models

    table = Table("backend", "model string", "status", "detail")
    ok_all = True
    for row in check_models(model or []):
        ok_all &= row.ok or not row.requested
        table.add_row(row.backend, row.model, "[green]ok[/]" if row.ok else "[red]unavailable[/]",
                      row.detail)
    out.print(table)
    if not ok_all:
        raise typer.Exit(1)


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


def register(app: typer.Typer) -> None:
    """Add the core commands to `app`."""
    for command in (ask, models, validate, batch):
        app.command()(command)
