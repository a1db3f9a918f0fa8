"""What a drift run finds: per round, its training and how far it moved (the result models)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scai.supervise.diff.result import DiffResult
from scai.supervise.drift.trait import TraitReading


class ChangeNote(BaseModel):
    """One behavioural change: a cluster whose share moved, as the supervisor named it."""

    versus: str
    cluster: int
    name: str | None
    description: str | None
    share_then: float
    share_now: float
    p_adjusted: float
    significant: bool
    alignment_relevant: bool | None


class Comparison(BaseModel):
    """Round k against an earlier round: the scalar drift measures and the named changes."""

    versus: str
    embedding_distance: float | None
    embedding_distance_ci: tuple[float | None, float | None]
    energy_distance: float
    energy_p_value: float | None
    cluster_shift: float = Field(description="Total variation distance between the two rounds' "
                                 "distributions over the joint clusters (0 = same, 1 = disjoint).")
    significant_clusters: int
    clusters: int
    axis_accuracy: float | None
    embedding_accuracy: float | None
    axes: dict[str, float] = Field(default_factory=dict, description="Per axis: share of pairs "
                                   "where this round shows more of it minus the share where the "
                                   "earlier round does (both judging orders agreeing).")
    changes: list[ChangeNote] = Field(default_factory=list)
    report: str | None = None


class ReprSummary(BaseModel):
    """Round k's representations against an earlier round's, per layer (scai repr-diff)."""

    versus: str
    cka: list[float]  # linear CKA on the probes, per layer (0: embeddings)
    cka_low: list[float]  # its 95% bootstrap lower bound
    cka_floor: list[float]  # 1 − CKA of the earlier model with itself (numerical noise)
    drifted_layers: list[int]
    concepts: dict[str, list[float]] = Field(default_factory=dict, description="Per concept, "
                                             "the resampled cosine of its direction per layer.")
    concept_floor: dict[str, list[float]] = Field(default_factory=dict, description="Per "
                                                  "concept, the 2.5th percentile of the earlier "
                                                  "model's direction against itself, per layer.")
    drifted_concepts: dict[str, list[int]] = Field(default_factory=dict)
    seconds: float = 0.0


class RoundResult(BaseModel):
    """One round: what it trained on, where its model is, and how it moved."""

    round: int
    model: str
    examples: int = 0
    pairs: int = 0
    training: dict[str, float] = Field(default_factory=dict, description="Final logged value of "
                                       "each training metric (loss, reward margin, ...).")
    vs_base: Comparison | None = None
    vs_prev: Comparison | None = None
    noise_floor: Comparison | None = Field(None, description="Round 0 only: round 0 against a "
                                           "second sampling of itself (other seeds).")
    bench: dict[str, float | None] = Field(default_factory=dict,
                                           description="Accuracy per subtask and 'overall'.")
    bench_parse_failures: int = 0
    repr_vs_base: ReprSummary | None = None
    repr_vs_prev: ReprSummary | None = None
    trait: TraitReading | None = Field(None, description="With `trait:`: the seeded trait in "
                                       "this round's answers and hidden states.")
    seconds: dict[str, float] = Field(default_factory=dict)


class DriftResult(BaseModel):
    """Every round, in order; logged as the drift run's `result` event."""

    run_id: str | None
    out_dir: str
    method: str
    rounds: list[RoundResult]
    report: str
    plot: str | None
    # What was run, for the report's title and first line (None in results logged before).
    name: str | None = None
    base_model: str | None = None
    probe_limit: int | None = None
    probe_samples: int | None = None
    seed: int | None = None
    trait_base: TraitReading | None = Field(None, description="With `trait:`: the base model "
                                            "before seeding (its retained shift is 0 by "
                                            "definition).")


def comparison(diff: DiffResult, versus: str, top: int = 5) -> Comparison:
    """The drift measures of one `compare` result (A = the earlier round, B = this round)."""
    n_a = sum(c.n_a for c in diff.clusters) or 1
    n_b = sum(c.n_b for c in diff.clusters) or 1
    shift = 0.5 * sum(abs(c.n_a / n_a - c.n_b / n_b) for c in diff.clusters)
    moved = sorted(diff.clusters, key=lambda c: (not c.significant, -abs(c.n_b / n_b - c.n_a / n_a)))
    changes = [ChangeNote(versus=versus, cluster=c.id, name=c.name, description=c.difference or
                          c.description, share_then=c.n_a / n_a, share_now=c.n_b / n_b,
                          p_adjusted=c.p_adjusted, significant=c.significant,
                          alignment_relevant=c.alignment_relevant) for c in moved[:top]]
    ci = diff.embedding_distance_ci
    return Comparison(
        versus=versus, embedding_distance=diff.embedding_distance,
        embedding_distance_ci=(ci.ci_low, ci.ci_high), energy_distance=diff.energy_distance,
        energy_p_value=diff.energy_p_value, cluster_shift=round(shift, 4),
        significant_clusters=sum(c.significant for c in diff.clusters),
        clusters=len(diff.clusters), axis_accuracy=diff.separability.accuracy,
        embedding_accuracy=diff.embedding_separability.accuracy,
        axes={a.name: a.mean_score_b - a.mean_score_a for a in diff.axes
              if a.mean_score_a is not None and a.mean_score_b is not None},
        changes=changes, report=diff.report_md)


