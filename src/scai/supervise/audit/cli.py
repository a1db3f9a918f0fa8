"""`scai audit CONFIG`: a thin skin over scai.supervise.audit.run_audit."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import (
    NoCacheOpt,
    ResumeOpt,
    RunsDir,
    SeedOpt,
    SetOpt,
    open_store,
    out,
    out_option,
    print_table,
    print_usage,
    run_overrides,
)


def audit(
    config: Path = typer.Argument(..., help="A `kind: audit` config."),
    seeds: int | None = typer.Option(None, "--seeds", "-n", min=1, help="Override `seeds`."),
    turns: int | None = typer.Option(None, "--turns", "-t", min=1, help="Override `turns`."),
    seed: int | None = SeedOpt,
    out_dir: Path | None = out_option("Where transcripts, summary.md and the plot go."),
    overrides: list[str] | None = SetOpt,
    resume: str | None = ResumeOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """An auditor model pursues the config's goal against a target, rolling back and
    branching; a judge scores each dimension with quoted evidence; seeds aggregate."""
    from scai.kinds import load_config
    from scai.report.audit import dimension_table, unscored
    from scai.supervise.audit.run import run_audit

    extra = run_overrides(overrides, seed)
    extra += [f"seeds={seeds}"] if seeds is not None else []
    extra += [f"turns={turns}"] if turns is not None else []
    cfg = load_config(config, extra, kind="audit")
    store = open_store(runs_dir)
    result = run_audit(cfg, store, out_dir=out_dir, resume=resume, cache=not no_cache)
    table = dimension_table(result)
    print_table(table.columns, table.rows, title=f"audit {result.name}: {len(result.seeds)} "
                "seed(s)")
    stops = ", ".join(f"seed {s.seed}: {s.stop_reason} after {s.actions} action(s), "
                      f"{len(s.tree.branches())} branch(es)" for s in result.seeds)
    out.print(stops, markup=False)
    for line in unscored(result):
        out.print(line, style="yellow", markup=False)
    if result.auditor_failures:
        out.print(f"{result.auditor_failures} auditor action(s) did not parse", style="yellow")
    if result.run_id:
        print_usage(store, [result.run_id])
    out.print(f"summary {result.summary_md}; plot {result.plot}; transcripts "
              f"{result.transcripts}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the `audit` command to the `scai` app."""
    app.command()(audit)
