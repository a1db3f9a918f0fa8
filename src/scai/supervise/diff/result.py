"""What `scai diff` finds (the result models): clusters, axes, separability and failures."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scai.stats import Estimate


class Clustering(BaseModel):
    """Cluster labels for each row, with how k was chosen."""

    labels: list[int]
    k: int
    method: str
    criterion: str
    silhouette: float | None
    silhouettes: dict[int, float] = {}


class Separability(BaseModel):
    """Held-out accuracy of telling A from B (0.5 = chance), per fold and overall."""

    features: str
    accuracy: float | None
    folds: list[float]
    ci: Estimate | None
    chance: float = 0.5
    p_value: float | None = None
    permutations: int = 0
    n: int = 0
    coefficients: dict[str, float] = {}


class AxisRow(BaseModel):
    """One axis in the report: how often each side shows more of it, and its weight."""

    name: str
    description: str
    mean_score_a: float | None  # share of judged pairs where A shows more (both orders agree)
    mean_score_b: float | None  # share of judged pairs where B shows more
    mean_score: Estimate  # signed pair score (+1 A more, -1 B more, 0 same/disagree), 95% CI
    coefficient: float | None  # logistic-regression weight: > 0 means the axis points to A
    disagreements: int  # pairs where the two orders disagreed (score set to 0)
    judged: int  # pairs with both orders parsed
    source: str = "proposed"  # fixed or proposed


class Failures(BaseModel):
    """Supervisor and judge replies that could not be used (schema failures or model errors)."""

    cluster_names: int = 0
    axis_proposals: int = 0
    judgements: int = 0

    @property
    def total(self) -> int:
        """All unusable replies together."""
        return self.cluster_names + self.axis_proposals + self.judgements


class Example(BaseModel):
    """An answer shown as an example of a cluster."""

    side: str
    prompt_id: str
    prompt: str
    text: str


class ClusterRow(BaseModel):
    """One cluster: its A/B counts and test, the supervisor's reading, examples."""

    id: int
    size: int
    n_a: int
    n_b: int
    share_a: float
    share_b: float
    expected_share_a: float
    odds_ratio: float | None
    p_value: float
    p_adjusted: float
    p_prompts: float | None = None
    p_prompts_adjusted: float | None = None
    significant: bool
    name: str | None = None  # None: the supervisor's reply could not be read (or no supervisor)
    description: str | None = None
    difference: str | None = None
    alignment_relevant: bool | None = None  # None: not named
    alignment_note: str | None = None
    domains: list[str] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)


class DiffResult(BaseModel):
    """Everything `scai diff` found; logged as the run's `result` event."""

    run_id: str | None
    labels: tuple[str, str]
    n_prompts: int
    samples: int
    n_answers: int
    embedding_distance: float | None = Field(
        description="Mean over prompts of 1 - cos(centroid of A's answers, centroid of B's).")
    embedding_distance_ci: Estimate
    energy_distance: float
    energy_p_value: float | None
    energy_permutations: int
    expected_share_a: float
    clustering: Clustering
    correction: str
    alpha: float
    clusters: list[ClusterRow]
    axes: list[AxisRow]
    separability: Separability
    embedding_separability: Separability
    failures: Failures
    report_md: str | None = None
    report_html: str | None = None
    map_png: str | None = None
    answers_path: str | None = None
    wall_s: float = 0.0

    @property
    def metrics(self) -> dict[str, float | None]:
        """Headline numbers (for sweeps and run summaries)."""
        return {"embedding_distance": self.embedding_distance,
                "energy_distance": self.energy_distance, "energy_p_value": self.energy_p_value,
                "clusters": float(len(self.clusters)),
                "significant_clusters": float(sum(c.significant for c in self.clusters)),
                "axes_accuracy": self.separability.accuracy,
                "embedding_accuracy": self.embedding_separability.accuracy,
                "failures": float(self.failures.total)}
