"""The repeated public-goods game: each round every player puts part of an endowment into a pot;
the pot is multiplied and shared equally among all players, whatever each put in.

The assistant (the flexible agents) and the users play `rounds` rounds of one game, seeing the
last round's contributions. Users are scripted (a free rider puts in nothing, a conditional
cooperator last round's mean, a cooperator everything) or a model prompted with persona, hidden
policy and manner. Every contribution is structured output; a reply that fails its schema stops
the game at that round (the rounds before it stand) and is counted, never guessed at.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from scai.config import ConfigModel
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, Player
from scai.contract.metrics import gini
from scai.contract.tasks.base import Observation, Panel, Task, TaskConfig, play_all
from scai.contract.tasks.society import Manner, build_society
from scai.llm import Message
from scai.steps import derive_seed

Contributor = Literal["free_rider", "conditional", "cooperator"]


class ContributorGroup(ConfigModel):
    """A share of the users that contribute by one hidden policy, in one manner."""

    policy: Contributor
    manner: Manner = "neutral"
    weight: float = Field(1.0, gt=0, description="Relative size of this group among the users.")


class PublicGoodsTask(TaskConfig):
    """The repeated public-goods game: contributions to a multiplied pot, shared equally."""

    type: Literal["public_goods"] = "public_goods"
    flexible: int = Field(1, ge=1, le=10, description="Flexible agents (follow the constitution).")
    fixed: int = Field(3, ge=0, le=50, description="Users (fixed policies).")
    users: Literal["scripted", "llm"] = Field(
        "scripted", description="scripted: contributions by policy; llm: a model prompted with "
        "persona + hidden policy + manner.")
    groups: list[ContributorGroup] = Field(
        default_factory=lambda: [ContributorGroup(policy="conditional")], min_length=1,
        description="The users' hidden policies: free_rider, conditional, cooperator.")
    endowment: int = Field(10, ge=1, le=1000, description="What each player gets each round.")
    multiplier: float = Field(1.6, description="The pot is multiplied by this (1 < m < players).")
    rounds: int = Field(5, ge=1, le=50, description="Rounds of one game (its players see the "
                        "last round).")
    games_per_epoch: int = Field(1, ge=1, le=100, description="Games (of `rounds` rounds) an epoch.")
    conditional_start: float = Field(0.5, ge=0, le=1, description="Scripted conditional "
                                     "cooperators' first-round share of the endowment.")
    currencies: list[str] = Field(default_factory=lambda: ["dollars", "coins", "tokens"],
                                  min_length=1, description="One drawn each epoch.")
    prior: Literal["random", "selfish", "fair", "altruistic", "none"] = Field(
        "random", description="The flexible agents' starting principle (epoch 0).")

    @model_validator(mode="after")
    def _check(self) -> PublicGoodsTask:
        n = self.flexible + self.fixed
        if n < 2:
            raise ValueError("need at least 2 players (flexible + fixed)")
        if not 1 < self.multiplier < n:
            raise ValueError(f"multiplier: need 1 < multiplier < players ({n}), got "
                             f"{self.multiplier:g}")
        return self


class Round(BaseModel):
    """One round: what each player (by id) put in and ended the round with."""

    contributions: dict[str, int]
    payoffs: dict[str, float]


class PublicGoodsOutcome(BaseModel):
    """One game: its players, endowment, multiplier, currency and the rounds played."""

    endowment: int
    multiplier: float
    currency: str
    players: list[Player]
    planned_rounds: int
    rounds: list[Round] = Field(default_factory=list)
    stopped: int | None = None  # the round a reply failed its schema (the game ended there)


Game = Episode[PublicGoodsOutcome]


def settle(contributions: dict[str, int], endowment: int, multiplier: float) -> Round:
    """Each player keeps what it did not put in plus an equal share of the multiplied pot."""
    share = multiplier * sum(contributions.values()) / len(contributions)
    return Round(contributions=contributions,
                 payoffs={k: endowment - c + share for k, c in contributions.items()})


def scripted_contribution(policy: str, endowment: int, last: Round | None, start: float) -> int:
    """A scripted user's contribution: nothing, everything, or last round's mean (rounded half
    up; `start` × endowment in the first round)."""
    if policy == "free_rider":
        return 0
    if policy == "cooperator":
        return endowment
    if last is None:
        return math.floor(start * endowment + 0.5)
    values = list(last.contributions.values())
    return math.floor(sum(values) / len(values) + 0.5)


def labels(players: list[Player]) -> dict[str, str]:
    """Player id -> the name metrics use (the id added where two players share a name)."""
    names = [p.name for p in players]
    return {p.id: p.name if names.count(p.name) == 1 else f"{p.name} ({p.id})" for p in players}


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def public_goods_metrics(games: list[Game]) -> dict[str, float | None]:
    """Contribution shares (everyone, the assistant, the users, by round), welfare and payoffs
    per round in endowments (per player `payoff:NAME`, the assistant's, their Gini)."""
    share: dict[str, list[float]] = {"all": [], "flexible": [], "fixed": []}
    by_round: dict[int, list[float]] = defaultdict(list)
    payoff: dict[str, list[float]] = defaultdict(list)
    assistant: list[float] = []
    failures, rounds = 0, 0
    for g in games:
        d = g.data
        failures += len(g.failures)
        kind = {p.id: p.kind for p in d.players}
        name = labels(d.players)
        for r, rnd in enumerate(d.rounds):
            rounds += 1
            for pid, c in rnd.contributions.items():
                s = c / d.endowment
                share["all"].append(s)
                share[kind[pid]].append(s)
                by_round[r + 1].append(s)
                p = rnd.payoffs[pid] / d.endowment
                payoff[name[pid]].append(p)
                if kind[pid] == "flexible":
                    assistant.append(p)
    per = {k: sum(v) / len(v) for k, v in payoff.items()}
    every = [p for v in payoff.values() for p in v]
    out: dict[str, float | None] = {
        "contribution_mean": _mean(share["all"]),
        "contribution_assistant": _mean(share["flexible"]),
        "contribution_users": _mean(share["fixed"]),
        "welfare": _mean(every),
        "payoff_assistant": _mean(assistant),
        "payoff_gini": gini(list(per.values())) if per else None,
    }
    out.update({f"round:{r}": _mean(v) for r, v in sorted(by_round.items())})
    out.update({f"payoff:{k}": v for k, v in sorted(per.items())})
    return {**out, "games": float(len(games)), "rounds": float(rounds),
            "parse_failures": float(failures)}


class PublicGoods(Task):
    """Plays the public-goods games of one run."""

    type = "public_goods"
    config = PublicGoodsTask
    outcome = PublicGoodsOutcome
    game_words = ("game", "pot", "round", "endowment", "multiplier")
    shown = ("contribution_mean", "contribution_assistant", "contribution_users", "welfare",
             "payoff_assistant", "payoff_gini", "parse_failures")
    brief = ("contribution_assistant", "contribution_users", "welfare", "payoff_gini",
             "parse_failures")
    panels = (
        Panel("contribution", "contribution", "share of the endowment put in",
              {"assistant (flexible)": "contribution_assistant", "users (fixed)":
               "contribution_users", "everyone": "contribution_mean"}, True),
        Panel("contribution_by_round", "contribution by round", "share put in (everyone)",
              unit_range=True, prefix="round:"),
        Panel("welfare", "welfare", "payoff a round, in endowments",
              {"everyone (welfare)": "welfare", "assistant": "payoff_assistant"}),
        Panel("payoff_per_persona", "payoff per persona", "payoff a round, in endowments",
              prefix="payoff:"),
        Panel("payoff_gini", "inequality of payoffs", "Gini (0: equal)",
              {"Gini": "payoff_gini"}, True),
    )
    summary_plot = "contribution"
    cfg: PublicGoodsTask

    def __init__(self, cfg, table):
        super().__init__(cfg, table)
        self.players = build_society(cfg.flexible, cfg.fixed, cfg.groups, table.personas,
                                     table.seed)

    def prior(self) -> str:
        if self.cfg.prior != "random":
            return self.cfg.prior
        return random.Random(derive_seed(self.table.seed, "prior")).choice(
            ["selfish", "fair", "altruistic"])

    def initial_constitution(self, prior: str) -> Constitution:
        return Constitution(principles=[] if prior == "none" else
                            [self.prompts[f"prior_{prior}"].render()])

    @classmethod
    def per_epoch(cls, cfg: PublicGoodsTask) -> int:  # type: ignore[override]
        return cfg.games_per_epoch

    def metrics(self, episodes):
        return public_goods_metrics(episodes)

    def score_text(self, metrics):
        a, u, w = (metrics.get(k) for k in ("contribution_assistant", "contribution_users",
                                             "welfare"))
        parts = []
        if a is not None:
            parts.append(f"assistant put in {a:.0%} of its endowment")
        if u is not None:
            parts.append(f"people put in {u:.0%}")
        if w is not None:
            parts.append(f"everyone ended rounds with {w:.2f} times the endowment")
        return ", ".join(parts) or "no finished rounds"

    def objective(self) -> str:
        return self.prompts["objective_public_goods"].render()

    def banned_words(self) -> list[str]:
        return list(self.cfg.currencies)

    def observations(self, episodes: list[Game]) -> list[Observation]:
        """Users' contributions, each against the mirrored one they did not make."""
        out = []
        for e in episodes:
            d = e.data
            users = {p.id for p in d.players if p.kind == "fixed"}
            for rnd in d.rounds:
                for pid, c in rnd.contributions.items():
                    if pid in users and 2 * c != d.endowment:
                        out.append(Observation(
                            situation=self.prompts["public_goods_situation"].render(
                                endowment=d.endowment, currency=d.currency),
                            chosen=f"put {c} into the shared pot",
                            other=f"put {d.endowment - c} into the shared pot"))
        return out

    @classmethod
    def headline(cls, episode: Game) -> str:
        d = episode.data
        put = [c for r in d.rounds for c in r.contributions.values()]
        mean = f"{sum(put) / len(put) / d.endowment:.0%}" if put else "nothing valid"
        return f"{len(d.rounds)} of {d.planned_rounds} rounds, mean contribution {mean}"

    async def play_epoch(self, epoch, constitution, done, on_episode):
        rng = random.Random(derive_seed(self.table.seed, f"e{epoch}|schedule"))
        currency = rng.choice(self.cfg.currencies)
        return await play_all(
            [(f"e{epoch}-g{g}", lambda g=g: self.play(epoch, g, currency, constitution))
             for g in range(self.cfg.games_per_epoch)], done, on_episode)

    async def play(self, epoch: int, g: int, currency: str, constitution: Constitution) -> Game:
        """One game of `rounds` rounds; a contribution that fails its schema ends it there."""
        cfg = self.cfg
        game = Game(id=f"e{epoch}-g{g}", epoch=epoch, task="public_goods", data=PublicGoodsOutcome(
            endowment=cfg.endowment, multiplier=cfg.multiplier, currency=currency,
            players=self.players, planned_rounds=cfg.rounds))
        last: Round | None = None
        for r in range(cfg.rounds):
            put = await asyncio.gather(*(self.contribute(
                game, f"e{epoch}|g{g}|r{r}|{p.id}", p, r, last, constitution)
                for p in self.players))
            if any(c is None for c in put):
                game.data.stopped = r
                game.say("referee", "outcome", f"Round {r + 1}: a contribution could not be "
                         "read; the game ends here.")
                break
            last = settle({p.id: c for p, c in zip(self.players, put)}, cfg.endowment,  # type: ignore[misc]
                          cfg.multiplier)
            game.data.rounds.append(last)
            for p, c in zip(self.players, put):
                game.say(p.name, "assistant" if p.kind == "flexible" else "user",
                         f"Round {r + 1}: {p.name} puts {c} of {cfg.endowment} {currency} in.")
            pot = sum(last.contributions.values())
            game.say("referee", "outcome", f"Round {r + 1}: the pot of {pot} becomes "
                     f"{pot * cfg.multiplier:g}; each player gets {pot * cfg.multiplier / len(put):.1f}.")
        return game

    # -- one contribution ---------------------------------------------------------------------------
    def _system(self, p: Player, constitution: Constitution) -> str:
        if p.kind == "flexible":
            return self.prompts["flexible_system"].render(principles=constitution.text())
        return self.prompts["user_system"].render(
            persona=p.persona, policy=self.prompts[f"policy_{p.policy}"].render(),
            manner=self.prompts[f"manner_{p.manner}"].render())

    def contribute_prompt(self, p: Player, r: int, last: Round | None, currency: str) -> str:
        """What a player is shown before it puts in: the rules and the last round."""
        cfg = self.cfg
        seen = self.prompts["public_goods_first"].render() if last is None else \
            self.prompts["public_goods_last"].render(
                contributions=", ".join(str(c) for c in last.contributions.values()),
                mean=f"{sum(last.contributions.values()) / len(last.contributions):.1f}",
                you=last.contributions[p.id], payoff=f"{last.payoffs[p.id]:g}", currency=currency)
        return self.prompts["public_goods_contribute"].render(
            round=r + 1, rounds=cfg.rounds, endowment=cfg.endowment, currency=currency,
            others=len(self.players) - 1, multiplier=f"{cfg.multiplier:g}",
            players=len(self.players), last=seen)

    async def contribute(self, game: Game, key: str, p: Player, r: int, last: Round | None,
                         constitution: Constitution) -> int | None:
        """One player's contribution this round (None: its reply failed its schema)."""
        cfg = self.cfg
        if p.kind == "fixed" and cfg.users == "scripted":
            return scripted_contribution(str(p.policy), cfg.endowment, last, cfg.conditional_start)
        schema = {"type": "object", "properties": {"contribution": {
            "type": "integer", "minimum": 0, "maximum": cfg.endowment}},
            "required": ["contribution"]}
        messages = [Message(role="system", content=self._system(p, constitution)),
                    Message(role="user", content=self.contribute_prompt(
                        p, r, last, game.data.currency))]
        model = self.table.model if p.kind == "flexible" else self.table.user_model
        parsed = await self.table.steps.structured(model, f"{key}|contribute", messages, schema,
                                                   max_tokens=16, kind="contribution")
        if parsed is None:
            game.failures.append("contribution")
            return None
        return int(parsed["contribution"])
