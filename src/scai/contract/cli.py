"""`scai simulate`, `scai evaluate-constitution` and `scai steerability`: a thin skin over
scai.contract."""

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
    err,
    model_option,
    open_store,
    out,
    out_option,
    print_table,
    print_usage,
    run_overrides,
)


def simulate(
    config: Path = typer.Argument(..., help="A `kind: contract` config file."),
    runs: int = RunsOpt,
    seed: int | None = SeedOpt,
    model: str | None = model_option("Model for every role."),
    out_dir: Path | None = out_option("Where reports and plots go."),
    overrides: list[str] | None = SetOpt,
    resume: str | None = ResumeOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
    no_steer_check: bool = typer.Option(
        False, "--no-steer-check", help="Skip the check that the assistant's offers depend on "
        "its principle (see `scai steerability`)."),
) -> None:
    """Run a Social Contract simulation: users teach the assistant its constitution."""
    from scai.contract import simulate as run_simulation
    from scai.contract.steerability import steer_warning
    from scai.contract.tasks import task_for
    from scai.kinds import load_config

    cfg = load_config(config, run_overrides(overrides, seed, model), kind="contract")
    if not no_steer_check and (warning := steer_warning(cfg, cache=not no_cache)):
        err.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    store = open_store(runs_dir)
    sim = run_simulation(cfg, store, runs=runs, out_dir=out_dir, resume=resume,
                         cache=not no_cache)
    metrics = [k for k in task_for(cfg.task).brief if k in sim.aggregate]
    epochs = len(next(iter(sim.aggregate.values()))) if sim.aggregate else 0
    print_table(["epoch", *metrics], ([str(i), *(sim.aggregate[k][i].fmt() for k in metrics)]
                                      for i in range(epochs)))
    _print_groups(sim)
    for r in sim.runs:
        out.print(f"run {r.run_id}: {r.episodes_run} episodes played, {r.episodes_replayed} "
                  f"replayed, {r.model_calls} model calls, {r.parse_failures} parse failures",
                  markup=False)
    print_usage(store, [r.run_id for r in sim.runs])
    out.print(f"reports in {sim.out_dir} (summary: {sim.summary})", markup=False)
    if sim.plot:
        out.print(f"plot: {sim.plot}", markup=False)
    out.print("[bold]learned constitution[/] (last run):")
    out.print(sim.final.text(), markup=False)
    if sim.final.posterior:  # the bayes learner: the final posterior's top candidates
        from scai.report.posterior import ranked, short

        print_table(["candidate", "probability", "principle"], ([f"c{i}", f"{c.probability:.3f}",
                    short(c.principle, 70)] for i, c in ranked(sim.final.posterior, 5)))
    print_mediation(sim)


def print_mediation(sim) -> None:
    """The mediator learner: each rule's utility (scripted users) and the groups' endorsement."""
    from scai.report.mediation import group_rows, rule_estimates, run_mediations

    per_run = run_mediations(sim.runs)
    if not any(per_run):
        return
    est = rule_estimates(per_run)
    if any(e["mean utility"].mean is not None for e in est.values()):
        print_table(["rule", "mean utility", "min utility"], ([rule, e["mean utility"].fmt(3),
                    e["min utility"].fmt(3)] for rule, e in est.items()),
                    title="every rule on the same rankings (scripted users)")
    print_table(["group", "endorsement of the final text", "rank of the elected candidate"],
                ([r["group"], r["endorsement"].fmt(2), r["winner_rank"].fmt(2)]
                 for r in group_rows(per_run)), title="mediation, per group")

def _print_groups(sim) -> None:
    """Per-group constitutions: each group's last epoch per arm, and the router's accuracy."""
    from scai.report.contract_groups import group_names, groups_table, routing_line

    if not group_names(sim.runs):
        return
    headers, rows = groups_table(sim.runs)
    print_table(headers, rows, title=f"each group, last epoch, {sim.runs[0].groups} "
                "(mean [95% CI] over runs)")
    if line := routing_line(sim.runs):
        out.print(line, markup=False)
    for r in sim.runs:
        shared = f"; shared arm: run {r.baseline.run_id}" if r.baseline else ""
        out.print(f"run {r.run_id}: {Path(r.out_dir) / 'groups.png'}{shared}", markup=False)


def evaluate_constitution(
    run: str = typer.Argument(..., help="A finished contract run (id, prefix or `latest`)."),
    task: Path = typer.Option(..., "--task", help="A `kind: contract` config to test it on."),
    runs: int = typer.Option(1, "--runs", "-n", min=1),
    seed: int | None = typer.Option(None, "--seed"),
    model: str | None = typer.Option(None, "--model", "-m"),
    out_dir: Path | None = typer.Option(None, "--out"),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Test a learned constitution on another task (e.g. unseen currencies): with and
    without the prior, with and without asking for a reason."""
    from scai.contract.evaluate import evaluate_constitution as evaluate
    from scai.kinds import load_config

    cfg = load_config(task, run_overrides(overrides, seed, model), kind="contract")
    result = evaluate(run, cfg, open_store(runs_dir), runs=runs, out_dir=out_dir,
                      cache=not no_cache)
    print_table(["variant", "share offered (flexible)", "acceptance", "parse failures"],
                ([v.name, v.share.fmt(3), v.acceptance.fmt(2), str(v.parse_failures)]
                 for v in result.variants))
    out.print(f"constitution tested: {result.constitution}", markup=False)
    out.print(f"report: {result.summary}", markup=False)


def steerability(
    model: str | None = model_option("The assistant's model (default: the config's)."),
    task: Path | None = typer.Option(
        None, "--task", help="A `kind: contract` ultimatum config (default: the default game)."),
    seeds: int = typer.Option(12, "--seeds", min=2, max=500, help="Offers sampled per principle."),
    amount: int = typer.Option(100, "--amount", min=3, max=1000, help="The amount to split."),
    threshold: float = typer.Option(0.15, "--threshold", min=0.0, max=1.0,
                                    help="Separation (share) the CI must clear."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Does the assistant's model follow its principle? Its ultimatum offers under the selfish,
    fair and altruistic priors, and a verdict (exit 0 either way)."""
    from scai.contract.config import ContractConfig
    from scai.contract.steerability import measure_steerability
    from scai.kinds import load_config

    cfg = load_config(task, run_overrides(None, None, model), kind="contract") if task else \
        ContractConfig(name="steerability", model={"model": model or "local"})
    result = measure_steerability(cfg, seeds=seeds, amount=amount, threshold=threshold,
                                  cache=not no_cache, progress=not as_json)
    if as_json:
        out.print_json(result.model_dump_json())
        return
    print_table(
        ["principle", "mean sampled share [95% CI]", "exact expected share", "P(share < 1/3)",
         "parse failures"],
        ([p.prior, p.mean.fmt(2), _two(p.exact_share), _two(p.p_below_third),
          str(p.parse_failures)] for p in result.principles),
        title=f"{result.model}: {result.seeds} offers of {result.amount} {result.currency} "
              "per principle")
    out.print(result.verdict, markup=False, highlight=False)


def _two(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def register(app: typer.Typer) -> None:
    """Add these commands to the `scai` app."""
    app.command()(simulate)
    app.command("evaluate-constitution")(evaluate_constitution)
    app.command()(steerability)
