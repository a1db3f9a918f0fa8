"""Drift curves (`drift.png`) and the round-by-round report (`report.md`)."""

from __future__ import annotations

from pathlib import Path

from scai.report.figures import pyplot
from scai.supervise.drift.config import DriftConfig
from scai.supervise.drift.result import RoundResult


def _f(v: float | None, d: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _one_line(text: str | None, n: int = 240) -> str:
    """A model-written description on one line (they may hold newlines or stray JSON)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def plot(rounds: list[RoundResult], path: Path) -> Path | None:
    """Four panels over rounds: embedding distance (with 95% CI), cluster shift, separability
    (held-out accuracy of telling the rounds apart), benchmark accuracy."""
    plt = pyplot()
    later = [r for r in rounds if r.vs_base is not None]
    if not later and not any(r.bench for r in rounds):
        return None
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    xs = [r.round for r in later]
    floor = next((r.noise_floor for r in rounds if r.noise_floor is not None), None)
    if floor is not None:
        kw = dict(color="grey", ls="--", lw=1)
        if floor.embedding_distance is not None:
            axes[0][0].axhline(floor.embedding_distance, label="noise floor (round 0 resampled)",
                               **kw)
            lo, hi = floor.embedding_distance_ci
            if lo is not None and hi is not None:
                axes[0][0].axhspan(lo, hi, color="grey", alpha=0.1)
        axes[0][1].axhline(floor.cluster_shift, label="noise floor", **kw)
        if floor.embedding_accuracy is not None:
            axes[1][0].axhline(floor.embedding_accuracy, label="noise floor (embeddings)", **kw)
    for versus, style in (("vs_base", "o-"), ("vs_prev", "s--")):
        comps = [getattr(r, versus) for r in later]
        label = "vs round 0" if versus == "vs_base" else "vs previous round"
        ys = [c.embedding_distance if c else None for c in comps]
        lo = [c.embedding_distance_ci[0] if c else None for c in comps]
        hi = [c.embedding_distance_ci[1] if c else None for c in comps]
        ax = axes[0][0]
        ax.plot(xs, [y if y is not None else float("nan") for y in ys], style, label=label)
        if all(v is not None for v in lo + hi) and xs:
            ax.fill_between(xs, lo, hi, alpha=0.15)
        axes[0][1].plot(xs, [c.cluster_shift if c else float("nan") for c in comps], style,
                        label=label)
        colour = "C0" if versus == "vs_base" else "C1"
        axes[1][0].plot(xs, [c.embedding_accuracy if c and c.embedding_accuracy is not None
                             else float("nan") for c in comps], style, color=colour,
                        label=f"embeddings, {label}")
        if any(c and c.axis_accuracy is not None for c in comps):
            axes[1][0].plot(xs, [c.axis_accuracy if c and c.axis_accuracy is not None
                                 else float("nan") for c in comps], style, color=colour,
                            alpha=0.35, label=f"judged axes, {label}")
    axes[0][0].set_title("embedding distance (1 - cos of per-probe centroids)")
    axes[0][1].set_title("cluster shift (total variation)")
    axes[1][0].set_title("separability (held-out accuracy)")
    axes[1][0].axhline(0.5, color="grey", lw=0.8, ls=":")
    bench_rounds = [r for r in rounds if r.bench]
    subtasks = sorted({s for r in bench_rounds for s in r.bench if s != "overall"})
    for s in subtasks:
        axes[1][1].plot([r.round for r in bench_rounds],
                        [r.bench.get(s) if r.bench.get(s) is not None else float("nan")
                         for r in bench_rounds], ".-", alpha=0.5, label=s)
    axes[1][1].plot([r.round for r in bench_rounds],
                    [r.bench.get("overall") if r.bench.get("overall") is not None
                     else float("nan") for r in bench_rounds], "k-o", lw=2, label="overall")
    axes[1][1].set_title("reflectivity benchmark accuracy")
    axes[1][1].set_ylim(0, 1)
    from matplotlib.ticker import MaxNLocator

    for ax in axes.flat:
        ax.set_xlabel("round")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(cfg: DriftConfig, rounds: list[RoundResult], plot_path: Path | None) -> str:
    """A table of every measure per round, then the biggest named changes."""
    lines = [f"# Drift: {cfg.name or cfg.method} ({len(rounds) - 1} rounds of {cfg.method})", "",
             (f"Base model `{cfg.base_model}`; probes: {cfg.probes.limit} x {cfg.probes.samples} "
             f"answers per round; seed {cfg.seed}."), ""]
    if plot_path:
        lines += [f"![drift curves]({plot_path.name})", ""]
    lines += [("| round | training | dist. vs 0 [95% CI] | energy p vs 0 | cluster shift vs 0 | "
              "sig. clusters vs 0 | separability vs 0 (emb / axes) | dist. vs prev | bench overall |"),
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rounds:
        train = ", ".join(f"{k} {v:.3g}" for k, v in r.training.items()
                          if k.endswith(("loss", "reward_margin"))) or "-"
        b, p = r.vs_base, r.vs_prev
        dist = (f"{_f(b.embedding_distance)} [{_f(b.embedding_distance_ci[0])}, "
                f"{_f(b.embedding_distance_ci[1])}]" if b else "-")
        lines.append(
            f"| {r.round} | {train} | {dist} | {_f(b.energy_p_value) if b else '-'} | "
            f"{_f(b.cluster_shift) if b else '-'} | "
            f"{f'{b.significant_clusters}/{b.clusters}' if b else '-'} | "
            f"{(_f(b.embedding_accuracy, 2) + ' / ' + _f(b.axis_accuracy, 2)) if b else '-'} | "
            f"{_f(p.embedding_distance) if p else '-'} | {_f(r.bench.get('overall'), 2)} |")
    floor = next((r.noise_floor for r in rounds if r.noise_floor is not None), None)
    if floor is not None:
        lo, hi = floor.embedding_distance_ci
        lines += ["", (f"**Noise floor** (round 0 against a second sampling of itself with other "
                       f"seeds — what no change at all looks like): distance "
                       f"{_f(floor.embedding_distance)} [{_f(lo)}, {_f(hi)}], energy p "
                       f"{_f(floor.energy_p_value)}, cluster shift {_f(floor.cluster_shift)}, "
                       f"separability {_f(floor.embedding_accuracy, 2)}. A round's distance "
                       "inside this band is not evidence of drift.")]
    lines += ["", "## Biggest behavioural changes", ""]
    any_change = False
    for r in rounds:
        for comp in (r.vs_base, r.vs_prev if r.round > 1 else None):
            if comp is None:
                continue
            for c in comp.changes[:3]:
                any_change = True
                flag = " **(alignment-relevant)**" if c.alignment_relevant else ""
                sig = "significant" if c.significant else "not significant"
                lines.append(
                    f"- round {r.round} {comp.versus}: cluster {c.cluster} "
                    f"*{c.name or 'unnamed'}*{flag}: share {c.share_then:.2f} -> "
                    f"{c.share_now:.2f} ({sig}, adjusted p {c.p_adjusted:.3g}). "
                    f"{_one_line(c.description)}")
            for axis, delta in sorted(comp.axes.items(), key=lambda kv: -abs(kv[1]))[:3]:
                lines.append(f"- round {r.round} {comp.versus}: axis *{axis}* {delta:+.2f} "
                             "(share of pairs where the later round shows more, minus less)")
    if not any_change:
        lines.append("No comparisons (only round 0).")
    lines += ["", ("Each round's full comparison reports: `round-K/vs-0/report.md`, "
              "`round-K/vs-prev/report.md`; benchmark details: `round-K/bench/`."), ""]
    return "\n".join(lines)


def write_report(cfg: DriftConfig, rounds: list[RoundResult], out: Path) -> tuple[Path, Path | None]:
    png = plot(rounds, out / "drift.png")
    report = out / "report.md"
    report.write_text(markdown(cfg, rounds, png), encoding="utf-8")
    return report, png
