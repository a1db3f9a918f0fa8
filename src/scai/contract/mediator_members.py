"""Who deliberates in the mediator learner, and how a scripted member values a principle.

Members are the game's users: the fixed players of a seated game (ultimatum, dictator, ...) or
the personas of the assistance task. An LLM member states an opinion and ranks with the user
model; a scripted member holds a hidden utility over principles instead:

    utility(principle) = 1 - |generosity(principle) - ideal|

`ideal` is the share its group's norm gives others, drawn once per member (seeded by the run
seed and the member's id) uniformly from the group's scripted offer range (`task.scripted.
offer_share`, default selfish 0-0.2, fair 0.45-0.55, altruistic 0.8-1). `generosity` is exact for
a rung of the principle ladder (mediator_ladder.yaml) and read from cue words otherwise.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from scai.contract.episode import Episode
from scai.contract.learner import LearnContext
from scai.errors import ConfigError
from scai.steps import derive_seed

# The default scripted offer ranges (as the split games' `scripted.offer_share`).
DEFAULT_IDEALS: dict[str, tuple[float, float]] = {
    "selfish": (0.0, 0.2), "fair": (0.45, 0.55), "altruistic": (0.8, 1.0)}


class Rung(BaseModel):
    """A principle with a known generosity (the share it asks the assistant to give others)."""

    generosity: float = Field(ge=0, le=1)
    text: str


class Cue(BaseModel):
    """Words that place a text at a generosity."""

    position: float = Field(ge=0, le=1)
    words: list[str]


class Ladder(BaseModel):
    """The graded principles and the cue words (mediator_ladder.yaml)."""

    rungs: list[Rung] = Field(min_length=2)
    cues: list[Cue]

    def nearest(self, generosity: float) -> Rung:
        """The rung closest to `generosity` (ties: the less generous one)."""
        return min(self.rungs, key=lambda r: (abs(r.generosity - generosity), r.generosity))

    def step(self, rung: str, toward: float) -> str:
        """The rung one step from `rung` toward generosity `toward` (itself when it is closest)."""
        order = sorted(self.rungs, key=lambda r: r.generosity)
        i = next((k for k, r in enumerate(order) if r.text == rung), None)
        if i is None:
            return self.nearest(toward).text
        here = order[i].generosity
        if abs(here - toward) <= abs(self.nearest(toward).generosity - toward):
            return rung
        return order[min(i + 1, len(order) - 1) if toward > here else max(i - 1, 0)].text

    def generosity(self, text: str) -> float:
        """A rung's own generosity; any other text: the mean position of its cue words."""
        clean = " ".join(text.split())
        for r in self.rungs:
            if r.text == clean:
                return r.generosity
        words = re.findall(r"[a-z]+", clean.lower())
        found = [c.position for c in self.cues for w in words if w in c.words]
        return sum(found) / len(found) if found else 0.5


LADDER = Ladder.model_validate(yaml.safe_load(
    Path(__file__).with_name("mediator_ladder.yaml").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Member:
    """One person in the deliberation: an LLM user, or a scripted one with a hidden ideal."""

    id: str
    name: str
    kind: Literal["scripted", "llm"]
    persona: str  # how an LLM member is introduced
    group: str | None = None  # its hidden policy (the group it belongs to)
    manner: str = "neutral"
    ideal: float | None = None  # scripted: the generosity it wants

    def utility(self, text: str, ladder: Ladder = LADDER) -> float | None:
        """Scripted: 1 - |generosity - ideal|; an LLM member has no known utility."""
        if self.ideal is None:
            return None
        return 1.0 - abs(ladder.generosity(text) - self.ideal)


def _ideal(task_cfg: Any, policy: str | None, seed: int, member_id: str) -> float:
    scripted = getattr(task_cfg, "scripted", None)
    ranges = dict(DEFAULT_IDEALS)
    ranges.update(getattr(scripted, "offer_share", None) or {})
    if policy not in ranges:
        raise ConfigError(f"learner mediator: scripted users of policy {policy!r} hold no "
                          f"known ideal (one of: {', '.join(sorted(ranges))})")
    lo, hi = ranges[policy]
    return random.Random(derive_seed(seed, f"mediator|ideal|{member_id}")).uniform(lo, hi)


def members_of(ctx: LearnContext, limit: int, seed: int) -> list[Member]:
    """The game's users who deliberate (at most `limit`, 0: all), the same every epoch."""
    task = ctx.task
    cfg = getattr(task, "cfg", None)
    out: list[Member] = []
    if task is not None and hasattr(task, "players"):
        scripted = getattr(cfg, "users", "llm") == "scripted"
        for p in task.players:
            if p.kind != "fixed":
                continue
            out.append(Member(
                id=p.id, name=p.name, kind="scripted" if scripted else "llm", persona=p.persona,
                group=p.policy, manner=p.manner,
                ideal=_ideal(cfg, p.policy, seed, p.id) if scripted else None))
    elif task is not None and hasattr(task, "personas"):
        if getattr(cfg, "user_kind", "llm") == "scripted":
            raise ConfigError("learner mediator: scripted raters of the assistance task hold no "
                              "opinion on principles; use task.user_kind: llm")
        out = [Member(id=f"p{i}", name=p.name, kind="llm", persona=p.describe())
               for i, p in enumerate(task.personas)]
    if not out:
        raise ConfigError(f"learner mediator: the {getattr(task, 'type', 'given')!r} game has no "
                          "users to deliberate (it needs fixed players or personas)")
    if limit and len(out) > limit:
        rng = random.Random(derive_seed(seed, "mediator|members"))
        keep = set(rng.sample(range(len(out)), limit))
        out = [m for i, m in enumerate(out) if i in keep]
    return out


def seen_by(member: Member, episodes: list[Episode]) -> list[Episode]:
    """The episodes a member took part in (as a player, or as the persona who asked)."""
    def involved(ep: Episode) -> bool:
        data = ep.data
        ids = {getattr(getattr(data, role, None), "id", None) for role in ("proposer",
                                                                            "responder")}
        return member.id in ids or getattr(data, "persona", None) == member.name or any(
            m.speaker == member.name for m in ep.messages)
    return [ep for ep in episodes if involved(ep)]
