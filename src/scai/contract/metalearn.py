"""Meta-learners: read an epoch's episodes and write the next constitution.

`RewriteLearner` is the SCAI meta-prompt (critique, then one general principle). `VotingLearner`
follows Inverse Constitutional AI: propose principles from single episodes, merge near-duplicates,
test each against observed choices, keep those that predict them. `BayesLearner` (bayes.py)
keeps a posterior over candidate principles. Add a learner by subclassing `MetaLearner`
(`async learn(ctx) -> Constitution`) and listing it in `LEARNERS`; the config's `learner.type` is
checked against that registry. What a learner sees is a `LearnContext`, assembled by
`learning_context` from the game (`Task`) and the memory settings (the protocol: learner.py).
"""

from __future__ import annotations

import asyncio
import random

from scai.contract.bayes import BayesLearner
from scai.contract.constitution import (
    Constitution,
    generality_problem,
    merge_by_meaning,
    merge_similar,
)
from scai.contract.episode import Episode
from scai.contract.learner import (
    LEARNERS,
    LearnContext,
    LearnerConfig,
    MetaLearner,
    learning_context,
)
from scai.contract.mediator import MediatorLearner
from scai.contract.memory import render_episode, render_memory
from scai.contract.prompts import PROMPTS
from scai.contract.tasks.base import Observation
from scai.llm import Message
from scai.steps import derive_seed

__all__ = ["LEARNERS", "BayesLearner", "LearnContext", "LearnerConfig", "MetaLearner",
           "RewriteLearner", "VotingLearner", "learning_context", "merge_by_meaning",
           "merge_similar", "vote_scores"]


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


# learner.type -> class (the registry itself lives in scai.contract.learner)
LEARNERS.update({"rewrite": RewriteLearner, "voting": VotingLearner, "bayes": BayesLearner,
                 "mediator": MediatorLearner})
