"""A drift run (`scai drift`) as report blocks, rendered once: report.md and drift.png (written by
the command into its folder) and the run's dashboard page come from `drift_page`."""

from __future__ import annotations

from scai.report.blocks import Block, Figure, Heading, Markdown, Page, Table
from scai.report.drift_trait import trait_blocks
from scai.report.figures import ChartData, pyplot
from scai.report.reader import RunData, StoreReader
from scai.report.supervise import result_blocks
from scai.supervise.drift.result import Comparison, DriftResult, RoundResult

NAN = float("nan")


def _f(v: float | None, d: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _one_line(text: str | None, n: int = 240) -> str:
    """A model-written description on one line (they may hold newlines or stray JSON)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def _or_nan(v: float | None) -> float:
    return NAN if v is None else v


def noise_floor(rounds: list[RoundResult]) -> Comparison | None:
    """Round 0 against a second sampling of itself: what no change at all looks like."""
    return next((r.noise_floor for r in rounds if r.noise_floor is not None), None)


def _draw_floor(axes, floor: Comparison) -> None:
    kw = dict(color="grey", ls="--", lw=1)
    if floor.embedding_distance is not None:
        axes[0][0].axhline(floor.embedding_distance, label="noise floor (round 0 resampled)", **kw)
        lo, hi = floor.embedding_distance_ci
        if lo is not None and hi is not None:
            axes[0][0].axhspan(lo, hi, color="grey", alpha=0.1)
    axes[0][1].axhline(floor.cluster_shift, label="noise floor", **kw)
    if floor.embedding_accuracy is not None:
        axes[1][0].axhline(floor.embedding_accuracy, label="noise floor (embeddings)", **kw)


def _draw_comparisons(axes, later: list[RoundResult], versus: str, style: str) -> None:
    """Distance (with its CI band), cluster shift and separability against one earlier round."""
    xs = [r.round for r in later]
    comps: list[Comparison | None] = [getattr(r, versus) for r in later]
    label = "vs round 0" if versus == "vs_base" else "vs previous round"
    lo = [c.embedding_distance_ci[0] if c else None for c in comps]
    hi = [c.embedding_distance_ci[1] if c else None for c in comps]
    ax = axes[0][0]
    ax.plot(xs, [_or_nan(c.embedding_distance if c else None) for c in comps], style, label=label)
    if all(v is not None for v in lo + hi) and xs:
        ax.fill_between(xs, lo, hi, alpha=0.15)
    axes[0][1].plot(xs, [c.cluster_shift if c else NAN for c in comps], style, label=label)
    colour = "C0" if versus == "vs_base" else "C1"
    axes[1][0].plot(xs, [_or_nan(c.embedding_accuracy if c else None) for c in comps], style,
                    color=colour, label=f"embeddings, {label}")
    if any(c and c.axis_accuracy is not None for c in comps):
        axes[1][0].plot(xs, [_or_nan(c.axis_accuracy if c else None) for c in comps], style,
                        color=colour, alpha=0.35, label=f"judged axes, {label}")


def _draw_bench(ax, rounds: list[RoundResult]) -> None:
    bench_rounds = [r for r in rounds if r.bench]
    xs = [r.round for r in bench_rounds]
    for s in sorted({s for r in bench_rounds for s in r.bench if s != "overall"}):
        ax.plot(xs, [_or_nan(r.bench.get(s)) for r in bench_rounds], ".-", alpha=0.5, label=s)
    ax.plot(xs, [_or_nan(r.bench.get("overall")) for r in bench_rounds], "k-o", lw=2,
            label="overall")
    ax.set_title("reflectivity benchmark accuracy")
    ax.set_ylim(0, 1)


def _finish(axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes[0][0].set_title("embedding distance (1 - cos of per-probe centroids)")
    axes[0][1].set_title("cluster shift (total variation)")
    axes[1][0].set_title("separability (held-out accuracy)")
    axes[1][0].axhline(0.5, color="grey", lw=0.8, ls=":")
    for ax in axes.flat:
        ax.set_xlabel("round")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)


def drift_figure(rounds: list[RoundResult]):
    """Four panels over rounds: embedding distance (with 95% CI), cluster shift, separability
    (held-out accuracy of telling the rounds apart), benchmark accuracy; None with nothing to draw."""
    later = [r for r in rounds if r.vs_base is not None]
    if not later and not any(r.bench for r in rounds):
        return None
    fig, axes = pyplot().subplots(2, 2, figsize=(10, 7))
    floor = noise_floor(rounds)
    if floor is not None:
        _draw_floor(axes, floor)
    for versus, style in (("vs_base", "o-"), ("vs_prev", "s--")):
        _draw_comparisons(axes, later, versus, style)
    _draw_bench(axes[1][1], rounds)
    _finish(axes)
    fig.tight_layout()
    return fig


def repr_figure(rounds: list[RoundResult]):
    """Representation drift: CKA against round 0 per layer, a line per round (the numerical
    floor dashed); each concept's direction cosine against round 0 per round, averaged over
    layers, beside its resampling floor. None when no round measured representations."""
    later = [r for r in rounds if r.repr_vs_base is not None]
    if not later:
        return None
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(11, 4))
    for r in later:
        c = r.repr_vs_base
        left.plot(range(len(c.cka)), c.cka, marker=".", label=f"round {r.round} vs 0")
    first = later[0].repr_vs_base
    left.plot(range(len(first.cka)), [1 - f for f in first.cka_floor], ls="--", c="grey",
              label="floor (numerical)")
    left.set(title="representations vs round 0", xlabel="layer (0: embeddings)",
             ylabel="linear CKA on the probes")
    left.legend(fontsize=7)
    xs = [r.round for r in later]
    for name in first.concepts:
        mean = [sum(v) / len(v) for v in (r.repr_vs_base.concepts[name] for r in later)]
        floor = [sum(v) / len(v) for v in (r.repr_vs_base.concept_floor[name] for r in later)]
        line = right.plot(xs, mean, marker="o", label=f"{name} vs round 0")[0]
        right.plot(xs, floor, ls=":", c=line.get_color(), label=f"{name}: floor")
    right.set(title="concept directions vs round 0 (mean over layers)", xlabel="round",
              ylabel="cosine", ylim=(-0.05, 1.05))
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def repr_table(rounds: list[RoundResult]) -> Table:
    """Per round: how many layers and which concepts moved beyond their floors."""
    rows = []
    for r in rounds:
        for c in (r.repr_vs_base, r.repr_vs_prev if r.round > 1 else None):
            if c is None:
                continue
            moved = ", ".join(f"{k} ({len(v)} layers)" for k, v in c.drifted_concepts.items())
            rows.append([r.round, c.versus, f"{min(c.cka):.4f}", f"{c.cka[-1]:.4f}",
                         f"{len(c.drifted_layers)}/{len(c.cka)}", moved or "none"])
    return Table(["round", "versus", "lowest CKA", "last-layer CKA", "layers beyond floor",
                  "concept directions beyond floor"], rows)


def drift_chart(rounds: list[RoundResult]) -> ChartData:
    """What `drift_figure` plots per round, as chart rows (the noise floor is in the table)."""
    rows = []

    def add(panel: str, series: str, x: int, y: float | None, band=(None, None)) -> None:
        if y is not None:
            rows.append({"panel": panel, "series": series, "x": x, "y": y, "low": band[0],
                         "high": band[1]})

    for r in rounds:
        for versus, label in (("vs_base", "vs round 0"), ("vs_prev", "vs previous round")):
            c = getattr(r, versus)
            if c is not None:
                add("embedding distance", label, r.round, c.embedding_distance,
                    c.embedding_distance_ci)
                add("cluster shift", label, r.round, c.cluster_shift)
                add("separability", f"embeddings, {label}", r.round, c.embedding_accuracy)
        for subtask, value in r.bench.items():
            add("benchmark accuracy", subtask, r.round, value)
    return ChartData(rows, x="round")


def round_table(rounds: list[RoundResult]) -> Table:
    """Every measure per round: training, distance, energy p, shift, clusters, separability."""
    rows = []
    for r in rounds:
        train = ", ".join(f"{k} {v:.3g}" for k, v in r.training.items()
                          if k.endswith(("loss", "reward_margin"))) or "-"
        b, p = r.vs_base, r.vs_prev
        dist = (f"{_f(b.embedding_distance)} [{_f(b.embedding_distance_ci[0])}, "
                f"{_f(b.embedding_distance_ci[1])}]" if b else "-")
        rows.append([r.round, train, dist, _f(b.energy_p_value) if b else "-",
                     _f(b.cluster_shift) if b else "-",
                     f"{b.significant_clusters}/{b.clusters}" if b else "-",
                     (_f(b.embedding_accuracy, 2) + " / " + _f(b.axis_accuracy, 2)) if b else "-",
                     _f(p.embedding_distance) if p else "-", _f(r.bench.get("overall"), 2)])
    return Table(["round", "training", "dist. vs 0 [95% CI]", "energy p vs 0",
                  "cluster shift vs 0", "sig. clusters vs 0", "separability vs 0 (emb / axes)",
                  "dist. vs prev", "bench overall"], rows)


def _floor_text(floor: Comparison) -> str:
    lo, hi = floor.embedding_distance_ci
    return (f"**Noise floor** (round 0 against a second sampling of itself with other "
            f"seeds — what no change at all looks like): distance "
            f"{_f(floor.embedding_distance)} [{_f(lo)}, {_f(hi)}], energy p "
            f"{_f(floor.energy_p_value)}, cluster shift {_f(floor.cluster_shift)}, "
            f"separability {_f(floor.embedding_accuracy, 2)}. A round's distance "
            "inside this band is not evidence of drift.")


def change_lines(rounds: list[RoundResult]) -> list[str]:
    """The biggest named changes per round and comparison: moved clusters, then axes."""
    lines = []
    for r in rounds:
        for comp in (r.vs_base, r.vs_prev if r.round > 1 else None):
            if comp is None:
                continue
            for c in comp.changes[:3]:
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
    return lines


def drift_page(result: DriftResult) -> Page:
    """report.md as a page: what was run, the curves (drift.png), every measure per round, the
    noise floor, and the biggest behavioural changes."""
    rounds = result.rounds
    blocks: list[Block] = []
    if result.base_model is not None:
        blocks.append(Markdown(
            f"Base model `{result.base_model}`; probes: {result.probe_limit} x "
            f"{result.probe_samples} answers per round; seed {result.seed}."))
    fig = drift_figure(rounds)
    if fig is not None:
        blocks.append(Figure(fig, name="drift", caption="drift curves", data=drift_chart(rounds)))
    blocks += [Heading("Drift by round"), round_table(rounds)]
    fig = repr_figure(rounds)
    if fig is not None:
        blocks += [Heading("Representation drift"),
                   Figure(fig, name="drift_repr", caption="representation drift"),
                   repr_table(rounds),
                   Markdown("CKA's floor is the forward pass's own numerical noise (the earlier "
                            "model batched vs one text at a time); a concept's floor is how far "
                            "its direction moves when its contrast pairs are resampled. "
                            "Per-layer files: `round-K/repr-vs-0/repr.json`.")]
    blocks += trait_blocks(result)
    floor = noise_floor(rounds)
    if floor is not None:
        blocks.append(Markdown(_floor_text(floor)))
    changes = change_lines(rounds)
    blocks += [Heading("Biggest behavioural changes"),
               Markdown("\n".join(changes) if changes else "No comparisons (only round 0)."),
               Markdown("Each round's full comparison reports: `round-K/vs-0/report.md`, "
                        "`round-K/vs-prev/report.md`; benchmark details: `round-K/bench/`.")]
    return Page(f"Drift: {result.name or result.method} ({len(rounds) - 1} rounds of "
                f"{result.method})", "", blocks)


def drift_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The dashboard page of a drift run: the report's page, from its `result` event."""
    return result_blocks(data, DriftResult, drift_page)
