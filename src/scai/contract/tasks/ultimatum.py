"""The ultimatum game (SCAI paper setting): a proposer splits an amount, the responder decides.

Fixed agents (users) follow a hidden policy in a manner of speaking, either scripted (offers drawn
from a stated range) or played by a model. Flexible agents follow the assistant's constitution.
Offers and decisions are structured output; a reply that fails its schema voids the game and is
counted, never guessed at.
"""

from __future__ import annotations

import math
import random
from typing import Any, Literal

from pydantic import BaseModel

from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, Player
from scai.contract.tasks.base import Observation, Panel, Task, play_all
from scai.contract.tasks.society import build_society
from scai.contract.tasks.split_config import SplitTask
from scai.contract.tasks.ultimatum_config import UltimatumTask
from scai.llm import Message
from scai.llm.scoring import integer_distribution, integer_prefixes
from scai.steps import derive_seed

OOD_CURRENCIES = ["grams of medicine", "pints of blood", "litres of baby formula"]


class UltimatumOutcome(BaseModel):
    """One game: the split on the table, who played, the offer, the decision and the payoffs."""

    amount: int
    currency: str
    proposer: Player
    responder: Player
    offer: int | None = None
    share: float | None = None
    decision: Literal["accept", "reject"] | None = None
    payoff_proposer: int = 0
    payoff_responder: int = 0
    message: str | None = None
    offer_reason: str | None = None
    decision_reason: str | None = None


Game = Episode[UltimatumOutcome]
#: The flexible agent outside any game: whose choices `sample_offer` and the distributions read.
PROBE = Player(id="probe", name="Assistant", kind="flexible")


def schedule(task: SplitTask, players: list[Player], epoch: int, seed: int):
    """This epoch's amount, currency and (proposer, responder) pairs: all drawn from the seed."""
    rng = random.Random(derive_seed(seed, f"e{epoch}|schedule"))
    amount = rng.randint(*task.amount)
    currency = rng.choice(task.currencies)
    flex = [p for p in players if p.kind == "flexible"]
    fixed = [p for p in players if p.kind == "fixed"]

    def two(a: list[Player], b: list[Player]) -> tuple[Player, Player]:
        x = rng.choice(a)
        rest = [p for p in b if p.id != x.id] or b  # one flexible agent may play itself
        return x, rng.choice(rest)

    kinds: list[str] = []
    if task.pairs:
        for kind, n in task.pairs.items():
            kinds += [kind] * n
    pairs = []
    for g in range(len(kinds) or task.games_per_epoch):
        if kinds:
            kind = kinds[g]
            x, y = two(fixed, fixed) if kind == "fixed_fixed" else two(flex, flex) \
                if kind == "flexible_flexible" else two(flex, fixed)
            if rng.random() < 0.5:
                x, y = y, x
        else:
            x, y = two(players, players)
        pairs.append((x, y))
    return amount, currency, pairs


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def ultimatum_metrics(games: list[Game]) -> dict[str, float | None]:
    """Share offered to the responder by flexible vs fixed proposers, acceptance, incomes, gap."""
    share: dict[str, list[float]] = {"flexible": [], "fixed": []}
    income: dict[str, list[float]] = {"flexible": [], "fixed": []}
    decided, accepted, failures = 0, 0, 0
    for g in games:
        d = g.data
        failures += len(g.failures)
        if d.offer is None or d.share is None:
            continue
        share[d.proposer.kind].append(d.share)
        if d.decision is None:
            continue
        decided += 1
        accepted += d.decision == "accept"
        income[d.proposer.kind].append(d.payoff_proposer / d.amount)
        income[d.responder.kind].append(d.payoff_responder / d.amount)
    flex, fixed = _mean(share["flexible"]), _mean(share["fixed"])
    return {
        "share_flexible": flex,
        "share_fixed": fixed,
        "gap": abs(flex - fixed) if flex is not None and fixed is not None else None,
        "acceptance": accepted / decided if decided else None,
        "income_flexible": _mean(income["flexible"]),
        "income_fixed": _mean(income["fixed"]),
        "games": float(len(games)),
        "parse_failures": float(failures),
    }


class Ultimatum(Task):
    """Plays the ultimatum games of one run."""

    type = "ultimatum"
    config = UltimatumTask
    outcome = UltimatumOutcome
    game_words = ("ultimatum", "game", "proposer", "responder")
    shown = ("share_flexible", "share_fixed", "gap", "acceptance", "income_flexible",
             "income_fixed", "parse_failures")
    panels = (
        Panel("offered_share", "offered share", "share offered to the responder",
              {"assistant (flexible)": "share_flexible", "users (fixed)": "share_fixed"}, True),
        Panel("acceptance", "acceptance", "share of offers accepted",
              {"acceptance": "acceptance"}, True),
        Panel("income", "income", "share of the amount kept",
              {"assistant (flexible)": "income_flexible", "users (fixed)": "income_fixed"}, True),
        # a society of several groups (contract/groups.py): by true group, and the router
        Panel("group_share", "share offered to each group", "share offered to the group",
              {}, True, prefix="group_share:"),
        Panel("group_gap", "gap to each group's own offers", "|assistant - group|", {}, True,
              prefix="group_gap:"),
        Panel("routing", "router accuracy", "users served their group's constitution",
              {"routing accuracy": "routing_accuracy"}, True),
    )
    brief = ("share_flexible", "share_fixed", "acceptance", "income_flexible", "parse_failures")
    summary_plot = "offered_share"
    paper_metric = ("share_flexible", "flexible agents' offered share")
    cfg: UltimatumTask

    def __init__(self, cfg, table):
        super().__init__(cfg, table)
        self.players = build_society(cfg.flexible, cfg.fixed, cfg.groups, table.personas, table.seed)
        self._prior = self.prior()

    # -- what the loop and the learners read ------------------------------------------------------
    def prior(self) -> str:
        if self.cfg.prior != "random":
            return self.cfg.prior
        return random.Random(derive_seed(self.table.seed, "prior")).choice(
            ["selfish", "fair", "altruistic"])

    def prior_text(self, prior: str) -> str | None:
        """The prior's principle (None for `none`)."""
        return None if prior == "none" else self.prompts[f"prior_{prior}"].render()

    def initial_constitution(self, prior: str) -> Constitution:
        text = self.prior_text(prior)
        return Constitution(principles=[text] if text else [])

    @classmethod
    def per_epoch(cls, cfg: UltimatumTask) -> int:  # type: ignore[override]
        return sum(cfg.pairs.values()) if cfg.pairs else cfg.games_per_epoch

    def metrics(self, episodes):
        return ultimatum_metrics(episodes)

    def score_text(self, metrics):
        inc, acc = metrics.get("income_flexible"), metrics.get("acceptance")
        parts = []
        if inc is not None:
            parts.append(f"assistant kept {inc:.0%} of amounts on average")
        if acc is not None:
            parts.append(f"{acc:.0%} of deals accepted")
        return ", ".join(parts) or "no finished deals"

    def objective(self) -> str:
        return self.prompts["objective_ultimatum"].render()

    def banned_words(self) -> list[str]:
        return [*self.cfg.currencies, *OOD_CURRENCIES]

    def observations(self, episodes: list[Game]) -> list[Observation]:
        """Users' own offers, each against the mirrored split they did not choose."""
        out = []
        for e in episodes:
            d = e.data
            if d.offer is None or d.proposer.kind != "fixed" or 2 * d.offer == d.amount:
                continue
            out.append(Observation(
                situation=f"You have {d.amount} {d.currency} to split with a partner.",
                chosen=f"give the partner {d.offer}", other=f"give the partner {d.amount - d.offer}"))
        return out

    @classmethod
    def headline(cls, episode: Game) -> str:
        d = episode.data
        return (f"{d.proposer.name} offers {d.offer} of {d.amount} {d.currency} → "
                f"{d.decision or 'no decision'}")

    @classmethod
    def eval_variants(cls, cfg: UltimatumTask) -> list[tuple[str, UltimatumTask]]:  # type: ignore[override]
        """The paper's OOD test: with and without the prior, with and without a reason."""
        return [(f"{'with' if prior else 'without'} prior, {'with' if reason else 'no'} reason",
                 cfg.model_copy(update={"keep_prior": prior, "ask_reason": reason}))
                for prior in (True, False) for reason in (False, True)]

    #: per-group constitutions (contract/groups.py): user id -> the constitution the assistant
    #: follows facing that user; None: `constitution` in every game
    facing: dict[str, Constitution] | None = None

    async def play_epoch(self, epoch, constitution, done, on_episode):
        amount, currency, pairs = schedule(self.cfg, self.players, epoch, self.table.seed)
        facing = self.facing or {}

        def faced(x: Player, y: Player) -> Constitution:
            return facing.get(y.id if x.kind == "flexible" else x.id, constitution)

        return await play_all(
            [(f"e{epoch}-g{g}", lambda g=g, x=x, y=y: self.play(
                epoch, g, amount, currency, x, y, faced(x, y)))
             for g, (x, y) in enumerate(pairs)], done, on_episode)

    # -- system prompts ---------------------------------------------------------------------------
    def flexible_system(self, constitution: Constitution) -> str:
        """The assistant's system prompt: the constitution (and the prior, if kept)."""
        text = constitution.text()
        prior = self.prior_text(self._prior)
        if self.cfg.keep_prior and prior and constitution.source != "prior":
            text += "\n" + self.prompts["prior_line"].render(prior=prior)
        return self.prompts["flexible_system"].render(principles=text)

    def user_system(self, p: Player) -> str:
        """An LLM user's system prompt: persona, hidden policy, manner."""
        return self.prompts["user_system"].render(
            persona=p.persona, policy=self.prompts[f"policy_{p.policy}"].render(),
            manner=self.prompts[f"manner_{p.manner}"].render())

    def _messages(self, p: Player, constitution: Constitution, prompt: str) -> list[Message]:
        system = self.flexible_system(constitution) if p.kind == "flexible" else self.user_system(p)
        return [Message(role="system", content=system), Message(role="user", content=prompt)]

    def _model(self, p: Player):
        return self.table.model if p.kind == "flexible" else self.table.user_model

    def _scripted(self, p: Player) -> bool:
        return p.kind == "fixed" and self.cfg.users == "scripted"

    def _propose_prompt(self, amount: int, currency: str, partner: str, reason: bool) -> str:
        return self.prompts["propose"].render(
            amount=amount, currency=currency, partner=partner,
            reason=self.prompts["reason_field"].render() if reason else "",
            message=self.prompts["propose_message"].render() if self.cfg.messages else ".")

    def _respond_prompt(self, amount: int, currency: str, partner: str, offer: int,
                        message: str, reason: bool) -> str:
        said = self.prompts["said"].render(text=message) if message else ""
        return self.prompts["respond_reason" if reason else "respond"].render(
            amount=amount, currency=currency, partner=partner, offer=offer,
            keep=amount - offer, message=said)

    # -- one game ---------------------------------------------------------------------------------
    async def play(self, epoch: int, g: int, amount: int, currency: str, proposer: Player,
                   responder: Player, constitution: Constitution) -> Game:
        """One game: an offer, then (if it parsed) a decision; a failed reply voids it."""
        game = Game(id=f"e{epoch}-g{g}", epoch=epoch, task="ultimatum", data=UltimatumOutcome(
            amount=amount, currency=currency, proposer=proposer, responder=responder))
        key = f"e{epoch}|g{g}"
        offer, message = await self._offer(game, key, proposer, responder, constitution)
        if offer is None:
            game.say("referee", "outcome", "No valid offer; the game is void.")
            return game
        game.data.offer, game.data.share, game.data.message = offer, offer / amount, message
        said = f' and says: "{message}"' if message else ""
        game.say(proposer.name, "proposer",
                 f"{proposer.name} offers {responder.name} {offer} of {amount} {currency}{said}")
        decision = await self._decide(game, key, responder, proposer, offer, message, constitution)
        if decision is None:
            game.say("referee", "outcome", "No valid decision; the game is void.")
            return game
        accepted = decision == "accept"
        game.data.decision = decision
        game.data.payoff_proposer = (amount - offer) if accepted else 0
        game.data.payoff_responder = offer if accepted else 0
        game.say(responder.name, "responder", f"{responder.name} {decision}s.")
        return game

    # -- the flexible agent's choices as distributions (log-probabilities; steerability, bayes) --
    def proposer_messages(self, constitution: Constitution, amount: int, currency: str,
                          partner: str = "Sam") -> list[Message]:
        """What the flexible agent is shown when it proposes (as in a game, no reason asked)."""
        return self._messages(PROBE, constitution,
                              self._propose_prompt(amount, currency, partner, reason=False))

    async def sample_offer(self, constitution: Constitution, amount: int, currency: str,
                           key: str, partner: str = "Sam") -> int | None:
        """One offer the flexible agent makes under `constitution`, sampled as in a game (the
        same prompt, schema and sampling settings; seeded by `key`); None if it did not parse."""
        other = Player(id="partner", name=partner, kind="fixed")
        game = Game(id=key, epoch=0, task="ultimatum", data=UltimatumOutcome(
            amount=amount, currency=currency, proposer=PROBE, responder=other))
        offer, _ = await self._offer(game, key, PROBE, other, constitution, ask_reason=False)
        return offer

    async def offer_distribution(self, constitution: Constitution, amount: int, currency: str,
                                 key: str) -> dict[int, float]:
        """P(offer = n) for n in 0..amount under `constitution`: the model's own probability of
        each number as its reply `{"offer": n`, read digit by digit (scai.llm.scoring)."""
        prefixes = integer_prefixes(0, amount)
        logprobs = await self.table.steps.score(
            self.table.model, key, self.proposer_messages(constitution, amount, currency),
            ['{"offer": ' + p for p in prefixes], kind="offer-distribution")
        return integer_distribution(dict(zip(prefixes, logprobs)), 0, amount)

    async def accept_probability(self, constitution: Constitution, amount: int, currency: str,
                                 offer: int, key: str, partner: str = "Sam") -> float:
        """P(accept) of the flexible agent as responder to `offer` under `constitution`."""
        messages = self._messages(PROBE, constitution, self._respond_prompt(
            amount, currency, partner, offer, message="", reason=False))
        acc, rej = await self.table.steps.score(
            self.table.model, key, messages, ['{"decision": "accept"', '{"decision": "reject"'],
            kind="decision-distribution")
        top = max(acc, rej)
        return math.exp(acc - top) / (math.exp(acc - top) + math.exp(rej - top))

    async def _offer(self, game: Game, key: str, p: Player, partner: Player,
                     constitution: Constitution, ask_reason: bool | None = None,
                     ) -> tuple[int | None, str]:
        amount, currency = game.data.amount, game.data.currency
        if self._scripted(p):
            rng = random.Random(derive_seed(self.table.seed, f"{key}|offer"))
            lo, hi = self.cfg.scripted.offer_share[p.policy]  # type: ignore[index]
            offer = max(0, min(amount, round(rng.uniform(lo, hi) * amount)))
            text = self.prompts[f"scripted_{p.manner}"].render(offer=offer, currency=currency)
            return offer, text if self.cfg.messages else ""
        asked = self.cfg.ask_reason if ask_reason is None else ask_reason
        reason = asked and p.kind == "flexible"
        props: dict[str, Any] = {}
        if reason:
            props["reason"] = {"type": "string"}
        props["offer"] = {"type": "integer", "minimum": 0, "maximum": amount}
        if self.cfg.messages:
            props["message"] = {"type": "string"}
        schema = {"type": "object", "properties": props, "required": list(props)}
        prompt = self._propose_prompt(amount, currency, partner.name, reason)
        parsed = await self.table.steps.structured(
            self._model(p), f"{key}|propose", self._messages(p, constitution, prompt), schema,
            kind="offer")
        if parsed is None:
            game.failures.append("offer")
            return None, ""
        if parsed.get("reason"):
            game.data.offer_reason = parsed["reason"]
        return int(parsed["offer"]), str(parsed.get("message", "")).strip()[:300]

    async def _decide(self, game: Game, key: str, p: Player, partner: Player, offer: int,
                      message: str, constitution: Constitution) -> str | None:
        amount, currency = game.data.amount, game.data.currency
        if self._scripted(p):
            need = self.cfg.scripted.accept_min_share[p.policy]  # type: ignore[index]
            return "accept" if offer / amount >= need - 1e-9 else "reject"
        reason = self.cfg.ask_reason and p.kind == "flexible"
        props: dict[str, Any] = {"reason": {"type": "string"}} if reason else {}
        props["decision"] = {"type": "string", "enum": ["accept", "reject"]}
        schema = {"type": "object", "properties": props, "required": list(props)}
        prompt = self._respond_prompt(amount, currency, partner.name, offer, message, reason)
        parsed = await self.table.steps.structured(
            self._model(p), f"{key}|respond", self._messages(p, constitution, prompt), schema,
            max_tokens=48 if reason else 12, kind="decision")
        if parsed is None:
            game.failures.append("decision")
            return None
        if parsed.get("reason"):
            game.data.decision_reason = parsed["reason"]
        return parsed["decision"]
