"""`scai drift CONFIG`: a thin skin over scai.supervise.drift.run_drift."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `drift` command to the `scai` app."""
    from scai.cli_common import RunsDir, SetOpt, open_store, out, run_overrides

    @app.command()
    def drift(
        config: Path = typer.Argument(..., help="A `kind: drift` config."),
        out_dir: Path = typer.Option(Path("drift-run"), "--out",
                                     help="Round folders, report.md and drift.png go here; "
                                     "rerun with the same --out to resume."),
        rounds: int | None = typer.Option(None, "--rounds", min=1, help="Override `rounds`."),
        seed: int | None = typer.Option(None, "--seed"),
        overrides: list[str] | None = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache"),
        runs_dir: Path | None = RunsDir,
    ) -> None:
        """Iterated self-training: train round after round on the model's own data, and
        measure how its behaviour drifts from round 0 and from the previous round."""
        from rich.table import Table

        from scai.kinds import load_config
        from scai.supervise.drift.run import run_drift

        extra = run_overrides(overrides, seed)
        if rounds is not None:
            extra.append(f"rounds={rounds}")
        cfg = load_config(config, extra, kind="drift")
        result = run_drift(cfg, out_dir, store=open_store(runs_dir), cache=not no_cache)

        def f(v, d=3):
            return "n/a" if v is None else f"{v:.{d}f}"

        table = Table("round", "dist. vs 0", "cluster shift vs 0", "separability vs 0",
                      "dist. vs prev", "bench overall")
        for r in result.rounds:
            b, p = r.vs_base, r.vs_prev
            table.add_row(str(r.round), f(b.embedding_distance) if b else "-",
                          f(b.cluster_shift) if b else "-",
                          f(b.embedding_accuracy, 2) if b else "-",
                          f(p.embedding_distance) if p else "-", f(r.bench.get("overall"), 2))
        out.print(table)
        last = result.rounds[-1].vs_base
        if last and last.changes:
            c = last.changes[0]
            out.print(f"biggest change by round {result.rounds[-1].round}: "
                      f"{c.name or 'unnamed cluster'} ({c.share_then:.2f} -> {c.share_now:.2f})",
                      markup=False)
        out.print(f"report {result.report}" + (f"; plot {result.plot}" if result.plot else ""),
                  markup=False)
