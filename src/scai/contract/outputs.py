"""The files a simulation leaves: per run constitutions.md/json and metrics.json (and, for a
society with several groups, groups.json and groups.png); per invocation aggregate.json,
summary.md and offered_share.png. The Markdown and the PNGs take the one report
path: scai.report.contract builds the pages, scai.report.export writes them."""

from __future__ import annotations

import json
from pathlib import Path

from scai.contract.config import ContractConfig
from scai.contract.result import RunResult, SimulationResult, aggregate
from scai.contract.tasks import task_for
from scai.report.blocks import Page
from scai.report.contract import constitutions_page, summary_page
from scai.report.contract_groups import group_names, groups_blocks, groups_figure, slot_blocks
from scai.report.export import write_files
from scai.report.mediation import aggregate_fields, mediation_section, run_mediations


def write_run(config: ContractConfig, result: RunResult, out: Path) -> None:
    """One folder per run: its constitutions (Markdown and JSON) and its metrics per epoch."""
    out.mkdir(parents=True, exist_ok=True)
    cons = [r.constitution.model_dump() for r in result.epochs]
    (out / "constitutions.json").write_text(json.dumps(cons, indent=2), encoding="utf-8")
    page = constitutions_page(config.name, result)
    page.blocks += slot_blocks(result, config.name)
    write_files(page, out, markdown="constitutions.md")
    (out / "metrics.json").write_text(json.dumps(
        [{"epoch": r.epoch, **r.metrics} for r in result.epochs], indent=2), encoding="utf-8")
    if group_names([result]):
        write_groups(result, out, config.name)


def write_groups(result: RunResult, out: Path, name: str) -> None:
    """groups.json (each epoch's routing, slots' constitutions and per-group metrics, the
    shared arm's beside) and groups.png."""
    def epochs(r: RunResult) -> list[dict]:
        return [{"epoch": e.epoch, "route": e.route.model_dump() if e.route else None,
                 "constitutions": {s: c.text() for s, c in (e.groups or {}).items()},
                 "metrics": {k: v for k, v in e.metrics.items()
                             if k.startswith("group_") or k == "routing_accuracy"}}
                for e in r.epochs]

    (out / "groups.json").write_text(json.dumps({
        "run_id": result.run_id, "seed": result.seed, "groups": result.groups,
        "epochs": epochs(result),
        "shared": {"run_id": result.baseline.run_id, "epochs": epochs(result.baseline)}
        if result.baseline else None}, indent=2), encoding="utf-8")
    write_files(Page(title=name, subtitle="", blocks=[groups_figure([result], name)]), out,
                markdown=None)


def write_aggregate(config: ContractConfig, sim: SimulationResult, out: Path) -> None:
    """aggregate.json (estimates over runs), summary.md and the game's summary plot."""
    out.mkdir(parents=True, exist_ok=True)
    sim.aggregate = aggregate(sim.runs)
    (out / "aggregate.json").write_text(json.dumps({
        "name": sim.name, "runs": [r.run_id for r in sim.runs],
        "aggregate": {k: [e.model_dump() for e in v] for k, v in sim.aggregate.items()},
        "final_constitutions": [r.final.model_dump() for r in sim.runs],
        **aggregate_fields(sim.runs),
    }, indent=2), encoding="utf-8")
    task = task_for(config.task)
    page = summary_page(config, sim, task)
    page.blocks += mediation_section(run_mediations(sim.runs), sim.name)
    page.blocks += groups_blocks(sim)
    files = write_files(page, out, markdown="summary.md")
    sim.summary = str(files[0])
    plot = out / f"{task.summary_plot}.png" if task.summary_plot else None
    sim.plot = str(plot) if plot is not None and plot in files else None
