"""`kind: drift` configs: how each round makes its data, how it trains, and how it is probed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scai.cai.config import GenerateSettings
from scai.cai.train import TrainSettings
from scai.config import ConfigModel, resolve_path
from scai.supervise.diff.config import AxisSettings, ClusterSettings
from scai.supervise.drift.trait import load_trait


class ProbeSettings(ConfigModel):
    """The fixed probe set every round answers (the same prompts and decoding each time)."""

    file: Path | None = Field(None, description="Prompts (YAML/JSONL/TXT); default: the shipped "
                              "behavioural-comparison probes.")
    limit: int = Field(24, ge=2, le=100_000, description="Probes used (the first N, by id order).")
    samples: int = Field(2, ge=1, le=64, description="Answers per probe per round.")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    max_tokens: int = Field(96, ge=8, le=8192)
    seeds: Literal["fresh", "shared"] = Field(
        "fresh", description="fresh: each round samples with its own seeds, so its distance from "
        "round 0 is on the same footing as the noise floor (two independent samplings); shared: "
        "every round reuses round 0's seeds (an unchanged model scores exactly 0, a changed one "
        "partly shares its sampling path: more sensitive to small changes, but distances are not "
        "comparable with the floor).")

    _paths = field_validator("file")(resolve_path)


def _axes() -> AxisSettings:
    return AxisSettings(propose=3, proposal_batches=2, max_pairs=24, permutations=99)


def _clusters() -> ClusterSettings:
    return ClusterSettings(k_max=6, permutations=199)


class CompareSettings(ConfigModel):
    """How round k is compared with round 0 and round k-1 (the `scai diff` method)."""

    supervisor: str | None = Field("local", description="Names clusters and proposes axes "
                                   "(null: skip naming and axes).")
    judge: str | None = Field("local", description="Scores answer pairs on the axes in both "
                              "orders (null: no axes).")
    clusters: ClusterSettings = Field(default_factory=_clusters)
    axes: AxisSettings = Field(default_factory=_axes)
    noise_floor: bool = Field(True, description="Round 0 answers the probes a second time with "
                              "other seeds and is compared with itself: the distance two "
                              "samplings of one unchanged model show, to read every round's "
                              "distance against (costs one more round of probe answers).")


class BenchSettings(ConfigModel):
    """The reflectivity benchmark run on every round's model."""

    enabled: bool = True
    file: Path | None = Field(None, description="Benchmark JSONL (default: the shipped seed items).")
    per_subtask: int = Field(6, ge=1, le=100_000, description="Items per subtask (the first N).")

    _paths = field_validator("file")(resolve_path)


class RepresentationSettings(ConfigModel):
    """Representation drift per round (`scai repr-diff` between round k and rounds 0 and k-1):
    linear CKA per layer on the first `limit` probes, and the shipped concepts' directions
    (honesty, sycophancy, refusal; or `concepts`), each against its noise floor."""

    enabled: bool = True
    limit: int = Field(16, ge=4, le=10_000, description="Probes whose hidden states are compared.")
    concepts: Path | None = Field(None, description="Contrast pairs (YAML); default: the shipped.")

    _paths = field_validator("concepts")(resolve_path)


class TraitSettings(ConfigModel):
    """A trait seeded by SFT before round 0 and read every round (drift/trait.py): the share of
    probe answers that show it and how much of the seeding's shift in the hidden states stays."""

    file: Path | None = Field(None, description="The trait (YAML: markers, contrast pairs, "
                              "demonstrations); default: the shipped pirate voice.")
    steps: int = Field(24, ge=1, le=100_000, description="SFT steps on its demonstrations.")
    learning_rate: float = Field(2.0e-4, gt=0, le=1.0)

    _paths = field_validator("file")(resolve_path)


class DriftConfig(ConfigModel):
    """Iterated self-training: round 0 is the base model; each round generates data with the
    current model, trains the next one on it, and probes how its behaviour moved."""

    kind: Literal["drift"] = "drift"
    name: str | None = None
    seed: int = 0
    rounds: int = Field(2, ge=1, le=100, description="Training rounds after round 0.")
    method: Literal["distill", "cai"] = Field(
        "distill", description="distill: SFT on the current model's own answers; cai: "
        "critique/revision under the constitution, then SFT and DPO.")
    base_model: str = Field("local", description="'local' (bundled SmolLM2-135M) or a checkpoint dir.")
    constitution: Path | None = Field(None, description="Principles for method cai (default: the "
                                      "shipped 18).")
    generate: GenerateSettings = Field(default_factory=GenerateSettings,
                                       description="Which training prompts, and decoding.")
    train: TrainSettings = Field(default_factory=TrainSettings,
                                 description="SFT/DPO steps per round (distill uses SFT only).")
    probes: ProbeSettings = Field(default_factory=ProbeSettings)
    compare: CompareSettings = Field(default_factory=CompareSettings)
    bench: BenchSettings = Field(default_factory=BenchSettings)
    representations: RepresentationSettings = Field(default_factory=RepresentationSettings)
    trait: TraitSettings | None = Field(None, description="Seed a trait before round 0 and "
                                        "follow it (the idempotence experiment).")

    _paths = field_validator("constitution")(resolve_path)

    @model_validator(mode="after")
    def _trait_readable(self) -> DriftConfig:
        if self.trait is not None:  # a bad trait file stops the run before anything starts
            load_trait(self.trait.file)
        return self
