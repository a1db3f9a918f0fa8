"""A Social Contract run (`kind: contract`): constitutions epoch by epoch with diffs and the
meta-learner's rationale, metric curves with 95% CI over the seeds of one invocation, episodes."""

from __future__ import annotations

import difflib
from typing import Any

from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.report.blocks import Block, Code, Figure, Heading, Markdown, Notice, Section, Table, Tabs
from scai.report.figures import curves
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate, mean_ci

MAX_EPISODES = 60  # per epoch, in the browser

# (figure title, y label, {series label: metric}, values are shares in [0, 1])
ULTIMATUM_PANELS = [
    ("offered share", "share offered to the responder",
     {"assistant (flexible)": "share_flexible", "users (fixed)": "share_fixed"}, True),
    ("acceptance", "share of offers accepted", {"acceptance": "acceptance"}, True),
    ("income", "share of the amount kept",
     {"assistant (flexible)": "income_flexible", "users (fixed)": "income_fixed"}, True),
]


def epoch_metrics(data: RunData) -> list[dict[str, float | None]]:
    """Metrics per epoch of one run, in epoch order (epochs not reached are left out)."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for e in data.of("epoch"):
        if isinstance(e.payload.get("epoch"), int) and isinstance(e.payload.get("metrics"), dict):
            by_epoch[e.payload["epoch"]] = e.payload["metrics"]
    return [by_epoch[k] for k in sorted(by_epoch)]


def over_runs(per_run: list[list[dict[str, Any]]], metric: str) -> list[Estimate]:
    """Mean and 95% CI of one metric over runs, epoch by epoch."""
    n = max((len(r) for r in per_run), default=0)
    return [mean_ci([r[i].get(metric) for r in per_run if i < len(r)
                     and isinstance(r[i].get(metric), (int, float))]) for i in range(n)]


def metric_figures(per_run: list[list[dict[str, Any]]], name: str) -> list[Block]:
    """The curves: ultimatum shares, acceptance and incomes, or utilities per persona."""
    keys = {k for r in per_run for m in r for k in m}
    n = len(per_run)
    how = f"mean and 95% CI over {n} runs" if n > 1 else "one run"
    out: list[Block] = []
    if "share_flexible" in keys or "share_fixed" in keys:
        for title, ylabel, series, unit in ULTIMATUM_PANELS:
            est = {label: over_runs(per_run, m) for label, m in series.items() if m in keys}
            if est:
                out.append(Figure(curves(est, title=f"{name}: {title} ({how})", ylabel=ylabel,
                                         unit_range=unit), name=title.replace(" ", "_")))
    utilities = [k for k in ("utility_mean", "utility_min") if k in keys]
    if utilities:
        est = {k.replace("utility_", ""): over_runs(per_run, k) for k in utilities}
        out.append(Figure(curves(est, title=f"{name}: utility ({how})", ylabel="rating"),
                          name="utility"))
    personas = sorted(k for k in keys if k.startswith("persona:"))
    if personas:
        est = {k.split(":", 1)[1]: over_runs(per_run, k) for k in personas}
        out.append(Figure(curves(est, title=f"{name}: utility per persona ({how})",
                                 ylabel="mean rating"), name="utility_per_persona"))
    return out


def constitution_blocks(data: RunData, metrics: list[dict[str, Any]]) -> list[Block]:
    """Each epoch's constitution, the rationale behind it and its diff to the previous one."""
    cons: dict[int, Constitution] = {}
    bad = 0
    for e in data.of("constitution"):
        try:
            c = Constitution.model_validate(e.payload)
        except ValueError:
            bad += 1
            continue
        epoch = int(e.key[1:]) if e.key and e.key[1:].isdigit() else c.epoch
        cons[epoch] = c
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
    return out


def episode_blocks(data: RunData) -> list[Block]:
    """Episodes grouped by epoch, each folded: who said what, and the outcome."""
    by_epoch: dict[int, list[Episode]] = {}
    bad = 0
    for e in data.of("episode"):
        try:
            ep = Episode.model_validate(e.payload)
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
        blocks: list[Block] = []
        for ep in eps[:MAX_EPISODES]:
            lines = [f"**{m.speaker}** ({m.role}): {m.text}" for m in ep.messages]
            inner: list[Block] = [Markdown("\n\n".join(lines) or "(no messages)")]
            if ep.failures:
                inner.append(Notice("Parse failures: " + ", ".join(ep.failures), "warning"))
            outcome = {k: v for k, v in ep.data.items() if not isinstance(v, (dict, list))}
            if outcome:
                inner.append(Table(list(outcome), [list(outcome.values())]))
            blocks.append(Section(f"{ep.id}: {_headline(ep)}", inner))
        if len(eps) > MAX_EPISODES:
            blocks.append(Notice(f"{len(eps) - MAX_EPISODES} more episodes in this epoch are "
                                 "not shown (see `scai runs export`).", "info"))
        tabs.append((f"epoch {epoch} ({len(eps)})", blocks))
    return [*out, Tabs(tabs)]


def _headline(ep: Episode) -> str:
    d = ep.data
    if "offer" in d and isinstance(d.get("proposer"), dict):
        dec = d.get("decision") or "no decision"
        return (f"{d['proposer'].get('name', '?')} offers {d.get('offer')} of {d.get('amount')} "
                f"{d.get('currency', '')} → {dec}")
    if "rating" in d:
        return f"{d.get('persona', '?')} rated {d.get('rating')}"
    return ep.task


def contract_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The Social Contract page body."""
    info = data.info
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
        out += metric_figures(per_run, info.name or "contract")
        keys = [k for k in metrics[0] if any(isinstance(m.get(k), (int, float)) for m in metrics)] \
            if metrics else []
        if metrics:
            out.append(Table(["epoch", *keys], [[i, *[_num(m.get(k)) for k in keys]]
                                                for i, m in enumerate(metrics)],
                             caption="this run, per epoch"))
    else:
        out.append(Notice("No epoch has finished yet: no metrics to plot.", "warning"))
    out += [Heading("Constitution by epoch"), *constitution_blocks(data, metrics),
            Heading("Episodes"), *episode_blocks(data)]
    return out


def _num(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v
