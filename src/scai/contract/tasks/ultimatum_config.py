"""The ultimatum game's section of the config file (`task: {type: ultimatum, ...}`): the split
games' shared fields (split_config.py) plus the scripted responders' minimum accepted share."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scai.contract.tasks.society import Manner
from scai.contract.tasks.split_config import POLICIES, OfferShares, Policy, SplitTask, UserGroup

__all__ = ["POLICIES", "Manner", "Policy", "ScriptedPolicy", "UltimatumTask", "UserGroup"]


class ScriptedPolicy(OfferShares):
    """How scripted users act: offers drawn uniformly from a share range; a minimum accepted share."""

    accept_min_share: dict[Policy, float] = Field(
        default_factory=lambda: {"selfish": 0.0, "fair": 0.3, "altruistic": 0.0},
        description="Per policy: the smallest share a scripted responder accepts.",
    )


class UltimatumTask(SplitTask):
    """The ultimatum game of the SCAI paper: a proposer splits an amount, the responder decides."""

    type: Literal["ultimatum"] = "ultimatum"
    scripted: ScriptedPolicy = Field(default_factory=ScriptedPolicy)
