"""Reports: per-run constitutions and metrics, the aggregate over runs, the plot, summary.md."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from scai.stats import Estimate, mean_ci

SHARE_METRICS = ("share_flexible", "share_fixed")


@lru_cache(maxsize=1)
def paper_curves() -> dict[str, Any]:
    """The published SCAI numbers we compare with (data/contract/paper.yaml)."""
    from scai.contract.persona import DATA_DIR

    return yaml.safe_load((DATA_DIR / "paper.yaml").read_text(encoding="utf-8"))


class SimulationResult(BaseModel):
    """All runs of one config, with per-epoch estimates over runs."""

    name: str
    runs: list[Any]  # RunResult
    out_dir: str
    paper_reference: str | None = None
    aggregate: dict[str, list[Estimate]] = Field(default_factory=dict)
    plot: str | None = None
    summary: str | None = None

    @property
    def final(self):
        return self.runs[-1].final


def write_run(config, result, out: Path) -> None:
    """constitutions.md/json, metrics.json and episodes are in the store; one folder per run."""
    out.mkdir(parents=True, exist_ok=True)
    cons = [r.constitution.model_dump() for r in result.epochs]
    (out / "constitutions.json").write_text(json.dumps(cons, indent=2), encoding="utf-8")
    lines = [f"# Constitutions of {config.name}, run {result.run_id} (seed {result.seed})", ""]
    if config.task.type == "ultimatum":
        lines += [f"Prior: {result.prior}.", ""]
    for r in result.epochs:
        c = r.constitution
        lines += [f"## Epoch {r.epoch} ({c.source})", "", c.text(), ""]
        if c.rationale:
            lines += [f"*Rationale:* {c.rationale}", ""]
        shown = {k: round(v, 3) for k, v in r.metrics.items() if v is not None}
        lines += ["Metrics: " + ", ".join(f"{k} {v}" for k, v in shown.items()), ""]
    (out / "constitutions.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(
        [{"epoch": r.epoch, **r.metrics} for r in result.epochs], indent=2), encoding="utf-8")


def aggregate(runs) -> dict[str, list[Estimate]]:
    """Mean and 95% CI over runs of every metric, epoch by epoch."""
    names = sorted({k for r in runs for e in r.epochs for k in e.metrics})
    epochs = max(len(r.epochs) for r in runs)
    return {k: [mean_ci([r.epochs[i].metrics.get(k) for r in runs if i < len(r.epochs)
                         and r.epochs[i].metrics.get(k) is not None]) for i in range(epochs)]
            for k in names}


def plot_shares(sim: SimulationResult, path: Path) -> str | None:
    """Offered share per epoch, flexible vs fixed, 95% CI bands, the paper's points dashed."""
    if "share_flexible" not in sim.aggregate and "share_fixed" not in sim.aggregate:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for key, label, colour in (("share_flexible", "flexible (assistant)", "#c33"),
                               ("share_fixed", "fixed (users)", "#357")):
        ests = sim.aggregate.get(key) or []
        xs = [i for i, e in enumerate(ests) if e.mean is not None]
        if not xs:
            continue
        ax.plot(xs, [ests[i].mean for i in xs], "o-", color=colour, label=label)
        band = [i for i in xs if ests[i].ci_low is not None]
        if band:
            ax.fill_between(band, [max(0, ests[i].ci_low) for i in band],
                            [min(1, ests[i].ci_high) for i in band], color=colour, alpha=0.18)
    ref = paper_curves().get(sim.paper_reference or "")
    if ref:
        pts = sorted((int(k), v) for k, v in ref["flexible"].items())
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "s--", color="#999",
                label=f"paper (GPT-4): {sim.paper_reference}")
    epochs = max(len(v) for v in sim.aggregate.values())
    ax.set_xticks(range(max(epochs, 1 + max((int(k) for k in (ref or {}).get("flexible", {})),
                                            default=0))))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share offered to the responder")
    ax.set_title(f"{sim.name}: mean and 95% CI over {len(sim.runs)} run(s)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def summary_md(config, sim: SimulationResult) -> str:
    agg = sim.aggregate
    lines = [f"# {config.name}", "", config.description.strip(), "",
             (f"{len(sim.runs)} run(s), {config.epochs} epochs, model `{config.model.model}`, "
             f"learner `{config.learner.type}`, memory `{config.memory.mode}`."), ""]
    keys = [k for k in ("share_flexible", "share_fixed", "gap", "acceptance", "income_flexible",
                        "income_fixed", "utility_mean", "utility_min", "utility_gini",
                        "parse_failures") if k in agg]
    lines += ["| epoch | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for i in range(config.epochs):
        lines.append(f"| {i} | " + " | ".join(agg[k][i].fmt() for k in keys) + " |")
    ref = paper_curves().get(sim.paper_reference or "")
    if ref:
        pts = ", ".join(f"epoch {k}: {v:.3f}" for k, v in sorted(ref["flexible"].items()))
        ours = agg.get("share_flexible") or []
        mine = ", ".join(f"epoch {i}: {e.fmt(3)}" for i, e in enumerate(ours))
        lines += ["", f"## Beside the paper ({sim.paper_reference})", "",
                  f"- Paper (GPT-4, temperature 0; {ref['note']}): {pts}"
                  + (f"; unseen currencies {ref['ood'][0]:.3f}-{ref['ood'][1]:.3f}"
                     if "ood" in ref else ""),
                  f"- This run, flexible agents' offered share: {mine}",
                  "", ("Only the points stated in the paper's figure data are listed; none is "
                  "interpolated. A 135M model is not GPT-4: compare directions, not levels.")]
    lines += ["", "## Learned constitutions (last epoch of each run)", ""]
    for r in sim.runs:
        lines += [f"- seed {r.seed} (prior {r.prior}): {r.final.text()}"]
    if sim.plot:
        lines += ["", f"![offered share]({Path(sim.plot).name})"]
    return "\n".join(lines) + "\n"


def write_aggregate(config, sim: SimulationResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sim.aggregate = aggregate(sim.runs)
    sim.plot = plot_shares(sim, out / "offered_share.png")
    (out / "aggregate.json").write_text(json.dumps({
        "name": sim.name, "runs": [r.run_id for r in sim.runs],
        "aggregate": {k: [e.model_dump() for e in v] for k, v in sim.aggregate.items()},
        "final_constitutions": [r.final.model_dump() for r in sim.runs],
    }, indent=2), encoding="utf-8")
    path = out / "summary.md"
    path.write_text(summary_md(config, sim), encoding="utf-8")
    sim.summary = str(path)
