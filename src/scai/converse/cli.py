"""`scai converse`: run a multi-agent conversation scenario from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import (
    NoCacheOpt,
    ResumeOpt,
    RunsDir,
    RunsOpt,
    SeedOpt,
    SetOpt,
    model_option,
    open_store,
    out,
    out_option,
    print_table,
    print_usage,
    run_overrides,
)


def converse(
    scenario: Path = typer.Argument(..., help="A `kind: converse` scenario file."),
    runs: int = RunsOpt,
    seed: int | None = SeedOpt,
    model: str | None = model_option("Default model for agents."),
    out_dir: Path | None = out_option("Where transcripts and plots go."),
    overrides: list[str] | None = SetOpt,
    resume: str | None = ResumeOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Run a multi-agent conversation scenario; judge it; aggregate over runs."""
    from scai.converse import run_converse
    from scai.kinds import load_config

    cfg = load_config(scenario, run_overrides(overrides, seed, model), kind="converse")
    store = open_store(runs_dir)
    result = run_converse(cfg, store, runs=runs, out_dir=out_dir, resume=resume,
                          cache=not no_cache)
    print_table(("run", "seed", "stopped by", "rounds", "statements", "tokens", "judge failures"),
                ((r.run_id, r.seed, r.stop_reason, r.rounds_run, r.statements, r.tokens,
                  r.judge_parse_failures) for r in result.runs))
    print_usage(store, [r.run_id for r in result.runs])
    scores = {k: v for k, v in result.aggregate.items() if "." in k}
    if scores:
        out.print("[bold]judged scores[/] (mean [95% CI])")
        for name, est in scores.items():
            out.print(f"  {name}: {est.fmt()}", markup=False)
        # Converse metrics are the scenario's own: no labelled replies exist to check a judge
        # against, so the only measured agreement is between judges scoring the same metric.
        for metric, alpha in result.jury_alpha.items():
            shown = "n/a (too little variation)" if alpha is None else f"{alpha:.2f}"
            out.print(f"  judges' agreement on {metric} (Krippendorff's alpha over runs): "
                      f"{shown}", markup=False)
        out.print("  judges: not calibrated (no reference labels for a scenario's metrics; "
                  "give two judges the same metrics to measure their agreement)"
                  if not result.jury_alpha else "  judges: not calibrated against labels",
                  style="dim", markup=False)
    out.print(f"transcripts in {result.out_dir}" + (f"; plot {result.plot}" if result.plot else ""))


def register(app: typer.Typer) -> None:
    """Add `scai converse` to `app`."""
    app.command()(converse)
