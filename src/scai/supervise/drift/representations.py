"""A drift round's representations against round 0 and the previous round (scai repr-diff on
the round's checkpoints), kept as per-layer summaries in the round's result."""

from __future__ import annotations

from pathlib import Path

from scai.supervise.diff.probes import load_probes
from scai.supervise.drift.config import DriftConfig
from scai.supervise.drift.result import ReprSummary
from scai.supervise.drift.trait import load_trait, with_trait
from scai.supervise.representations.concepts import load_concepts
from scai.supervise.representations.result import ReprDiff
from scai.supervise.representations.run import compare_models


def summarise(diff: ReprDiff, versus: str) -> ReprSummary:
    """The per-layer curves of one comparison."""
    concepts: dict[str, list[float]] = {}
    floors: dict[str, list[float]] = {}
    for row in diff.concepts:
        concepts.setdefault(row.concept, []).append(row.resampled)
        floors.setdefault(row.concept, []).append(row.floor_low)
    return ReprSummary(versus=versus, cka=[r.cka for r in diff.layers],
                       cka_low=[r.low for r in diff.layers],
                       cka_floor=[r.floor for r in diff.layers],
                       drifted_layers=diff.drifted_layers(), concepts=concepts,
                       concept_floor=floors, drifted_concepts=diff.drifted_concepts(),
                       seconds=diff.seconds)


def representation_drift(cfg: DriftConfig, k: int, base: str, previous: str, current: str,
                         out: Path, progress: bool) -> tuple[ReprSummary, ReprSummary]:
    """Round k against round 0 and against round k-1 (the same comparison when k is 1);
    each comparison's repr.json and repr.png under `out`."""
    s = cfg.representations
    texts = [p.text for p in load_probes(cfg.probes.file)][:s.limit]
    concepts = load_concepts(s.concepts)
    if cfg.trait is not None:
        concepts = with_trait(concepts, load_trait(cfg.trait.file))
    vs_base = summarise(compare_models(
        base, current, probes=texts, concepts=concepts, out_dir=out / "repr-vs-0",
        seed=cfg.seed, progress=progress, names=("round 0", f"round {k}")), "round 0")
    if k == 1:
        return vs_base, vs_base.model_copy(update={"versus": "previous"})
    vs_prev = summarise(compare_models(
        previous, current, probes=texts, concepts=concepts, out_dir=out / "repr-vs-prev",
        seed=cfg.seed, progress=progress, names=(f"round {k - 1}", f"round {k}")), "previous")
    return vs_base, vs_prev
