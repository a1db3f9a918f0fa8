"""The config shared by the games where one player splits an amount with another (ultimatum,
dictator): who plays, the users' groups and scripted offers, the pairings, amounts, currencies and
the assistant's prior. Each game adds its `type` and its own `scripted` section."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel
from scai.contract.tasks.base import TaskConfig
from scai.contract.tasks.society import Manner

Policy = Literal["selfish", "fair", "altruistic"]
POLICIES: tuple[str, ...] = ("selfish", "fair", "altruistic")


class UserGroup(ConfigModel):
    """A share of the fixed-policy users that follow one hidden policy in one manner."""

    policy: Policy
    manner: Manner = "neutral"
    weight: float = Field(1.0, gt=0, description="Relative size of this group among fixed users.")


class OfferShares(ConfigModel):
    """How scripted users offer: a share drawn uniformly from their policy's range."""

    offer_share: dict[Policy, tuple[float, float]] = Field(
        default_factory=lambda: {"selfish": (0.0, 0.2), "fair": (0.45, 0.55),
                                 "altruistic": (0.8, 1.0)},
        description="Per policy: [low, high] share of the amount offered to the partner.",
    )

    @field_validator("offer_share")
    @classmethod
    def _ranges(cls, v: dict) -> dict:
        for policy, (lo, hi) in v.items():
            if not 0 <= lo <= hi <= 1:
                raise ValueError(f"{policy}: need 0 <= low <= high <= 1, got [{lo}, {hi}]")
        return v


class SplitTask(TaskConfig):
    """A game where a proposer splits an amount with a partner (the fields both games share)."""

    predicts_actions: ClassVar[bool] = True
    one_user_at_a_time: ClassVar[bool] = True

    flexible: int = Field(1, ge=1, le=100, description="Flexible agents (follow the constitution).")
    fixed: int = Field(9, ge=0, le=100, description="Fixed-policy agents (the users).")
    users: Literal["scripted", "llm"] = Field(
        "scripted", description="scripted: offers/decisions drawn from `scripted`; llm: a model "
        "prompted with persona + hidden policy + manner.")
    groups: list[UserGroup] = Field(default_factory=lambda: [UserGroup(policy="altruistic")],
                                    min_length=1, description="The users' hidden policies.")
    scripted: OfferShares = Field(default_factory=OfferShares)
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
    def _check(self) -> SplitTask:
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
