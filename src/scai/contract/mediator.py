"""The mediator learner (`learner.type: mediator`): the users write the constitution together,
as in DeepMind's Habermas Machine.

Each epoch: every member states an opinion (LLM users, from their persona and the episodes they
took part in) or holds one (scripted users: a hidden utility over principles, mediator_members.py);
the mediator drafts `candidates` principles from the opinions (the meta model, or the scripted
`ladder`); every member ranks them (LLM: structured output, each shown the candidates in its own
seeded order; scripted: by utility, ties in that order); `rule` elects one (every rule is evaluated on the same
rankings and recorded); then for `rounds` rounds the members critique the winner, the mediator
revises it, and the members choose between the two: the revision replaces the winner when the
rule elects it. Last, every member endorses the final text (LLM: a 1-5 rating; scripted: its
utility). Every model call is a keyed step (`e{epoch}|mediator|...`), so a resumed run replays it.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from scai.contract.constitution import Constitution, generality_problem
from scai.contract.learner import LearnContext, MetaLearner
from scai.contract.mediator_members import LADDER, Member, members_of, seen_by
from scai.contract.mediator_record import (
    Mediation,
    MemberVote,
    RevisionRound,
    RuleOutcome,
)
from scai.contract.memory import render_episode
from scai.contract.prompts import PROMPTS as GAME_PROMPTS
from scai.contract.social_choice import (
    condorcet_winner,
    elect,
    every_winner,
    ranking_by_utility,
)
from scai.errors import ConfigError
from scai.llm import Message, ModelSettings
from scai.prompts import PromptBook
from scai.steps import derive_seed

PROMPTS = PromptBook.load(Path(__file__).with_name("mediator_prompts.yaml"))
LETTERS = "ABCDEFGHIJKLMNOP"
SEEN_EPISODES = 3  # of its own episodes an LLM member recalls when it states its opinion


def _schema(field: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": {field: spec or {"type": "string"}},
            "required": [field]}


def repair_ranking(letters: list[str], shown: list[int]) -> tuple[list[int], int]:
    """A full ranking from a member's letters (`shown[k]` is the candidate shown as letter k):
    first mentions in order, then the letters it left out, in the order it was shown them."""
    ranking: list[int] = []
    for letter in letters:
        k = LETTERS.find(letter)
        if 0 <= k < len(shown) and shown[k] not in ranking:
            ranking.append(shown[k])
    missing = [c for c in shown if c not in ranking]
    return ranking + missing, len(missing)


def critique_line(member: Member, text: str) -> str:
    """A scripted member's critique: which way the principle should move for it."""
    g, ideal = LADDER.generosity(text), member.ideal or 0.0
    half_rung = 1 / 16
    which = "fine" if abs(g - ideal) < half_rung else "more" if ideal > g else "less"
    return PROMPTS[f"scripted_{which}"].render()


class MediatorLearner(MetaLearner):
    """Opinions -> drafted candidates -> rankings -> a rule's winner -> critique and revision."""

    users: ModelSettings | None = None  # the LLM members' model, set by `learn`

    # -- a member's moves --------------------------------------------------------------------
    def member_messages(self, m: Member, prompt: str) -> list[Message]:
        """An LLM member's prompt: its persona and hidden view, then the question."""
        policy = f"policy_{m.group}"
        view = PROMPTS["member_view"].render(policy=GAME_PROMPTS[policy].render()) \
            if policy in GAME_PROMPTS else ""
        return [Message(role="system", content=PROMPTS["member_system"].render(
                    persona=m.persona, view=view)),
                Message(role="user", content=prompt)]

    async def ask_member(self, m: Member, key: str, prompt: str, field: str,
                         spec: dict[str, Any] | None = None, tokens: int | None = None) -> Any:
        """One structured answer of an LLM member (None when it failed its schema)."""
        parsed = await self.steps.structured(
            self.users, key, self.member_messages(m, prompt), _schema(field, spec),
            max_tokens=tokens or self.config.member_tokens, kind=f"mediator-{field}")
        return None if parsed is None else parsed[field]

    async def opinion(self, ctx: LearnContext, m: Member) -> str:
        """What a member wants the principle to say (scripted: the ladder rung at its ideal)."""
        if m.ideal is not None:
            return LADDER.nearest(m.ideal).text
        seen = seen_by(m, ctx.window or ctx.episodes)[:SEEN_EPISODES]
        episodes = "\n".join(render_episode(ep, "summary") for ep in seen) or "(nothing yet)"
        said = await self.ask_member(m, f"e{ctx.epoch}|mediator|opinion|{m.id}", PROMPTS[
            "opinion"].render(principle=ctx.constitution.text(), episodes=episodes), "opinion")
        return " ".join(str(said).split()) if said else ""

    async def rank(self, e: int, m: Member, candidates: list[str]) -> tuple[list[int], int]:
        """A member's full ranking of the candidates (best first) and how many it left out."""
        shown = list(range(len(candidates)))
        random.Random(derive_seed(self.steps.seed, f"e{e}|mediator|order|{m.id}")).shuffle(shown)
        if m.ideal is not None:  # by utility; equal utilities in the member's own random order
            u = [m.utility(c) or 0.0 for c in candidates]
            return [shown[k] for k in ranking_by_utility([u[c] for c in shown])], 0
        letters = LETTERS[:len(candidates)]
        listing = "\n".join(PROMPTS["candidate_line"].render(letter=letters[k], text=candidates[c])
                            for k, c in enumerate(shown))
        spec = {"type": "array", "items": {"type": "string", "enum": list(letters)},
                "minItems": len(letters), "maxItems": len(letters)}
        said = await self.ask_member(m, f"e{e}|mediator|rank|{m.id}", PROMPTS["rank"].render(
            candidates=listing, letters=", ".join(letters)), "ranking", spec,
            tokens=8 + 6 * len(letters))
        return repair_ranking(list(said or []), shown)

    async def critique(self, e: int, r: int, m: Member, text: str) -> str:
        """What a member would change in the elected principle, in round `r`."""
        if m.ideal is not None:
            return critique_line(m, text)
        said = await self.ask_member(m, f"e{e}|mediator|critique|r{r}|{m.id}",
                                     PROMPTS["critique"].render(statement=text), "critique")
        return " ".join(str(said).split()) if said else ""

    async def prefers_revision(self, e: int, r: int, i: int, m: Member, winner: str,
                               revision: str) -> bool:
        """Whether a member prefers the revision to the winner."""
        if m.ideal is not None:  # a tie keeps the winner
            return (m.utility(revision) or 0.0) > (m.utility(winner) or 0.0)
        first = (i + r) % 2 == 0  # the revision shown first for half the members
        a, b = (revision, winner) if first else (winner, revision)
        said = await self.ask_member(m, f"e{e}|mediator|prefer|r{r}|{m.id}", PROMPTS[
            "prefer"].render(a=a, b=b), "choice", {"type": "string", "enum": ["A", "B"]},
            tokens=12)
        return said is not None and (said == "A") == first

    async def endorse(self, e: int, m: Member, text: str) -> float | None:
        """A member's endorsement of the final text: LLM 1-5 (None: unreadable); scripted its
        utility."""
        if m.ideal is not None:
            return m.utility(text)
        said = await self.ask_member(m, f"e{e}|mediator|endorse|{m.id}", PROMPTS[
            "endorse"].render(statement=text), "rating",
            {"type": "string", "enum": ["1", "2", "3", "4", "5"]}, tokens=12)
        return None if said is None else float(said)

    # -- the mediator's moves ----------------------------------------------------------------
    async def write(self, key: str, prompt: str, banned: list[str]) -> tuple[str | None, str]:
        """A general statement from the mediator model (re-asked `retries` times), or None and
        why not."""
        messages = [Message(role="system", content=PROMPTS["mediator_system"].render()),
                    Message(role="user", content=prompt)]
        problems = []
        for attempt in range(self.config.retries + 1):
            parsed = await self.steps.structured(
                self.model, f"{key}|try{attempt}", messages, _schema("statement"),
                max_tokens=self.config.max_tokens, kind="mediator-statement")
            if parsed is None:
                problems.append("reply failed its schema")
                continue
            text = " ".join(str(parsed["statement"]).split())
            problem = generality_problem(text, banned)
            if problem is None:
                return text, ""
            problems.append(f"statement {problem}")
        return None, "; ".join(problems)

    async def draft(self, ctx: LearnContext, members: list[Member],
                    opinions: list[str]) -> tuple[list[str], list[str]]:
        """Distinct candidate principles, and what went wrong with the drafts that failed."""
        n, e = self.config.candidates, ctx.epoch
        if self.config.drafter == "ladder":
            rng = random.Random(derive_seed(self.steps.seed, f"e{e}|mediator|ladder"))
            out: list[str] = []
            for _ in range(8 * n):
                if len(out) == n:
                    break
                group = rng.sample(members, rng.randint(1, len(members)))
                rung = LADDER.nearest(sum(m.ideal or 0.0 for m in group) / len(group)).text
                if rung not in out:
                    out.append(rung)
            return out, []
        lines = "\n".join(PROMPTS["opinion_line"].render(name=m.name, text=o or "(no opinion)")
                          for m, o in zip(members, opinions))
        prompt = PROMPTS["draft"].render(principle=ctx.constitution.text(), opinions=lines)
        drafts = await asyncio.gather(*(self.write(f"e{e}|mediator|draft|{i}", prompt, ctx.banned)
                                        for i in range(n)))
        out = list(dict.fromkeys(t for t, _ in drafts if t))
        return out, [why for t, why in drafts if t is None]

    async def revise(self, ctx: LearnContext, r: int, text: str, members: list[Member],
                     critiques: list[str]) -> tuple[str | None, str]:
        """The mediator's revision of `text` after the members' critiques (None: none usable)."""
        if self.config.drafter == "ladder":
            more = sum(c == PROMPTS["scripted_more"].render() for c in critiques)
            less = sum(c == PROMPTS["scripted_less"].render() for c in critiques)
            if more == less:
                return None, f"critiques balanced ({more} more, {less} less)"
            return LADDER.step(text, 1.0 if more > less else 0.0), \
                f"{more} asked for more, {less} for less"
        lines = "\n".join(PROMPTS["opinion_line"].render(name=m.name, text=c or "(no critique)")
                          for m, c in zip(members, critiques))
        return await self.write(f"e{ctx.epoch}|mediator|revise|r{r}", PROMPTS["revise"].render(
            statement=text, critiques=lines), ctx.banned)

    # -- the epoch's deliberation ------------------------------------------------------------
    async def learn(self, ctx: LearnContext) -> Constitution:
        cfg, e = self.config, ctx.epoch
        # LLM members speak with the game's user model (`user_model`, default the assistant's)
        self.users = getattr(getattr(ctx.task, "table", None), "user_model", None) or self.model
        members = members_of(ctx, cfg.members, self.steps.seed)
        if cfg.drafter == "ladder" and any(m.ideal is None for m in members):
            raise ConfigError("learner.drafter ladder drafts from the members' known ideals: "
                              "it needs scripted users (task.users: scripted)")
        opinions = list(await asyncio.gather(*(self.opinion(ctx, m) for m in members)))
        candidates, problems = await self.draft(ctx, members, opinions)
        if len(candidates) < 2:
            return ctx.constitution.model_copy(update={
                "epoch": e + 1, "source": "kept", "rationale": "kept the previous principle: "
                f"{len(candidates)} distinct usable candidate(s) of {cfg.candidates} drafted"
                + "".join(f"; {p}" for p in problems)})
        ranked = await asyncio.gather(*(self.rank(e, m, candidates) for m in members))
        profile = [r for r, _ in ranked]
        scripted = all(m.ideal is not None for m in members)
        utilities = [[m.utility(c) or 0.0 for c in candidates] for m in members] \
            if scripted else None
        winners = every_winner(profile, len(candidates), utilities)
        outcomes = {rule: RuleOutcome(
            winner=w, mean_utility=sum(u[w] for u in utilities) / len(utilities) if utilities
            else None, min_utility=min(u[w] for u in utilities) if utilities else None)
            for rule, w in winners.items()}
        winner = winners[cfg.rule]
        text, rounds, critiques = candidates[winner], [], [[] for _ in members]
        for r in range(cfg.rounds):
            said = list(await asyncio.gather(*(self.critique(e, r, m, text) for m in members)))
            for mine, c in zip(critiques, said):
                mine.append(c)
            revision, note = await self.revise(ctx, r, text, members, said)
            if revision is None or revision == text:
                rounds.append(RevisionRound(round=r, revision=revision, note=note or "unchanged"))
                continue
            prefs = await asyncio.gather(*(self.prefers_revision(e, r, i, m, text, revision)
                                           for i, m in enumerate(members)))
            pair = [[1, 0] if p else [0, 1] for p in prefs]
            pair_u = [[m.utility(text) or 0.0, m.utility(revision) or 0.0] for m in members] \
                if scripted else None
            adopted = elect(cfg.rule, pair, 2, pair_u) == 1
            rounds.append(RevisionRound(round=r, revision=revision, preferred_by=sum(prefs),
                                        adopted=adopted, note=note))
            text = revision if adopted else text
        endorsed = await asyncio.gather(*(self.endorse(e, m, text) for m in members))
        finals = [m.utility(text) for m in members] if scripted else []
        votes = [MemberVote(
            id=m.id, name=m.name, kind=m.kind, group=m.group, ideal=m.ideal, opinion=o, ranking=rk,
            repaired=rep, utilities=utilities[i] if utilities else None,
            winner_rank=rk.index(winner) + 1, critiques=critiques[i], endorsement=en)
            for i, (m, o, (rk, rep), en) in enumerate(zip(members, opinions, ranked, endorsed))]
        record = Mediation(
            epoch=e, rule=cfg.rule, drafter=cfg.drafter, candidates=candidates, members=votes,
            outcomes=outcomes, condorcet=condorcet_winner(profile, len(candidates)),
            winner=winner, rounds=rounds, final=text,
            final_mean_utility=sum(finals) / len(finals) if finals else None,  # type: ignore[arg-type]
            final_min_utility=min(finals) if finals else None,  # type: ignore[type-var]
            endorsement_scale="utility 0-1" if scripted else "rating 1-5")
        return Constitution(principles=[text], epoch=e + 1, source="mediator",
                            rationale=rationale(record), mediation=record)


def rationale(m: Mediation) -> str:
    """The mediation in one paragraph: the vote, every rule's pick, the rounds, the endorsement."""
    picks = ", ".join(f"{rule} c{o.winner}" for rule, o in m.outcomes.items())
    adopted = sum(r.adopted for r in m.rounds)
    rated = [v.endorsement for v in m.members if v.endorsement is not None]
    mean = f"{sum(rated) / len(rated):.2f}" if rated else "n/a"
    line = (f"{m.rule} elected c{m.winner} of {len(m.candidates)} candidates drafted from "
            f"{len(m.members)} members' opinions (every rule: {picks}; Condorcet winner: "
            f"{'none' if m.condorcet is None else f'c{m.condorcet}'}); {adopted} of "
            f"{len(m.rounds)} revision(s) adopted; endorsement mean {mean} ({m.endorsement_scale})")
    if m.final_min_utility is not None:
        line += f", final utility mean {m.final_mean_utility:.2f}, min {m.final_min_utility:.2f}"
    return line
