"""Per-group constitutions in a report: each user group's share, gap and utility under its own
constitution beside the shared-constitution arm, the router's accuracy, and `groups.png` (the
share offered to each group per epoch, per-group solid, shared dashed, the group's norm dotted).

Read from a simulation's result (summary.md, the command line); the dashboard draws the same
metrics through the ultimatum game's `group_share:` and `group_gap:` panels.
"""

from __future__ import annotations

from scai.contract.result import RunResult, SimulationResult
from scai.report.blocks import Block, Figure, Heading, Markdown, Table
from scai.report.figures import COLOURS, pyplot
from scai.report.posterior import posterior_figure, posterior_table
from scai.stats import Estimate, mean_ci

FINAL = (("norm", "group_norm"), ("share", "group_share"), ("gap", "group_gap"),
         ("utility", "group_utility"))


def group_names(runs: list[RunResult]) -> list[str]:
    """The true groups named in the runs' metrics."""
    return sorted({k.split(":", 1)[1] for r in runs for e in r.epochs for k in e.metrics
                   if k.startswith("group_share:")})


def per_epoch(runs: list[RunResult], metric: str) -> list[Estimate]:
    """Mean and 95% CI over runs of one metric, epoch by epoch."""
    n = max((len(r.epochs) for r in runs), default=0)
    return [mean_ci([r.epochs[i].metrics.get(metric) for r in runs if i < len(r.epochs)
                     and r.epochs[i].metrics.get(metric) is not None]) for i in range(n)]


def final(runs: list[RunResult], metric: str, group: str) -> Estimate:
    """Mean and 95% CI over runs of `metric:group` in each run's last epoch where the assistant
    offered to the group (so a row's norm, share and gap come from one epoch)."""
    last = []
    for r in runs:
        offered = [e for e in r.epochs if e.metrics.get(f"group_share:{group}") is not None]
        if offered and offered[-1].metrics.get(f"{metric}:{group}") is not None:
            last.append(offered[-1].metrics[f"{metric}:{group}"])
    return mean_ci(last)


def groups_table(runs: list[RunResult]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: per group, the last offered-to epoch's norm, share, gap and utility of
    the runs' own arm (`RunResult.groups`), then the shared arm's (`shared: ...`) where it ran."""
    shared = [r.baseline for r in runs if r.baseline is not None]
    headers = ["group", *(label for label, _ in FINAL)]
    if shared:
        headers += [f"shared: {label}" for label, _ in FINAL[1:]]
    rows = []
    for g in group_names(runs):
        row = [g, *(final(runs, m, g).fmt(2) for _, m in FINAL)]
        if shared:
            row += [final(shared, m, g).fmt(2) for _, m in FINAL[1:]]
        rows.append(row)
    return headers, rows


def routing_line(runs: list[RunResult]) -> str | None:
    """The router's accuracy per epoch over runs, or None for runs without routing."""
    acc = per_epoch(runs, "routing_accuracy")
    if not any(e.mean is not None for e in acc):
        return None
    return "routing accuracy by epoch: " + ", ".join(f"e{i} {e.fmt(2)}" for i, e in enumerate(acc))


def groups_figure(runs: list[RunResult], name: str) -> Figure:
    """The share offered to each group per epoch: per-group arm solid, shared arm dashed, the
    group's own offers (its norm) dotted; mean over runs with 95% CI bands where there are some."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    shared = [r.baseline for r in runs if r.baseline is not None]
    arm = runs[0].groups if runs else "per_group"
    for i, g in enumerate(group_names(runs)):
        colour = COLOURS[i % len(COLOURS)]
        for which, style, label in ((runs, "o-", f"{g}: {arm}"), (shared, "s--", f"{g}: shared"),
                                    (runs, ":", f"{g}: the group's own offers")):
            metric = "group_norm" if style == ":" else "group_share"
            ests = per_epoch(which, f"{metric}:{g}") if which else []
            xs = [x for x, e in enumerate(ests) if e.mean is not None]
            if not xs:
                continue
            ax.plot(xs, [ests[x].mean for x in xs], style, color=colour, label=label, ms=4,
                    alpha=0.7 if style == ":" else 1.0)
            band = [x for x in xs if ests[x].ci_low is not None]
            if band and style != ":":
                ax.fill_between(band, [max(0.0, ests[x].ci_low) for x in band],
                                [min(1.0, ests[x].ci_high) for x in band], color=colour,
                                alpha=0.12, lw=0)
    n = max((len(r.epochs) for r in runs), default=1)
    ax.set_xticks(range(n))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share offered to the group's users")
    how = f"mean over {len(runs)} runs" if len(runs) > 1 else "one run"
    ax.set_title(f"{name}: share offered to each group ({how})", fontsize=9)
    if ax.lines:
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return Figure(fig, name="groups", caption="share offered to each group, per-group vs shared")


def groups_blocks(sim: SimulationResult) -> list[Block]:
    """summary.md's per-group section (empty for a run without per-group metrics)."""
    runs = sim.runs
    if not group_names(runs):
        return []
    headers, rows = groups_table(runs)
    blocks: list[Block] = [Heading("Per-group constitutions"), Markdown(
        f"Each group in the last epoch the assistant offered to it, under `{runs[0].groups}`: its users' own mean offered share "
        "(norm), the share the assistant offered them, the gap between the two and their "
        "payoff share in games with the assistant (utility); `shared:` the same seed with one "
        "shared constitution. Mean [95% CI] over runs.")]
    blocks.append(Table(headers, rows))
    line = routing_line(runs)
    if line:
        blocks.append(Markdown(line))
    finals = [r for r in runs if r.epochs and r.epochs[-1].groups]
    if finals:
        blocks.append(Markdown("\n".join(
            f"- seed {r.seed}, {slot}: {c.text()}" for r in finals
            for slot, c in (r.epochs[-1].groups or {}).items())))
    blocks.append(groups_figure(runs, sim.name))
    return blocks


def slot_blocks(result: RunResult, name: str) -> list[Block]:
    """constitutions.md's per-group part: each slot's constitution by epoch, with the learner's
    rationale, its posterior (bayes) and `posterior-SLOT.png`."""
    slots = sorted({s for e in result.epochs for s in (e.groups or {})})
    blocks: list[Block] = []
    for slot in slots:
        cons = [e.groups[slot] for e in result.epochs if e.groups and slot in e.groups]
        blocks.append(Heading(f"Group slot {slot}"))
        for e, c in zip((e for e in result.epochs if e.groups and slot in e.groups), cons):
            blocks.append(Markdown(f"**Epoch {e.epoch} ({c.source}):** {c.text()}"))
            if c.rationale:
                blocks.append(Markdown(f"*Rationale:* {c.rationale}"))
            if c.posterior:
                blocks.append(posterior_table(c, 5))
        figure = posterior_figure([c.model_copy(update={"epoch": i}) for i, c in
                                   enumerate(cons)], f"{name} · {slot}")
        if figure is not None:
            figure.name = f"posterior-{slot}"
            blocks.append(figure)
    return blocks
