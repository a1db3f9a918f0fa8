"""Open-ended assistance: personas ask for help, the assistant answers, each rates the answer."""

from __future__ import annotations

import asyncio
import random

from scai.contract.config import AssistanceTask, ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.metalearn import Observation
from scai.contract.persona import Persona
from scai.contract.prompts import PROMPTS
from scai.contract.steps import Caller
from scai.converse.engine import derive_seed
from scai.llm import GenerationParams, Message

RATING_SCHEMA = {"type": "object", "properties": {
    "reason": {"type": "string"},
    "rating": {"type": "string", "enum": [str(i) for i in range(1, 11)]},
}, "required": ["reason", "rating"]}


def scripted_rating(persona: Persona, answer: str, seed: int) -> int:
    """A persona's rating drawn around how close the answer's length is to what it prefers."""
    words = len(answer.split())
    target = 25 if persona.prefers == "brief" else 70
    noise = random.Random(seed).gauss(0, 0.7)
    return max(1, min(10, round(9 - abs(words - target) / 8 + noise)))


class AssistanceDesk:
    """Serves one run's requests."""

    def __init__(self, config: ContractConfig, caller: Caller, personas: list[Persona]):
        self.config = config
        self.task: AssistanceTask = config.task  # type: ignore[assignment]
        self.caller = caller
        self.personas = [p for p in personas if p.request][: self.task.users]

    async def serve(self, epoch: int, i: int, persona: Persona, constitution: Constitution):
        ep = Episode(id=f"e{epoch}-r{i}", epoch=epoch, task="assistance",
                     data={"persona": persona.name, "rating": None})
        key = f"e{epoch}|r{i}"
        system = PROMPTS["flexible_system"].render(principles=constitution.text())
        answer = await self._answer(key, system, persona.request)
        ep.say(persona.name, "user", f"{persona.name} asks: {persona.request}")
        ep.say("Assistant", "assistant", f"Assistant answers: {answer}")
        if self.task.user_kind == "scripted":
            rating, reason = scripted_rating(persona, answer, derive_seed(self.caller.seed, key)), ""
        else:
            msgs = [Message(role="system", content=PROMPTS["rate_system"].render(
                        persona=persona.describe())),
                    Message(role="user", content=PROMPTS["rate"].render(
                        request=persona.request, answer=answer))]
            parsed = await self.caller.structured(
                self.config.user_model or self.config.model, f"{key}|rate", msgs, RATING_SCHEMA,
                max_tokens=60, kind="rating")
            if parsed is None:
                ep.failures.append("rating")
                ep.say("referee", "outcome", "The rating could not be read.")
                return ep
            rating, reason = int(parsed["rating"]), parsed["reason"].strip()
        ep.data.update(rating=rating, reason=reason, answer=answer)
        ep.say(persona.name, "outcome", f"{persona.name} rates it {rating}/10. {reason}".strip())
        return ep

    async def _answer(self, key: str, system: str, request: str) -> str:
        done = self.caller.log.get(f"{key}|answer")
        if done is not None:
            return done["text"]
        params = GenerationParams.model_validate({
            **self.caller.params.model_dump(), "max_tokens": self.task.answer_tokens,
            "seed": derive_seed(self.caller.seed, f"{key}|answer")})
        completion = await self.caller.pool.get(self.config.model).complete(
            [Message(role="system", content=system), Message(role="user", content=request)], params,
            tags={"step": f"{key}|answer"})
        text = completion.text.strip()
        self.caller.counters.calls += 1
        self.caller.log.put(f"{key}|answer", {"kind": "answer", "text": text})
        return text

    async def play_epoch(self, epoch: int, constitution: Constitution, done: dict[str, Episode],
                         on_episode) -> list[Episode]:
        rng = random.Random(derive_seed(self.caller.seed, f"e{epoch}|requests"))
        people = [rng.choice(self.personas) for _ in range(self.task.requests_per_epoch)]

        async def one(i: int, p: Persona) -> Episode:
            eid = f"e{epoch}-r{i}"
            if eid in done:
                on_episode(done[eid], replayed=True)
                return done[eid]
            ep = await self.serve(epoch, i, p, constitution)
            on_episode(ep, replayed=False)
            return ep

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(people))))


def assistance_observations(episodes: list[Episode]) -> list[Observation]:
    """Pairs of answers the same persona rated differently: the better one was 'chosen'."""
    out = []
    rated = [e for e in episodes if e.data.get("rating") is not None]
    for a in rated:
        for b in rated:
            if a.data["persona"] == b.data["persona"] and a.data["rating"] > b.data["rating"]:
                out.append(Observation(
                    situation=f"{a.data['persona']} asks for help.",
                    chosen=a.data["answer"][:300], other=b.data["answer"][:300]))
    return out
