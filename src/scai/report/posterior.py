"""The bayes learner's posterior on a page: a table per epoch and `posterior.png`, the
posterior mass of every candidate principle by epoch (stacked). Read from the constitutions'
`posterior` records only, so the dashboard, `scai report` and a run's files show the same."""

from __future__ import annotations

from collections.abc import Sequence

from scai.contract.constitution import Candidate, Constitution
from scai.report.blocks import Block, Figure, Table
from scai.report.figures import COLOURS, pyplot

LABEL = 48  # characters of a principle shown in a legend or table


def short(text: str, n: int = LABEL) -> str:
    """A principle cut to `n` characters for a legend or a table cell."""
    return text if len(text) <= n else text[: n - 1] + "…"


def ranked(posterior: Sequence[Candidate], top: int | None = None) -> list[tuple[int, Candidate]]:
    """(pool index, candidate), most probable first, the first `top` of them."""
    order = sorted(enumerate(posterior), key=lambda ic: -ic[1].probability)
    return order[:top] if top else order


def posterior_table(c: Constitution, top: int | None = None) -> Table:
    """The candidates weighed for the constitution of epoch `c.epoch`, most probable first."""
    rows = [[f"c{i}", short(cand.principle, 90), cand.source, round(cand.probability, 3),
             round(cand.log_likelihood, 2)] for i, cand in ranked(c.posterior or [], top)]
    return Table(["candidate", "principle", "source", "probability", "log-likelihood"], rows,
                 caption=f"posterior behind the constitution of epoch {c.epoch}")


def posterior_figure(constitutions: Sequence[Constitution], name: str) -> Figure | None:
    """Posterior mass per candidate by epoch (stacked), or None when no epoch has one."""
    learned = sorted((c for c in constitutions if c.posterior), key=lambda c: c.epoch)
    if not learned:
        return None
    pool: list[Candidate] = max((c.posterior or [] for c in learned), key=len)
    epochs = [c.epoch for c in learned]
    mass = [[(c.posterior or [])[i].probability if i < len(c.posterior or []) else 0.0
             for c in learned] for i in range(len(pool))]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    labels = [f"c{i} {short(cand.principle, 40)}" for i, cand in enumerate(pool)]
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(pool))]
    if len(epochs) == 1:
        bottom = 0.0
        for ys, label, colour in zip(mass, labels, colours):
            ax.bar(epochs, ys, bottom=bottom, color=colour, label=label, width=0.5)
            bottom += ys[0]
    else:
        ax.stackplot(epochs, mass, labels=labels, colors=colours, alpha=0.85)
    ax.set_xticks(epochs)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("epoch the constitution is in force")
    ax.set_ylabel("posterior probability")
    ax.set_title(f"{name}: posterior over candidate principles", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return Figure(fig, name="posterior", caption="posterior mass per candidate principle")


def posterior_blocks(constitutions: Sequence[Constitution], name: str) -> list[Block]:
    """The figure and each epoch's table (nothing when no constitution carries a posterior)."""
    figure = posterior_figure(constitutions, name)
    if figure is None:
        return []
    tables: list[Block] = [posterior_table(c) for c in sorted(constitutions, key=lambda c: c.epoch)
                           if c.posterior]
    return [figure, *tables]
