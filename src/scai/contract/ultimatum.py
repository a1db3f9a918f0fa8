"""The ultimatum game (SCAI paper setting): a proposer splits an amount, the responder decides.

Fixed agents (users) follow a hidden policy in a manner of speaking, either scripted (offers drawn
from a stated range) or played by a model. Flexible agents follow the assistant's constitution.
Offers and decisions are structured output; a reply that fails its schema voids the game and is
counted, never guessed at.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from scai.contract.config import ContractConfig, UltimatumTask
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, Player
from scai.contract.persona import Persona
from scai.contract.prompts import PROMPTS
from scai.contract.steps import Caller
from scai.converse.engine import derive_seed
from scai.llm import Message


def build_society(task: UltimatumTask, personas: list[Persona], seed: int) -> list[Player]:
    """Flexible agents first, then fixed users with policies split by group weight."""
    rng = random.Random(derive_seed(seed, "society"))
    people = list(personas)
    rng.shuffle(people)
    players = [Player(id=f"flex{i}", name=f"Assistant-{i + 1}" if task.flexible > 1 else "Assistant",
                      kind="flexible") for i in range(task.flexible)]
    total = sum(g.weight for g in task.groups)
    counts = [round(task.fixed * g.weight / total) for g in task.groups]
    counts[-1] = task.fixed - sum(counts[:-1])  # rounding never changes the population size
    i = 0
    for group, n in zip(task.groups, counts):
        for _ in range(max(n, 0)):
            p = people[i % len(people)]
            players.append(Player(id=f"user{i}", name=p.name.split()[0], kind="fixed",
                                  policy=group.policy, manner=group.manner, persona=p.describe()))
            i += 1
    return players


def schedule(task: UltimatumTask, players: list[Player], epoch: int, seed: int):
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


def prior_text(prior: str) -> str | None:
    return None if prior == "none" else PROMPTS[f"prior_{prior}"].render()


def choose_prior(task: UltimatumTask, seed: int) -> str:
    if task.prior != "random":
        return task.prior
    return random.Random(derive_seed(seed, "prior")).choice(["selfish", "fair", "altruistic"])


class UltimatumTable:
    """Plays the games of one run."""

    def __init__(self, config: ContractConfig, caller: Caller, prior: str):
        self.config = config
        self.task: UltimatumTask = config.task  # type: ignore[assignment]
        self.caller = caller
        self.prior = prior

    # -- system prompts -------------------------------------------------------------------------
    def flexible_system(self, constitution: Constitution) -> str:
        text = constitution.text()
        prior = prior_text(self.prior)
        if self.task.keep_prior and prior and constitution.source != "prior":
            text += "\n" + PROMPTS["prior_line"].render(prior=prior)
        return PROMPTS["flexible_system"].render(principles=text)

    def user_system(self, p: Player) -> str:
        return PROMPTS["user_system"].render(
            persona=p.persona, policy=PROMPTS[f"policy_{p.policy}"].render(),
            manner=PROMPTS[f"manner_{p.manner}"].render())

    def _system(self, p: Player, constitution: Constitution) -> str:
        return self.flexible_system(constitution) if p.kind == "flexible" else self.user_system(p)

    def _model(self, p: Player):
        return self.config.model if p.kind == "flexible" else \
            (self.config.user_model or self.config.model)

    def _scripted(self, p: Player) -> bool:
        return p.kind == "fixed" and self.task.users == "scripted"

    # -- one game ---------------------------------------------------------------------------------
    async def play(self, epoch: int, g: int, amount: int, currency: str, proposer: Player,
                   responder: Player, constitution: Constitution) -> Episode:
        game = Episode(id=f"e{epoch}-g{g}", epoch=epoch, task="ultimatum", data={
            "amount": amount, "currency": currency, "proposer": proposer.model_dump(),
            "responder": responder.model_dump(), "offer": None, "share": None,
            "decision": None, "payoff_proposer": 0, "payoff_responder": 0,
        })
        key = f"e{epoch}|g{g}"
        offer, message = await self._offer(game, key, proposer, responder, amount, currency,
                                           constitution)
        if offer is None:
            game.say("referee", "outcome", "No valid offer; the game is void.")
            return game
        game.data.update(offer=offer, share=offer / amount, message=message)
        said = f' and says: "{message}"' if message else ""
        game.say(proposer.name, "proposer",
                 f"{proposer.name} offers {responder.name} {offer} of {amount} {currency}{said}")
        decision = await self._decide(game, key, responder, proposer, amount, currency, offer,
                                      message, constitution)
        if decision is None:
            game.say("referee", "outcome", "No valid decision; the game is void.")
            return game
        accepted = decision == "accept"
        game.data.update(decision=decision, payoff_proposer=(amount - offer) if accepted else 0,
                         payoff_responder=offer if accepted else 0)
        game.say(responder.name, "responder", f"{responder.name} {decision}s.")
        return game

    async def _offer(self, game, key, p, partner, amount, currency, constitution):
        if self._scripted(p):
            rng = random.Random(derive_seed(self.caller.seed, f"{key}|offer"))
            lo, hi = self.task.scripted.offer_share[p.policy]  # type: ignore[index]
            offer = max(0, min(amount, round(rng.uniform(lo, hi) * amount)))
            text = PROMPTS[f"scripted_{p.manner}"].render(offer=offer, currency=currency)
            return offer, text if self.task.messages else ""
        reason = self.task.ask_reason and p.kind == "flexible"
        props: dict[str, Any] = {}
        if reason:
            props["reason"] = {"type": "string"}
        props["offer"] = {"type": "integer", "minimum": 0, "maximum": amount}
        if self.task.messages:
            props["message"] = {"type": "string"}
        schema = {"type": "object", "properties": props, "required": list(props)}
        prompt = PROMPTS["propose"].render(
            amount=amount, currency=currency, partner=partner.name,
            reason=PROMPTS["reason_field"].render() if reason else "",
            message=PROMPTS["propose_message"].render() if self.task.messages else ".")
        messages = [Message(role="system", content=self._system(p, constitution)),
                    Message(role="user", content=prompt)]
        parsed = await self.caller.structured(self._model(p), f"{key}|propose", messages, schema,
                                              kind="offer")
        if parsed is None:
            game.failures.append("offer")
            return None, ""
        if parsed.get("reason"):
            game.data["offer_reason"] = parsed["reason"]
        return int(parsed["offer"]), str(parsed.get("message", "")).strip()[:300]

    async def _decide(self, game, key, p, partner, amount, currency, offer, message,
                      constitution):
        if self._scripted(p):
            need = self.task.scripted.accept_min_share[p.policy]  # type: ignore[index]
            return "accept" if offer / amount >= need - 1e-9 else "reject"
        reason = self.task.ask_reason and p.kind == "flexible"
        props: dict[str, Any] = {"reason": {"type": "string"}} if reason else {}
        props["decision"] = {"type": "string", "enum": ["accept", "reject"]}
        schema = {"type": "object", "properties": props, "required": list(props)}
        said = PROMPTS["said"].render(text=message) if message else ""
        prompt = PROMPTS["respond_reason" if reason else "respond"].render(
            amount=amount, currency=currency, partner=partner.name, offer=offer,
            keep=amount - offer, message=said)
        messages = [Message(role="system", content=self._system(p, constitution)),
                    Message(role="user", content=prompt)]
        parsed = await self.caller.structured(self._model(p), f"{key}|respond", messages, schema,
                                              max_tokens=48 if reason else 12, kind="decision")
        if parsed is None:
            game.failures.append("decision")
            return None
        if parsed.get("reason"):
            game.data["decision_reason"] = parsed["reason"]
        return parsed["decision"]

    async def play_epoch(self, epoch: int, players: list[Player], constitution: Constitution,
                         done: dict[str, Episode], on_game) -> list[Episode]:
        """Every game of the epoch, concurrently; games already in `done` are not played again."""
        amount, currency, pairs = schedule(self.task, players, epoch, self.caller.seed)

        async def one(g: int, x: Player, y: Player) -> Episode:
            gid = f"e{epoch}-g{g}"
            if gid in done:
                on_game(done[gid], replayed=True)
                return done[gid]
            game = await self.play(epoch, g, amount, currency, x, y, constitution)
            on_game(game, replayed=False)
            return game

        return list(await asyncio.gather(*(one(g, x, y) for g, (x, y) in enumerate(pairs))))
