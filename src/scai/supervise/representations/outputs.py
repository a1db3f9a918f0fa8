"""repr.json and repr.png: CKA per layer with its interval, each concept's cosine per layer
beside its resampling floor."""

from __future__ import annotations

from pathlib import Path

from scai.supervise.representations.result import ReprDiff


def write_outputs(result: ReprDiff, out_dir: Path) -> None:
    from scai.report.figures import pyplot

    out_dir.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [r.layer for r in result.layers]
    left.plot(xs, [r.cka for r in result.layers], marker="o", label="CKA(A, B)")
    left.fill_between(xs, [r.low for r in result.layers], [r.high for r in result.layers],
                      alpha=0.25, label="95% bootstrap over probes")
    left.plot(xs, [1 - r.floor for r in result.layers], ls="--", c="grey",
              label="floor: A batched vs one at a time")
    left.set(title="representation similarity per layer", xlabel="layer (0: embeddings)",
             ylabel="linear CKA")
    left.legend(fontsize=8)
    for name in result.pairs:
        rows = [r for r in result.concepts if r.concept == name]
        line = right.plot([r.layer for r in rows], [r.resampled for r in rows], marker="o",
                          label=f"{name}: A vs B")[0]
        right.plot([r.layer for r in rows], [r.floor_low for r in rows], ls=":",
                   c=line.get_color(), label=f"{name}: floor (A vs A, 2.5%)")
    right.set(title="concept directions: cosine A vs B", xlabel="layer", ylabel="cosine",
              ylim=(-0.05, 1.05))
    right.legend(fontsize=7)
    fig.suptitle(f"{result.a} vs {result.b}: {result.probes} probes", fontsize=10)
    fig.tight_layout()
    plot = out_dir / "repr.png"
    fig.savefig(plot, dpi=110)
    plt.close(fig)
    result.out_dir, result.plot = str(out_dir), str(plot)
    (out_dir / "repr.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
