"""What `scai repr-diff` found: per layer CKA and per concept direction cosines, with floors."""

from __future__ import annotations

from pydantic import BaseModel


class LayerCka(BaseModel):
    """Linear CKA between A and B on the probes at one layer (0: embeddings)."""

    layer: int
    cka: float
    low: float  # 95% bootstrap interval over probes
    high: float
    floor: float  # 1 − CKA of A with itself, batched vs one text at a time (numerical noise)
    drift: bool  # 1 − high > floor: even the closest resample differs beyond the noise


class ConceptLayer(BaseModel):
    """A concept's direction in A against B at one layer."""

    concept: str
    layer: int
    cosine: float  # on all pairs
    resampled: float  # mean over bootstrap resamples of the pairs (A and B resampled apart)
    floor_mean: float  # A against itself, resampled the same way
    floor_low: float  # its 2.5th percentile
    drift: bool  # resampled < floor_low


class ReprDiff(BaseModel):
    a: str
    b: str
    probes: int
    pairs: dict[str, int]
    layers: list[LayerCka]
    concepts: list[ConceptLayer]
    seconds: float
    out_dir: str | None = None
    plot: str | None = None

    def drifted_layers(self) -> list[int]:
        return [r.layer for r in self.layers if r.drift]

    def drifted_concepts(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for r in self.concepts:
            if r.drift:
                out.setdefault(r.concept, []).append(r.layer)
        return out
