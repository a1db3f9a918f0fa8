"""`scai sweep` and `scai sweep-report`: a thin skin over scai.sweep."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the sweep commands to the `scai` app."""
    from scai.cli_common import SetOpt, err, out

    @app.command()
    def sweep(
        config: Path = typer.Argument(..., help="A `kind: sweep` config file."),
        ray_address: str | None = typer.Option(
            None, "--ray", help="Join this Ray cluster (e.g. 10.0.0.5:6379 or auto); default: "
            "start a local Ray."),
        max_parallel: int | None = typer.Option(
            None, "--max-parallel", min=1, help="Worker processes (default: the file's "
            "`workers`, else one per CPU)."),
        out_dir: Path | None = typer.Option(
            None, "--out", help="Sweep folder (default ./sweeps/NAME); rerun to resume."),
        overrides: list[str] | None = SetOpt,
    ) -> None:
        """Run a grid of experiments (parameters x seeds) on Ray; resumable."""
        from scai.kinds import load_config
        from scai.sweep import run_sweep

        cfg = load_config(config, overrides or [], kind="sweep")
        folder = out_dir or Path("sweeps") / cfg.name
        try:
            s = run_sweep(cfg, folder, ray_address=ray_address, max_parallel=max_parallel,
                          where=str(config))
        except KeyboardInterrupt:
            err.print(f"interrupted; finished runs are kept in {folder} (run the same command "
                      "to resume)")
            raise typer.Exit(130) from None
        ran = len(s.done) + len(s.failed)
        if not ran:
            out.print(f"sweep {cfg.name}: all {s.total} runs already done", markup=False)
        else:
            out.print(f"sweep {cfg.name}: {s.total} runs, {s.already_done} already done, {ran} "
                      f"run now on {s.workers} worker(s) in {s.wall_s:.1f} s: {len(s.done)} "
                      f"finished, {len(s.failed)} failed", markup=False)
        for r in s.failed:
            out.print(f"  failed {r.name} after {r.attempts} attempt(s): {r.error}",
                      markup=False, highlight=False)
        out.print(f"runs in {s.out_dir}/runs; merge them with: scai sweep-report {s.out_dir}",
                  markup=False)
        if s.failed:
            raise typer.Exit(1)

    @app.command("sweep-report")
    def sweep_report(
        folder: Path = typer.Argument(..., help="A sweep folder (holds sweep.json)."),
    ) -> None:
        """Merge a sweep's runs into one table (CSV, Markdown) and plot each metric."""
        from scai.sweep.report import write_report

        rep = write_report(folder)
        out.print(f"{rep.runs} runs ({rep.failed} failed, {rep.missing} not run yet), "
                  f"{len(rep.metrics)} metrics", markup=False)
        out.print(f"table: {rep.csv}\nmarkdown: {rep.markdown}", markup=False)
        for p in rep.plots:
            out.print(f"plot: {p}", markup=False)
