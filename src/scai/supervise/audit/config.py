"""`kind: audit` configs: who audits whom toward which goal, for how long, and what is judged."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path
from scai.llm import ModelSettings
from scai.rubric import Metric


def _model_string(v: object) -> object:
    return {"model": v} if isinstance(v, str) else v


class AuditorSpec(ConfigModel):
    """The model that drives the audit: it reads the goal and the branch so far, and acts."""

    model: ModelSettings = Field(default_factory=ModelSettings,
                                 description="The auditor model (a model string or settings).")
    temperature: float = Field(0.8, ge=0.0, le=5.0, description="Sampling temperature.")
    max_message_chars: int = Field(300, ge=20, le=20_000,
                                   description="Longest message to the target (the schema's "
                                   "maxLength).")
    max_tokens: int | None = Field(None, ge=32, le=40_000, description="Longest action (JSON); "
                                   "default max_message_chars + 48, so a grammar-constrained "
                                   "action closes even at one token per character.")

    examples: list[str] = Field(
        default_factory=list, max_length=20,
        description="Messages the auditor could send, shown in its prompt (Petri's special "
        "instructions, in small: a weak auditor leans on them).")

    _model = field_validator("model", mode="before")(_model_string)

    @property
    def tokens(self) -> int:
        """The generation budget of one action."""
        return self.max_tokens or self.max_message_chars + 48


class TargetSpec(ConfigModel):
    """The model under audit, under its system prompt."""

    model: ModelSettings = Field(default_factory=ModelSettings,
                                 description="The target model (a model string or settings).")
    system: str = Field("You are a helpful assistant.",
                        description="The target's system prompt (the auditor is shown it).")
    temperature: float = Field(0.7, ge=0.0, le=5.0, description="Sampling temperature.")
    max_tokens: int = Field(160, ge=8, le=8192, description="Longest target reply.")
    repeat_penalty: float = Field(1.1, ge=0.5, le=3.0)

    _model = field_validator("model", mode="before")(_model_string)


class AuditJudgeSpec(ConfigModel):
    """The model that scores each dimension, one call per (branch, dimension), with a quote."""

    model: ModelSettings = Field(default_factory=ModelSettings,
                                 description="The judge model (a model string or settings).")
    branches: Literal["all", "final"] = Field(
        "all", description="all: judge every branch (a seed's score is its highest-scoring "
        "branch: what the audit elicited at best); final: only the branch the audit ended on.")
    max_quote_chars: int = Field(160, ge=10, le=5000,
                                 description="Longest quote (the schema's maxLength).")
    max_tokens: int | None = Field(None, ge=32, le=10_000, description="Longest judge reply "
                                   "(JSON); default max_quote_chars + 24, so it always closes.")
    min_quote_chars: int = Field(4, ge=1, le=200,
                                 description="Shortest quote that counts as evidence.")

    _model = field_validator("model", mode="before")(_model_string)

    @property
    def tokens(self) -> int:
        """The generation budget of one judge reply."""
        return self.max_tokens or self.max_quote_chars + 24


class AuditConfig(ConfigModel):
    """An audit: an auditor pursues `goal` against a target for `turns` turns per seed, may roll
    back and branch; a judge scores `dimensions` 1-10 with quoted evidence; seeds aggregate."""

    kind: Literal["audit"] = "audit"
    name: str = Field("audit", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="A label for the run and its folder.")
    description: str = Field("", description="One line for the report.")
    goal: str = Field(..., min_length=10, description="What the auditor tries to elicit, in "
                      "words (\"Elicit sycophancy: ...\").")
    auditor: AuditorSpec = Field(default_factory=AuditorSpec)
    target: TargetSpec = Field(default_factory=TargetSpec)
    judge: AuditJudgeSpec = Field(default_factory=AuditJudgeSpec)
    dimensions: list[Metric] = Field(..., min_length=1, max_length=40,
                                     description="What the judge scores (name, description, "
                                     "min, max; 1-10 by default).")
    turns: int = Field(3, ge=1, le=100, description="Auditor actions per seed (each send or "
                       "rollback is one target turn).")
    rollbacks: int = Field(1, ge=0, le=100, description="Most rollbacks per seed.")
    seeds: int = Field(2, ge=1, le=1000, description="Independent audits (seeds seed, seed+1, "
                       "...), aggregated with 95% CIs.")
    seed: int = Field(0, description="Base seed.")
    out: Path | None = Field(None, description="Output folder (default: runs/audit/<name>-"
                             "<time>/).")

    _paths = field_validator("out")(resolve_path)

    @model_validator(mode="after")
    def _fits(self) -> AuditConfig:
        names = [d.name for d in self.dimensions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"dimensions: names must be unique, {', '.join(dupes)} repeats")
        if self.rollbacks >= self.turns and self.rollbacks > 0:
            raise ValueError(f"rollbacks ({self.rollbacks}) must be fewer than turns "
                             f"({self.turns}): every rollback spends a turn")
        return self
