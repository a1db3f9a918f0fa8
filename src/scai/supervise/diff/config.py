"""`kind: diff` configs: the two sides compared, the probes, and how answers are analysed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path
from scai.llm import ModelSettings


class DiffSide(ConfigModel):
    """One side of the comparison: a model, optionally under a system prompt or constitution."""

    label: str = Field(..., min_length=1, max_length=40, description="Name shown in the report.")
    model: ModelSettings = Field(default_factory=ModelSettings,
                                 description="The model that answers (a model string or settings).")
    system: str | None = Field(None, description="System prompt sent before every probe.")
    constitution: Path | None = Field(
        None, description="Constitution file (.txt/.md text, or YAML: a list of principles or "
        "{principles: [...]}); becomes the system prompt, after `system` if both are given.")

    _path = field_validator("constitution")(resolve_path)

    @field_validator("model", mode="before")
    @classmethod
    def _model_string(cls, v):
        return {"model": v} if isinstance(v, str) else v


class ClusterSettings(ConfigModel):
    """How answers are grouped: k-means with k chosen by silhouette, or HDBSCAN."""

    method: Literal["kmeans", "hdbscan"] = Field(
        "kmeans", description="kmeans: k in [k_min, k_max] with the best silhouette; hdbscan: "
        "density-based, k found by the algorithm (noise points form cluster -1).")
    center: Literal["prompt", "none"] = Field(
        "prompt", description="prompt: cluster each answer's embedding minus the mean answer to "
        "its prompt (clusters of behaviour, not of topic); none: the raw embeddings.")
    k_min: int = Field(2, ge=2, le=100, description="Smallest k tried (kmeans).")
    k_max: int = Field(10, ge=2, le=100, description="Largest k tried (kmeans; capped at n-1).")
    min_cluster_size: int = Field(5, ge=2, le=10_000, description="Smallest cluster (hdbscan).")
    correction: Literal["holm", "bh"] = Field(
        "holm", description="Multiple-comparison correction over clusters: holm (family-wise "
        "error) or bh (Benjamini-Hochberg false discovery rate).")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level after correction.")
    test: Literal["answers", "prompts"] = Field(
        "answers", description="Which per-cluster test decides `significant` (both are "
        "reported): answers = Fisher's exact test on answer counts, a statement about these "
        "probes; prompts = sign flips of per-probe rate differences, probes as the unit, a "
        "statement about probes like these (needs more probes for the same power).")
    examples: int = Field(3, ge=1, le=20, description="Example answers per side per cluster.")
    permutations: int = Field(999, ge=0, le=100_000,
                              description="Permutations for the energy-distance p-value.")
    projection: Literal["pca", "tsne"] = Field(
        "pca", description="2-D map of the embeddings: pca (linear, distances comparable) or "
        "tsne (local neighbourhoods; falls back to pca below 10 answers).")

    @model_validator(mode="after")
    def _range(self) -> ClusterSettings:
        if self.k_max < self.k_min:
            raise ValueError(f"k_max ({self.k_max}) is smaller than k_min ({self.k_min})")
        return self


class AxisSpec(ConfigModel):
    """A behaviour axis: a named quality a judge compares two answers on."""

    name: str = Field(..., min_length=1, max_length=60)
    description: str = Field("", max_length=400, description="What 'more of it' means.")


class AxisSettings(ConfigModel):
    """Behaviour axes: proposed by the supervisor from paired answers, scored by the judge."""

    propose: int = Field(5, ge=0, le=20, description="Axes the supervisor proposes (0: none).")
    fixed: list[AxisSpec] = Field(default_factory=list,
                                  description="Axes always scored, before the proposed ones.")
    proposal_batches: int = Field(3, ge=1, le=20,
                                  description="Supervisor calls, each shown different pairs.")
    pairs_per_batch: int = Field(4, ge=1, le=20, description="Answer pairs shown per proposal call.")
    max_pairs: int = Field(200, ge=2, le=100_000,
                           description="Most (prompt, sample) pairs judged on the axes.")
    folds: int = Field(5, ge=2, le=20, description="Cross-validation folds (grouped by prompt).")
    permutations: int = Field(199, ge=0, le=10_000,
                              description="Sign-flip permutations for the separability p-value.")


class DiffConfig(ConfigModel):
    """Compare two models (or one model under two prompts): sample, embed, cluster, explain."""

    kind: Literal["diff"] = "diff"
    name: str | None = Field(None, description="A label for the run in `scai runs list`.")
    a: DiffSide = Field(..., description="Side A.")
    b: DiffSide = Field(..., description="Side B.")
    prompts: Path | None = Field(None, description="Probe file (YAML/JSONL/TXT); default: the "
                                 "shipped set of 118 probes across 15 domains.")
    limit: int | None = Field(None, ge=1, description="Use only the first N probes (in an order "
                              "shuffled by `seed` that keeps domains mixed).")
    samples: int = Field(4, ge=1, le=256, description="Answers per probe per side.")
    temperature: float = Field(0.8, ge=0.0, le=5.0, description="Sampling temperature of A and B.")
    max_tokens: int = Field(160, ge=8, le=8192, description="Longest answer.")
    repeat_penalty: float = Field(1.1, ge=0.5, le=3.0)
    seed: int = Field(0, description="Seeds sampling, clustering, folds and permutations.")
    supervisor: ModelSettings | None = Field(
        default_factory=ModelSettings, description="Names clusters and proposes axes (null: "
        "clusters stay unnamed and no axes are proposed; the statistics do not need it).")
    judge: ModelSettings | None = Field(
        default_factory=ModelSettings, description="Scores answer pairs on the axes in both "
        "orders (null: no axes).")
    clusters: ClusterSettings = Field(default_factory=ClusterSettings)
    axes: AxisSettings = Field(default_factory=AxisSettings)
    out: Path | None = Field(None, description="Report folder (default: runs/<run id>/).")

    _paths = field_validator("prompts", "out")(resolve_path)

    @field_validator("supervisor", "judge", mode="before")
    @classmethod
    def _model_string(cls, v):
        return {"model": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _distinct_labels(self) -> DiffConfig:
        if self.a.label == self.b.label:
            raise ValueError(f"a.label and b.label are both {self.a.label!r}; they must differ")
        return self
