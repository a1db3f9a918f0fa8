"""The Bayesian constitution learner (`learner.type: bayes`): the meta-model as posterior
sampling over policies (Bayesian inverse RL with Thompson sampling).

Candidates are the three prior principles plus principles proposed from observed episodes (a
few per epoch, merged, general ones only); the pool accumulates in the constitution's
`posterior` record, so the next epoch and a resumed run start from it. A candidate's likelihood
is the probability, under the assistant model following it, of what the users did in the memory
window: the fixed proposers' offers read at share-bucket grain and the fixed responders'
decisions on a few distinct offers, each smoothed by an `epsilon` uniform mixture. Posterior =
uniform prior × likelihood^(1/temperature); the next constitution is a Thompson sample from it
(or its MAP). Every likelihood is one keyed scoring step (`e{epoch}|lik|c{i}|a{amount}|...`),
so a resumed run replays it without the model.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scai.contract.constitution import (
    Candidate,
    Constitution,
    generality_problem,
    merge_by_meaning,
    merge_similar,
)
from scai.contract.episode import Episode
from scai.contract.learner import LearnContext, MetaLearner
from scai.contract.memory import render_episode
from scai.contract.prompts import PROMPTS
from scai.contract.tasks.base import task_types
from scai.contract.tasks.ultimatum_config import POLICIES as PRIORS
from scai.errors import ConfigError
from scai.llm import Message
from scai.steps import derive_seed


class PredictsActions(Protocol):
    """What the bayes learner asks of a game: the assistant's action distributions."""

    async def offer_distribution(self, constitution: Constitution, amount: int, currency: str,
                                 key: str) -> dict[int, float]: ...

    async def accept_probability(self, constitution: Constitution, amount: int, currency: str,
                                 offer: int, key: str) -> float: ...

    def prior_text(self, prior: str) -> str | None: ...


# -- the math (pure functions) --------------------------------------------------------------------
def share_bucket(offer: int, amount: int, buckets: int) -> int:
    """The equal share bin of `offer` out of `amount` (the last bin includes a share of 1)."""
    return min(int(offer / amount * buckets), buckets - 1)


def bucketed(distribution: dict[int, float], amount: int, buckets: int) -> list[float]:
    """An exact offer distribution summed into `buckets` equal share bins."""
    out = [0.0] * buckets
    for offer, p in distribution.items():
        out[share_bucket(offer, amount, buckets)] += p
    return out


def smoothed(probabilities: Sequence[float], epsilon: float) -> list[float]:
    """(1 - epsilon) × p + epsilon × uniform: no outcome keeps probability zero."""
    return [(1 - epsilon) * p + epsilon / len(probabilities) for p in probabilities]


def offers_log_likelihood(distribution: dict[int, float], offers: Sequence[int], amount: int,
                          buckets: int, epsilon: float) -> float:
    """Log-probability of the observed offers, each read as its share bucket."""
    probs = smoothed(bucketed(distribution, amount, buckets), epsilon)
    return sum(math.log(probs[share_bucket(o, amount, buckets)]) for o in offers)


def decisions_log_likelihood(p_accept: float, accepts: int, rejects: int,
                             epsilon: float) -> float:
    """Log-probability of `accepts` accepts and `rejects` rejects of one offer."""
    acc, rej = smoothed([p_accept, 1 - p_accept], epsilon)
    return accepts * math.log(acc) + rejects * math.log(rej)


def posterior(log_likelihoods: Sequence[float], temperature: float = 1.0,
              log_prior: Sequence[float] | None = None) -> list[float]:
    """Normalised prior × likelihood^(1/temperature), computed in log space (uniform prior)."""
    prior = log_prior or [0.0] * len(log_likelihoods)
    logs = [lp + ll / temperature for lp, ll in zip(prior, log_likelihoods)]
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = sum(weights)
    return [w / total for w in weights]


def thompson(probabilities: Sequence[float], rng: random.Random) -> int:
    """The index of one draw from `probabilities`."""
    u, acc = rng.random(), 0.0
    for i, p in enumerate(probabilities):
        acc += p
        if u < acc:
            return i
    return len(probabilities) - 1


# -- the evidence ---------------------------------------------------------------------------------
@dataclass
class Evidence:
    """What the users did: offers by (amount, currency); decisions by (amount, currency, offer)."""

    offers: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    decisions: dict[tuple[int, str, int], list[int]] = field(default_factory=dict)  # [acc, rej]

    def describe(self) -> str:
        offers = sum(len(v) for v in self.offers.values())
        decided = sum(sum(v) for v in self.decisions.values())
        return (f"{offers} user offer(s), {decided} user decision(s) on "
                f"{len(self.decisions)} distinct offer(s)")


def user_evidence(episodes: Sequence[Episode], decisions: int, rng: random.Random) -> Evidence:
    """The fixed proposers' offers and the fixed responders' decisions on at most `decisions`
    distinct offers (drawn with `rng`) in `episodes`."""
    ev = Evidence()
    tallies: dict[tuple[int, str, int], list[int]] = {}
    for ep in episodes:
        d: Any = ep.data
        if d.offer is None:
            continue
        if d.proposer.kind == "fixed":
            ev.offers.setdefault((d.amount, d.currency), []).append(d.offer)
        if d.responder.kind == "fixed" and d.decision is not None:
            tally = tallies.setdefault((d.amount, d.currency, d.offer), [0, 0])
            tally[d.decision != "accept"] += 1
    keys = sorted(tallies)
    rng.shuffle(keys)
    ev.decisions = {k: tallies[k] for k in sorted(keys[:decisions])}
    return ev


def bayes_problem(task_type: str) -> str:
    """The one-line error for a game the bayes learner cannot read actions from."""
    return (f"learner bayes needs a game that gives the assistant's action distributions "
            f"(task.type {' or '.join(task_types('predicts_actions'))}), not {task_type!r}")


# -- the learner ----------------------------------------------------------------------------------
class BayesLearner(MetaLearner):
    """Posterior over candidate principles from the users' actions; Thompson sample or MAP."""

    def predictor(self, ctx: LearnContext) -> PredictsActions:
        """The game, if it can say how the assistant would act under a principle."""
        task = ctx.task
        if task is None or not all(hasattr(task, name) for name in (
                "offer_distribution", "accept_probability", "prior_text")):
            raise ConfigError(bayes_problem(getattr(task, "type", "none")))
        return task  # type: ignore[return-value]

    def pool(self, ctx: LearnContext, game: PredictsActions) -> list[tuple[str, str]]:
        """(principle, source) of every candidate so far, in the order they joined."""
        if ctx.constitution.posterior:
            return [(c.principle, c.source) for c in ctx.constitution.posterior]
        out = [(text, f"prior:{p}") for p in PRIORS if (text := game.prior_text(p))]
        out += [(p, ctx.constitution.source) for p in ctx.constitution.principles
                if p not in {t for t, _ in out}]
        return out

    async def propose(self, ctx: LearnContext, pool: list[tuple[str, str]]) -> list[str]:
        """New general principles proposed from the users' episodes, none like one in `pool`."""
        users = [ep for ep in ctx.episodes if getattr(ep.data, "proposer", None) is not None
                 and ep.data.proposer.kind == "fixed"]
        ids = {ep.id for ep in users}
        sources = (users + [ep for ep in ctx.episodes if ep.id not in ids])[:self.config.proposals]
        schema = {"type": "object", "properties": {"principle": {"type": "string"}},
                  "required": ["principle"]}

        async def one(i: int, ep: Episode) -> dict[str, Any] | None:
            msg = PROMPTS["propose_principle"].render(episode=render_episode(ep))
            return await self.steps.structured(
                self.model, f"e{ctx.epoch}|bayes|propose|{i}", [Message(role="user", content=msg)],
                schema, max_tokens=self.config.max_tokens, kind="propose")

        replies = await asyncio.gather(*(one(i, ep) for i, ep in enumerate(sources)))
        texts = [t for t, _ in pool]
        new: list[str] = []
        for reply in replies:
            p = " ".join(reply["principle"].split()) if reply else ""
            if not p or generality_problem(p, ctx.banned) is not None or p in texts + new:
                continue
            if len(self.merge([*texts, *new, p])) > len(self.merge([*texts, *new])):
                new.append(p)
        return new

    def merge(self, principles: list[str]) -> list[str]:
        """The config's way of merging principles that say the same thing."""
        if self.config.merge == "embeddings":
            return merge_by_meaning(principles, self.config.merge_threshold)
        return merge_similar(principles)

    async def log_likelihood(self, game: PredictsActions, epoch: int, i: int, principle: str,
                             ev: Evidence) -> float:
        """Log-probability of the users' actions under candidate `i` (keyed scoring steps)."""
        c = Constitution(principles=[principle], epoch=epoch + 1, source="bayes")
        cfg = self.config

        async def offers(amount: int, currency: str, seen: list[int]) -> float:
            dist = await game.offer_distribution(
                c, amount, currency, f"e{epoch}|lik|c{i}|a{amount}|{currency}")
            return offers_log_likelihood(dist, seen, amount, cfg.buckets, cfg.epsilon)

        async def decisions(amount: int, currency: str, offer: int, tally: list[int]) -> float:
            p = await game.accept_probability(
                c, amount, currency, offer, f"e{epoch}|lik|c{i}|a{amount}|{currency}|o{offer}")
            return decisions_log_likelihood(p, tally[0], tally[1], cfg.epsilon)

        parts = await asyncio.gather(
            *(offers(a, cur, seen) for (a, cur), seen in ev.offers.items()),
            *(decisions(a, cur, o, t) for (a, cur, o), t in ev.decisions.items()))
        return float(sum(parts))

    async def learn(self, ctx: LearnContext) -> Constitution:
        e, cfg = ctx.epoch, self.config
        game = self.predictor(ctx)
        pool = self.pool(ctx, game)
        pool += [(p, f"proposed:e{e}") for p in await self.propose(ctx, pool)]
        seen = (ctx.played if cfg.evidence == "all" else ctx.window) or ctx.episodes
        ev = user_evidence(seen, cfg.decisions,
                           random.Random(derive_seed(self.steps.seed, f"e{e}|decisions")))
        liks = await asyncio.gather(*(self.log_likelihood(game, e, i, p, ev)
                                      for i, (p, _) in enumerate(pool)))
        probs = posterior(liks, cfg.temperature)
        best = max(range(len(pool)), key=lambda i: probs[i])
        chosen = best if cfg.pick == "map" else thompson(
            probs, random.Random(derive_seed(self.steps.seed, f"e{e}|thompson")))
        record = [Candidate(principle=p, log_likelihood=ll, probability=pr, source=s)
                  for (p, s), ll, pr in zip(pool, liks, probs)]
        how = "MAP" if cfg.pick == "map" else "Thompson sample"
        rationale = (f"posterior over {len(pool)} candidates from {ev.describe()} "
                     f"(temperature {cfg.temperature:g}); {how}: candidate {chosen} "
                     f"(p={probs[chosen]:.2f}); MAP: {pool[best][0][:60]!r} (p={probs[best]:.2f})")
        return Constitution(principles=[pool[chosen][0]], epoch=e + 1, rationale=rationale,
                            source="bayes", posterior=record)
