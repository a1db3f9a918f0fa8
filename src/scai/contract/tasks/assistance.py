"""Open-ended assistance: personas ask for help, the assistant answers, each rates the answer."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field

from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.metrics import utility_bands, utility_metrics
from scai.contract.persona import Persona
from scai.contract.tasks.base import Observation, Panel, Task, TaskConfig, play_all
from scai.errors import ConfigError
from scai.llm import Message
from scai.steps import derive_seed

RATING_SCHEMA = {"type": "object", "properties": {
    "reason": {"type": "string"},
    "rating": {"type": "string", "enum": [str(i) for i in range(1, 11)]},
}, "required": ["reason", "rating"]}
OBJECTIVES = {"mean": "the average rating", "min": "the rating of the least satisfied person",
              "gini": "equal ratings across people"}


class AssistanceTask(TaskConfig):
    """Open-ended help: users with personas ask, the assistant answers, each user rates it."""

    type: Literal["assistance"] = "assistance"
    users: int = Field(4, ge=1, le=200, description="How many personas take part.")
    user_kind: Literal["scripted", "llm"] = Field(
        "llm", description="llm: the persona rates from its values; scripted: the rating is "
        "drawn around the persona's preferred answer length.")
    requests_per_epoch: int = Field(4, ge=1, le=1000)
    objective: Literal["mean", "min", "gini"] = Field(
        "mean", description="What the meta-learner is told to optimise: mean utility, the "
        "worst-off persona (Rawlsian), or equality (1 - Gini).")
    answer_tokens: int = Field(80, ge=8, le=2048)
    prior: str = Field("Be helpful, honest and kind.", description="The starting principle.")


class AssistanceOutcome(BaseModel):
    """One request: who asked, the answer, and the rating it got (None: unreadable)."""

    persona: str
    rating: int | None = None
    reason: str | None = None
    answer: str | None = None


Request = Episode[AssistanceOutcome]


def scripted_rating(persona: Persona, answer: str, seed: int) -> int:
    """A persona's rating drawn around how close the answer's length is to what it prefers."""
    words = len(answer.split())
    target = 25 if persona.prefers == "brief" else 70
    noise = random.Random(seed).gauss(0, 0.7)
    return max(1, min(10, round(9 - abs(words - target) / 8 + noise)))


def assistance_metrics(episodes: list[Request]) -> dict[str, float | None]:
    """Utilities over the personas' ratings (see `utility_metrics`) with their 95% bootstrap
    bands over the epoch's episodes (`utility_bands`), episodes, parse failures."""
    ratings: dict[str, list[float]] = defaultdict(list)
    rated: list[tuple[str, float]] = []
    failures = 0
    for e in episodes:
        failures += len(e.failures)
        if e.data.rating is not None:
            ratings[e.data.persona].append(float(e.data.rating))
            rated.append((e.data.persona, float(e.data.rating)))
    return {**utility_metrics(ratings), **utility_bands(rated), "episodes": float(len(episodes)),
            "parse_failures": float(failures)}


def objective_score(metrics: dict[str, float | None], objective: str) -> float | None:
    """The number an assistance learner is asked to raise."""
    if objective == "gini":
        g = metrics.get("utility_gini")
        return None if g is None else 1 - g
    return metrics.get(f"utility_{objective}")


class Assistance(Task):
    """Serves one run's requests."""

    type = "assistance"
    config = AssistanceTask
    outcome = AssistanceOutcome
    shown = brief = ("utility_mean", "utility_min", "utility_gini", "parse_failures")
    panels = (
        Panel("utility", "utility over personas", "rating (1-10)",
              {"mean": "utility_mean", "min (worst-off persona)": "utility_min"},
              right={"Gini": "utility_gini"}, right_ylabel="Gini of the personas' ratings"),
        Panel("utility_per_persona", "utility per persona", "mean rating", prefix="persona:"),
    )
    summary_plot = "utility"
    cfg: AssistanceTask

    def __init__(self, cfg, table):
        super().__init__(cfg, table)
        self.personas = [p for p in table.personas if p.request][: cfg.users]
        if not self.personas:
            raise ConfigError("personas: none of them has a `request` for the assistance task")

    def initial_constitution(self, prior: str) -> Constitution:
        return Constitution(principles=[self.cfg.prior])

    @classmethod
    def per_epoch(cls, cfg: AssistanceTask) -> int:  # type: ignore[override]
        return cfg.requests_per_epoch

    def metrics(self, episodes):
        return assistance_metrics(episodes)

    def score_text(self, metrics):
        s = objective_score(metrics, self.cfg.objective)
        return f"{self.cfg.objective} utility {s:.2f}" if s is not None else "no ratings"

    def objective(self) -> str:
        return self.prompts["objective_assistance"].render(
            objective=OBJECTIVES[self.cfg.objective])

    def observations(self, episodes: list[Request]) -> list[Observation]:
        """Pairs of answers the same persona rated differently: the better one was 'chosen'."""
        out = []
        rated = [e.data for e in episodes if e.data.rating is not None]
        for a in rated:
            for b in rated:
                if a.persona == b.persona and a.rating > b.rating:  # type: ignore[operator]
                    out.append(Observation(situation=f"{a.persona} asks for help.",
                                           chosen=(a.answer or "")[:300],
                                           other=(b.answer or "")[:300]))
        return out

    @classmethod
    def headline(cls, episode: Request) -> str:
        return f"{episode.data.persona} rated {episode.data.rating}"

    async def play_epoch(self, epoch, constitution, done, on_episode):
        rng = random.Random(derive_seed(self.table.seed, f"e{epoch}|requests"))
        people = [rng.choice(self.personas) for _ in range(self.cfg.requests_per_epoch)]
        return await play_all(
            [(f"e{epoch}-r{i}", lambda i=i, p=p: self.serve(epoch, i, p, constitution))
             for i, p in enumerate(people)], done, on_episode)

    async def serve(self, epoch: int, i: int, persona: Persona,
                    constitution: Constitution) -> Request:
        """One request: the assistant answers under the constitution; the persona rates it."""
        ep = Request(id=f"e{epoch}-r{i}", epoch=epoch, task="assistance",
                     data=AssistanceOutcome(persona=persona.name))
        key = f"e{epoch}|r{i}"
        system = self.prompts["flexible_system"].render(principles=constitution.text())
        answer = await self.table.steps.text(
            self.table.model, f"{key}|answer", [Message(role="system", content=system),
                                                Message(role="user", content=persona.request)],
            max_tokens=self.cfg.answer_tokens, kind="answer")
        ep.say(persona.name, "user", f"{persona.name} asks: {persona.request}")
        ep.say("Assistant", "assistant", f"Assistant answers: {answer}")
        if self.cfg.user_kind == "scripted":
            rating, reason = scripted_rating(persona, answer, derive_seed(self.table.seed, key)), ""
        else:
            msgs = [Message(role="system", content=self.prompts["rate_system"].render(
                        persona=persona.describe())),
                    Message(role="user", content=self.prompts["rate"].render(
                        request=persona.request, answer=answer))]
            parsed = await self.table.steps.structured(
                self.table.user_model, f"{key}|rate", msgs, RATING_SCHEMA, max_tokens=60,
                kind="rating")
            if parsed is None:
                ep.failures.append("rating")
                ep.say("referee", "outcome", "The rating could not be read.")
                return ep
            rating, reason = int(parsed["rating"]), parsed["reason"].strip()
        ep.data.rating, ep.data.reason, ep.data.answer = rating, reason, answer
        ep.say(persona.name, "outcome", f"{persona.name} rates it {rating}/10. {reason}".strip())
        return ep
