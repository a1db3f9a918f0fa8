"""A Social Contract run (`kind: contract`): constitutions epoch by epoch with diffs and the
meta-learner's rationale, metric curves with 95% CI over the seeds of one invocation, episodes.

Two entry points over the same blocks: `contract_blocks` (the dashboard and `scai report`, from
the store) and `summary_page` (summary.md and offered_share.png, from a simulation's result).
What a game shows (its curves, its table columns, an episode's headline) is declared by its
`Task` in scai.contract.tasks; nothing here names a game's metrics.
"""

from __future__ import annotations

import difflib
from typing import Any

from scai.contract.constitution import Constitution, constitution_epoch
from scai.contract.episode import Episode
from scai.contract.mediator_record import mediation_of
from scai.contract.paper import paper_curves
from scai.contract.result import Evaluation, RunResult, SimulationResult
from scai.contract.tasks import TASKS, Panel, Task
from scai.report.blocks import (
    Block,
    Code,
    Figure,
    Heading,
    Markdown,
    Notice,
    Page,
    Section,
    Table,
    Tabs,
)
from scai.report.figures import curve_data, curves
from scai.report.mediation import candidate_table, mediation_section, stored_mediations
from scai.report.posterior import posterior_blocks, ranked, short
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate, mean_ci

MAX_EPISODES = 60  # per epoch, in the browser
Metrics = list[dict[str, Any]]  # one run: metrics per epoch


def task_of(config: dict[str, Any]) -> type[Task] | None:
    """The game a stored config plays (None: a game this installation does not know)."""
    task = config.get("task")
    kind = task.get("type", "ultimatum") if isinstance(task, dict) else "ultimatum"
    return TASKS.get(kind)


def epoch_metrics(data: RunData) -> Metrics:
    """Metrics per epoch of one run, in epoch order (epochs not reached are left out)."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for e in data.of("epoch"):
        if isinstance(e.payload.get("epoch"), int) and isinstance(e.payload.get("metrics"), dict):
            by_epoch[e.payload["epoch"]] = e.payload["metrics"]
    return [by_epoch[k] for k in sorted(by_epoch)]


def over_runs(per_run: list[Metrics], metric: str) -> list[Estimate]:
    """Mean and 95% CI of one metric over runs, epoch by epoch."""
    n = max((len(r) for r in per_run), default=0)
    return [mean_ci([r[i].get(metric) for r in per_run if i < len(r)
                     and isinstance(r[i].get(metric), (int, float))]) for i in range(n)]


def panel_figure(panel: Panel, per_run: list[Metrics], name: str,
                 extra: dict[str, list[Estimate]] | None = None) -> Figure | None:
    """One of a game's panels as a figure, or None when none of its metrics was recorded."""
    keys = {k for r in per_run for m in r for k in m}
    series = {label: m for label, m in panel.series.items() if m in keys}
    if panel.prefix:
        series.update({k[len(panel.prefix):]: k for k in sorted(keys)
                       if k.startswith(panel.prefix) and not k.endswith(BAND_ENDS)})
    right = {label: m for label, m in panel.right.items() if m in keys}
    if not series and not right:
        return None
    n = len(per_run)
    banded = n == 1 and any(f"{m}:ci_low" in keys for m in [*series.values(), *right.values()])
    how = f"mean and 95% CI over {n} runs" if n > 1 else \
        "one run, 95% CI within it" if banded else "one run"

    def estimate(m: str, unit: bool) -> list[Estimate]:
        found = over_runs(per_run, m) if n > 1 else within_run(per_run[0], m)
        # a share's band over 2 or 3 runs can reach past 0 or 1: cut it to what it can be
        return [e.within(0.0, 1.0) for e in found] if unit else found

    est = {label: estimate(m, panel.unit_range) for label, m in series.items()}
    est.update(extra or {})
    right_est = {label: estimate(m, True) for label, m in right.items()}
    return Figure(curves(est, title=f"{name}: {panel.title} ({how})", ylabel=panel.ylabel,
                         unit_range=panel.unit_range, right=right_est,
                         right_ylabel=panel.right_ylabel), name=panel.name, caption=panel.title,
                  data=curve_data(est, ylabel=panel.ylabel, panel=panel.title, right=right_est,
                                  right_ylabel=panel.right_ylabel))


BAND_ENDS = (":ci_low", ":ci_high")


def within_run(metrics: Metrics, metric: str) -> list[Estimate]:
    """One run's metric epoch by epoch, with the band it records itself (`metric:ci_low`,
    `metric:ci_high`, e.g. over personas and episodes) where it does."""
    out = []
    for m in metrics:
        v, lo, hi = (m.get(k) for k in (metric, f"{metric}:ci_low", f"{metric}:ci_high"))
        num = isinstance(v, (int, float))
        band = num and isinstance(lo, (int, float)) and isinstance(hi, (int, float))
        out.append(Estimate(n=1 if num else 0, mean=v if num else None, sem=None,
                            ci_low=lo if band else None, ci_high=hi if band else None))
    return out


def metric_figures(per_run: list[Metrics], name: str, task: type[Task] | None) -> list[Block]:
    """The game's curves, one figure per panel it declares."""
    figures = [panel_figure(p, per_run, name) for p in (task.panels if task else ())]
    return [f for f in figures if f is not None]


def constitution_blocks(data: RunData, metrics: Metrics) -> list[Block]:
    """Each epoch's constitution, the rationale behind it and its diff to the previous one."""
    cons: dict[int, Constitution] = {}
    bad = 0
    for e in data.of("constitution"):
        try:
            c = Constitution.model_validate(e.payload)
        except ValueError:
            bad += 1
            continue
        epoch = constitution_epoch(e.key)
        cons[c.epoch if epoch is None else epoch] = c
    out: list[Block] = []
    if bad:
        out.append(Notice(f"{bad} constitution record(s) do not have the expected fields and "
                          "are left out.", "error"))
    if not cons:
        return [*out, Notice("No constitution recorded yet.", "warning")]
    previous: Constitution | None = None
    for epoch in sorted(cons):
        c = cons[epoch]
        out.append(Heading(f"Epoch {epoch} · {c.source}", 3))
        out.append(Markdown("\n".join(f"> {line}" for line in c.text().splitlines())))
        if c.rationale:
            out.append(Markdown(f"*Meta-learner's rationale:* {c.rationale}"))
        if epoch < len(metrics):
            shown = {k: v for k, v in metrics[epoch].items() if isinstance(v, (int, float))}
            out.append(Markdown("Metrics under it: " + ", ".join(
                f"{k} {v:.3g}" for k, v in shown.items())))
        if previous is not None:
            diff = "\n".join(difflib.unified_diff(
                previous.text().splitlines(), c.text().splitlines(), "previous", f"epoch {epoch}",
                lineterm=""))
            out.append(Section(f"Diff to the previous constitution (epoch {epoch})",
                               [Code(diff or "(unchanged)", "diff")]))
        previous = c
    post = posterior_blocks([cons[k].model_copy(update={"epoch": k}) for k in sorted(cons)],
                            data.info.name or "contract")
    if post:
        out += [Heading("Posterior over candidate principles (bayes learner)", 3), *post]
    return out


def _episode_section(ep: Episode, task: type[Task] | None) -> Section:
    lines = [f"**{m.speaker}** ({m.role}): {m.text}" for m in ep.messages]
    inner: list[Block] = [Markdown("\n\n".join(lines) or "(no messages)")]
    if ep.failures:
        inner.append(Notice("Parse failures: " + ", ".join(ep.failures), "warning"))
    data = ep.data if isinstance(ep.data, dict) else ep.data.model_dump()
    outcome = {k: v for k, v in data.items() if v is not None and not isinstance(v, (dict, list))}
    if outcome:
        inner.append(Table(list(outcome), [list(outcome.values())]))
    return Section(f"{ep.id}: {task.headline(ep) if task else ep.task}", inner)


def episode_blocks(data: RunData, task: type[Task] | None) -> list[Block]:
    """Episodes grouped by epoch, each folded: who said what, and the outcome."""
    by_epoch: dict[int, list[Episode]] = {}
    bad = 0
    for e in data.of("episode"):
        try:
            ep = task.episode(e.payload) if task else Episode.model_validate(e.payload)
        except ValueError:
            bad += 1
            continue
        by_epoch.setdefault(ep.epoch, []).append(ep)
    out: list[Block] = []
    if bad:
        out.append(Notice(f"{bad} episode record(s) could not be read and are left out.", "error"))
    if not by_epoch:
        return [*out, Notice("No episodes recorded yet.", "info")]
    tabs = []
    for epoch in sorted(by_epoch):
        eps = sorted(by_epoch[epoch], key=lambda x: x.id)
        blocks: list[Block] = [_episode_section(ep, task) for ep in eps[:MAX_EPISODES]]
        if len(eps) > MAX_EPISODES:
            blocks.append(Notice(f"{len(eps) - MAX_EPISODES} more episodes in this epoch are "
                                 "not shown (see `scai runs export`).", "info"))
        tabs.append((f"epoch {epoch} ({len(eps)})", blocks))
    return [*out, Tabs(tabs)]


def contract_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The Social Contract page body."""
    info = data.info
    task = task_of(info.config)
    siblings = reader.siblings(info)
    per_run = [epoch_metrics(data if s.id == info.id else reader.load(s.id)) for s in siblings]
    per_run = [r for r in per_run if r]
    metrics = epoch_metrics(data)
    out: list[Block] = [Heading("Metrics")]
    if len(siblings) > 1:
        seeds = ", ".join(f"{s.id} (seed {s.config.get('seed', '?')})" for s in siblings)
        out.append(Markdown(f"This run is one of {len(siblings)} runs of the same invocation: "
                            f"{seeds}. Curves show their mean and 95% CI."))
    if per_run:
        out += metric_figures(per_run, info.name or "contract", task)
        keys = [k for k in metrics[0] if any(isinstance(m.get(k), (int, float)) for m in metrics)] \
            if metrics else []
        if metrics:
            out.append(Table(["epoch", *keys], [[i, *[_num(m.get(k)) for k in keys]]
                                                for i, m in enumerate(metrics)],
                             caption="this run, per epoch"))
    else:
        out.append(Notice("No epoch has finished yet: no metrics to plot.", "warning"))
    out += mediation_section(stored_mediations(
        [data if s.id == info.id else reader.load(s.id) for s in siblings]), info.name or "contract")
    out += [Heading("Constitution by epoch"), *constitution_blocks(data, metrics),
            Heading("Episodes"), *episode_blocks(data, task)]
    return out


def _num(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def _paper_blocks(sim: SimulationResult, task: type[Task]) -> list[Block]:
    ref = paper_curves().get(sim.paper_reference or "")
    if not ref or task.paper_metric is None:
        return []
    metric, label = task.paper_metric
    pts = ", ".join(f"epoch {k}: {v:.3f}" for k, v in sorted(ref["flexible"].items()))
    mine = ", ".join(f"epoch {i}: {e.fmt(3)}" for i, e in enumerate(sim.aggregate.get(metric) or []))
    ood = (f"; unseen currencies {ref['ood'][0]:.3f}-{ref['ood'][1]:.3f}" if "ood" in ref else "")
    return [Heading(f"Beside the paper ({sim.paper_reference})"), Markdown("\n".join([
        f"- Paper (GPT-4, temperature 0; {ref['note']}): {pts}{ood}",
        f"- This run, {label}: {mine}"])), Markdown(
        "Only the points stated in the paper's figure data are listed; none is interpolated. "
        "A 135M model is not GPT-4: compare directions, not levels.")]


def _paper_series(sim: SimulationResult, epochs: int) -> dict[str, list[Estimate]]:
    """The paper's points as a curve without a band, epochs it does not state left empty."""
    ref = paper_curves().get(sim.paper_reference or "")
    if not ref:
        return {}
    points = {int(k): float(v) for k, v in ref["flexible"].items()}
    none = Estimate(n=0, mean=None, sem=None, ci_low=None, ci_high=None)
    return {f"paper (GPT-4): {sim.paper_reference}": [
        Estimate(n=1, mean=points[i], sem=None, ci_low=None, ci_high=None) if i in points
        else none for i in range(max(epochs, 1 + max(points, default=0)))]}


def summary_page(config: Any, sim: SimulationResult, task: type[Task]) -> Page:
    """summary.md of one invocation: the metric table over runs, the paper, the constitutions
    learned, and the game's summary plot (`offered_share` for the ultimatum game)."""
    agg = sim.aggregate
    keys = [k for k in task.shown if k in agg]
    blocks: list[Block] = [Markdown(config.description.strip())] if config.description.strip() \
        else []
    blocks.append(Markdown(
        f"{len(sim.runs)} run(s), {config.epochs} epochs, model `{config.model.model}`, "
        f"learner `{config.learner.type}`, memory `{config.memory.mode}`."))
    blocks.append(Table(["epoch", *keys], [[i, *(agg[k][i].fmt() for k in keys)]
                                          for i in range(config.epochs)]))
    blocks += _paper_blocks(sim, task)
    blocks += [Heading("Learned constitutions (last epoch of each run)"), Markdown("\n".join(
        f"- seed {r.seed} (prior {r.prior}): {r.final.text()}" for r in sim.runs))]
    post = [r for r in sim.runs if r.final.posterior]
    if post:
        blocks += [Heading("Final posterior (bayes learner; top candidates of each run)"),
                   Markdown("\n".join(f"- seed {r.seed}: " + "; ".join(
                       f"c{i} {short(c.principle)!r} p={c.probability:.2f}"
                       for i, c in ranked(r.final.posterior or [], 3)) for r in post))]
    panel = next((p for p in task.panels if p.name == task.summary_plot), None)
    if panel is not None:
        per_run = [[e.metrics for e in r.epochs] for r in sim.runs]
        figure = panel_figure(panel, per_run, sim.name, _paper_series(sim, config.epochs))
        if figure is not None:
            blocks.append(figure)
    return Page(title=config.name, subtitle="", blocks=blocks)


def constitutions_page(name: str, result: RunResult) -> Page:
    """constitutions.md of one run: each epoch's constitution, its rationale and its metrics."""
    blocks: list[Block] = [Markdown(f"Prior: {result.prior}.")] if result.prior != "given" else []
    for r in result.epochs:
        c = r.constitution
        blocks += [Heading(f"Epoch {r.epoch} ({c.source})"), Markdown(c.text())]
        if c.rationale:
            blocks.append(Markdown(f"*Rationale:* {c.rationale}"))
        shown = {k: round(v, 3) for k, v in r.metrics.items() if v is not None}
        blocks.append(Markdown("Metrics: " + ", ".join(f"{k} {v}" for k, v in shown.items())))
        if (med := mediation_of(c)) is not None:
            blocks.append(candidate_table(med))
    post = posterior_blocks([r.constitution for r in result.epochs], name)
    if post:
        blocks += [Heading("Posterior over candidate principles (bayes learner)"), *post]
    return Page(title=f"Constitutions of {name}, run {result.run_id} (seed {result.seed})",
                subtitle="", blocks=blocks)


def evaluation_page(ev: Evaluation, task_line: str) -> Page:
    """summary.md of `evaluate-constitution`: the constitution tested and each variant's result."""
    rows = [[v.name, v.share.fmt(3), v.acceptance.fmt(2), v.parse_failures] for v in ev.variants]
    return Page(title=f"Constitution from {ev.source_run} on {ev.task}", subtitle="", blocks=[
        Markdown(f"> {ev.constitution}"), Markdown(task_line),
        Table(["variant", "share offered (flexible)", "acceptance", "parse failures"], rows),
        Markdown("Paper (GPT-4): learned selfish principle 0.025-0.036 in distribution, "
                 "0.570-0.663 on unseen currencies (falls back toward the altruistic prior).")])
