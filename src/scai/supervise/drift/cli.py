"""`scai drift CONFIG`: a thin skin over scai.supervise.drift.run_drift."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import NoCacheOpt, RunsDir, SetOpt, open_store, out, print_table, run_overrides

ROUND_COLUMNS = ["round", "dist. vs 0", "cluster shift vs 0", "separability vs 0",
                 "dist. vs prev", "bench overall"]


def _f(v: float | None, d: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def drift(
    config: Path = typer.Argument(..., help="A `kind: drift` config."),
    out_dir: Path = typer.Option(Path("drift-run"), "--out",
                                 help="Round folders, report.md and drift.png go here; "
                                 "rerun with the same --out to resume."),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="Override `rounds`."),
    seed: int | None = typer.Option(None, "--seed"),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Iterated self-training: train round after round on the model's own data, and
    measure how its behaviour drifts from round 0 and from the previous round."""
    from scai.kinds import load_config
    from scai.supervise.drift.run import run_drift

    extra = run_overrides(overrides, seed)
    if rounds is not None:
        extra.append(f"rounds={rounds}")
    cfg = load_config(config, extra, kind="drift")
    result = run_drift(cfg, out_dir, store=open_store(runs_dir), cache=not no_cache)
    print_table(ROUND_COLUMNS, [
        [str(r.round), _f(r.vs_base.embedding_distance) if r.vs_base else "-",
         _f(r.vs_base.cluster_shift) if r.vs_base else "-",
         _f(r.vs_base.embedding_accuracy, 2) if r.vs_base else "-",
         _f(r.vs_prev.embedding_distance) if r.vs_prev else "-", _f(r.bench.get("overall"), 2)]
        for r in result.rounds])
    last = result.rounds[-1].vs_base
    if last and last.changes:
        c = last.changes[0]
        out.print(f"biggest change by round {result.rounds[-1].round}: "
                  f"{c.name or 'unnamed cluster'} ({c.share_then:.2f} -> {c.share_now:.2f})",
                  markup=False)
    readings = [(f"round {r.round}", r.trait) for r in result.rounds if r.trait is not None]
    if readings:
        base = [("base", result.trait_base)] if result.trait_base else []
        out.print(f"trait {readings[0][1].trait}, share of answers with it: " + ", ".join(
            f"{label} {t.rate.value:.2f}" for label, t in base + readings
            if t.rate.value is not None) + "; seeding's shift kept: " + ", ".join(
            f"{label} {t.retained.value:.2f}" for label, t in readings
            if t.retained and t.retained.value is not None), markup=False)
    out.print(f"report {result.report}" + (f"; plot {result.plot}" if result.plot else ""),
              markup=False)


def register(app: typer.Typer) -> None:
    """Add the `drift` command to the `scai` app."""
    app.command()(drift)
