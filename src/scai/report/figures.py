"""The one figure module: matplotlib set-up (`pyplot`), PNG bytes, and the shared plots
(curves with 95% CI bands, grouped bars, step curves) drawn from plain numbers.

Every plot in scai is made through `pyplot()`, so the headless backend is chosen in one place
and matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # scai.stats pulls in scipy: only type checkers need it here
    from scai.stats import Estimate


@dataclass
class ChartData:
    """The numbers behind a line figure, one row per point: `panel`, `series`, `x`, `y` and the
    95% CI as `low`/`high` (None without one). The dashboard draws them as an interactive chart
    (values on hover); files keep the PNG."""

    rows: list[dict[str, Any]]
    x: str = "epoch"
    y: str = ""


COLOURS = ["#c33", "#357", "#2a7", "#a6c", "#d80", "#49b", "#777", "#b57"]
DPI = 110


def pyplot() -> Any:
    """`matplotlib.pyplot` on the headless Agg backend: the only matplotlib set-up in scai."""
    import matplotlib

    # Agg before pyplot is imported: no display on servers, in tests or in the dashboard.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any, dpi: int = DPI) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def close(fig: Any) -> None:
    """Free a figure once it has been written or drawn."""
    pyplot().close(fig)


def _draw(ax: Any, i: int, label: str, ests: Sequence[Estimate], unit_range: bool,
          style: str = "o-") -> None:
    """One series on `ax`: its means, and its 95% CI as a band (an error bar at a lone point)."""
    colour = COLOURS[i % len(COLOURS)]
    xs = [x for x, e in enumerate(ests) if e.mean is not None]
    if not xs:
        return
    ax.plot(xs, [ests[x].mean for x in xs], style, color=colour, label=label, ms=4)
    band = [x for x in xs if ests[x].ci_low is not None]
    if band:
        lo = [ests[x].ci_low for x in band]
        hi = [ests[x].ci_high for x in band]
        if unit_range:
            lo, hi = [max(0.0, v) for v in lo], [min(1.0, v) for v in hi]
        ax.fill_between(band, lo, hi, color=colour, alpha=0.18, lw=0)
        # a lone point with a CI has no band to draw: show its interval as an error bar
        ax.errorbar(band, [ests[x].mean for x in band],
                    yerr=[[max(0.0, ests[x].mean - v) for x, v in zip(band, lo)],
                          [max(0.0, v - ests[x].mean) for x, v in zip(band, hi)]],
                    fmt="none", ecolor=colour, alpha=0.5, capsize=3)


def curves(series: dict[str, Sequence[Estimate]], *, title: str, ylabel: str,
           xlabel: str = "epoch", unit_range: bool = False,
           right: dict[str, Sequence[Estimate]] | None = None, right_ylabel: str = ""):
    """One line per series (mean per x), a shaded 95% CI band where one is known; `right`
    series (dashed) on a second axis from 0 to 1."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for i, (label, ests) in enumerate(series.items()):
        _draw(ax, i, label, ests, unit_range)
    lines = list(ax.lines)
    if right:
        twin = ax.twinx()
        for i, (label, ests) in enumerate(right.items(), start=len(series)):
            _draw(twin, i, label, ests, True, "s--")
        twin.set_ylim(-0.02, 1.02)
        twin.set_ylabel(right_ylabel)
        lines += twin.lines
    n = max((len(v) for v in [*series.values(), *(right or {}).values()]), default=0)
    ax.set_xticks(range(max(n, 1)))
    if unit_range:
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    lines = [ln for ln in lines if not ln.get_label().startswith("_")]  # not the error bars' caps
    if lines:
        ax.legend(lines, [ln.get_label() for ln in lines], fontsize=7)
    else:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def curve_data(series: dict[str, Sequence[Estimate]], *, xlabel: str = "epoch", ylabel: str = "",
               panel: str = "", right: dict[str, Sequence[Estimate]] | None = None,
               right_ylabel: str = "") -> ChartData:
    """What `curves` draws, as chart rows (x = position, as on the figure); `right` series go
    to their own panel, named by `right_ylabel`."""
    rows = []
    for where, group in ((panel or ylabel, series), (right_ylabel or "right", right or {})):
        for label, ests in group.items():
            rows += [{"panel": where, "series": label, "x": x, "y": e.mean, "low": e.ci_low,
                      "high": e.ci_high} for x, e in enumerate(ests) if e.mean is not None]
    return ChartData(rows, x=xlabel, y=ylabel)


def step_data(panels: dict[str, dict[str, list[tuple[float, float]]]]) -> ChartData:
    """What `step_curves` draws, as chart rows: one panel per quantity, one series per stage."""
    return ChartData([{"panel": name.replace("_", " "), "series": label, "x": x, "y": y,
                       "low": None, "high": None}
                      for name, lines in panels.items() for label, pts in lines.items()
                      for x, y in pts], x="step")


def bars(groups: dict[str, dict[str, Estimate]], *, title: str, ylabel: str = ""):
    """Bars per group (e.g. base/SFT/DPO) for each metric, with 95% CI error bars."""
    plt = pyplot()
    metrics = list(dict.fromkeys(m for g in groups.values() for m in g))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(metrics) + 2), 3.4))
    width = 0.8 / max(len(groups), 1)
    for gi, (group, values) in enumerate(groups.items()):
        xs, means, err_lo, err_hi = [], [], [], []
        for mi, metric in enumerate(metrics):
            e = values.get(metric)
            if e is None or e.mean is None:
                continue
            xs.append(mi + (gi - (len(groups) - 1) / 2) * width)
            means.append(e.mean)
            err_lo.append(e.mean - e.ci_low if e.ci_low is not None else 0)
            err_hi.append(e.ci_high - e.mean if e.ci_high is not None else 0)
        ax.bar(xs, means, width=width, yerr=[err_lo, err_hi], capsize=3, label=group,
               color=COLOURS[gi % len(COLOURS)])
    ax.set_xticks(range(len(metrics)), [m.replace("_", " ") for m in metrics], rotation=20,
                  ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if groups:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def step_curves(panels: dict[str, dict[str, list[tuple[float, float]]]], *, title: str):
    """One panel per quantity (e.g. loss), one line per stage (SFT, DPO), x = step."""
    plt = pyplot()
    names = list(panels) or ["(no data)"]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), squeeze=False)
    for ax, name in zip(axes[0], names):
        for i, (label, pts) in enumerate(panels.get(name, {}).items()):
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, label=label,
                        color=COLOURS[i % len(COLOURS)])
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
