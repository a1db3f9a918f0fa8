"""A seeded trait across a drift run's rounds (`trait:`; scai.supervise.drift.trait): the table
and the figure (drift_trait.png) of its rate in the answers and its retained shift."""

from __future__ import annotations

from scai.report.blocks import Block, Figure, Heading, Markdown, Table
from scai.report.figures import pyplot
from scai.supervise.drift.result import DriftResult
from scai.supervise.drift.trait import Interval, TraitReading


def _ci(i: Interval | None, d: int = 2) -> str:
    if i is None or i.value is None:
        return "-"
    if i.low is None or i.high is None:
        return f"{i.value:.{d}f}"
    return f"{i.value:.{d}f} [{i.low:.{d}f}, {i.high:.{d}f}]"


def readings(result: DriftResult) -> list[tuple[str, TraitReading]]:
    """(label, reading): the base before seeding, then every round that read the trait."""
    out = [("base (before seeding)", result.trait_base)] if result.trait_base else []
    return out + [(f"round {r.round}" + (" (seeded)" if r.round == 0 else ""), r.trait)
                  for r in result.rounds if r.trait is not None]


def trait_figure(result: DriftResult):
    """Left: the share of answers with a marker per round (Wilson 95% bars), the base model's
    dashed. Right: the retained share of the seeding's hidden-state shift per round (bootstrap
    95% bars); 1 = as seeded, 0 = back at the base model."""
    rows = [(r.round, r.trait) for r in result.rounds if r.trait is not None]
    if not rows:
        return None
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(10, 3.8))
    xs = [k for k, _ in rows]
    for ax, get, title, ylabel in (
            (left, lambda t: t.rate, "trait in the answers", "share of answers with a marker"),
            (right, lambda t: t.retained, "trait in the hidden states",
             "share of the seeding's shift kept")):
        vals = [get(t) for _, t in rows]
        ys = [v.value if v and v.value is not None else float("nan") for v in vals]
        err = [[y - (v.low if v and v.low is not None else y) for y, v in zip(ys, vals)],
               [(v.high if v and v.high is not None else y) - y for y, v in zip(ys, vals)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=result.method)
        ax.set(title=title, xlabel="round (0: seeded)", ylabel=ylabel, xticks=xs)
    base = result.trait_base
    if base is not None and base.rate.value is not None:
        left.axhline(base.rate.value, ls="--", c="grey", label="base, before seeding")
    right.axhline(0, ls="--", c="grey", label="base, before seeding")
    right.axhline(1, ls=":", c="grey")
    left.set_ylim(-0.02, 1.02)
    for ax in (left, right):
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def trait_blocks(result: DriftResult) -> list[Block]:
    """The trait's section of the drift report (nothing without `trait:`)."""
    rows = readings(result)
    if not rows:
        return []
    name = rows[0][1].trait
    table = Table(["model", "answers with a marker", "share [Wilson 95%]",
                   "seeding's shift kept [95%]"],
                  [[label, f"{t.with_marker}/{t.answers}", _ci(t.rate), _ci(t.retained)]
                   for label, t in rows])
    blocks: list[Block] = [Heading(f"Trait: {name}")]
    fig = trait_figure(result)
    if fig is not None:
        blocks.append(Figure(fig, name="drift_trait", caption=f"the {name} trait by round"))
    blocks += [table, Markdown(
        "Behaviour: a marker of the trait file matched as a whole word in the probe answer. "
        "Representation: (mu_k - mu_base) . d / |d|^2 with d = mu_seeded - mu_base, mu the mean "
        "hidden state on the probe prompts in the model's answering format, averaged over the "
        "transformer layers (per layer: `trait.retained_by_layer` in drift.json); the interval "
        "resamples the probes. One run is one seed: compare methods over seeds with "
        "`python benchmarks/idempotence.py`.")]
    return blocks
