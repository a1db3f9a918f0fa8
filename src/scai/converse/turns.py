"""Turn policies: who speaks when. Each is a small component registered by its `type`.

A policy plays one round on a `Floor` and returns why the conversation must stop ("" to go
on). To add one: a class here with `@turn_policy("name")`, and "name" in the `type` Literal of
`scenario.TurnPolicy` (with any options it takes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from scai.converse.floor import Floor
from scai.converse.moderator import END, STOP, choose_next
from scai.converse.scenario import ConverseConfig

TURN_POLICIES: dict[str, type[TurnTaking]] = {}


def turn_policy(name: str) -> Callable[[type[TurnTaking]], type[TurnTaking]]:
    """Register a turn policy under the `turn_policy.type` that selects it."""

    def add(cls: type[TurnTaking]) -> type[TurnTaking]:
        cls.name = name
        TURN_POLICIES[name] = cls
        return cls

    return add


class TurnTaking:
    """A turn policy: plays rounds; knows how many turns a round has at most."""

    name: ClassVar[str] = ""

    def turns_per_round(self, config: ConverseConfig) -> int:
        """The most turns in one round (for progress bars): everyone speaks once by default."""
        return len(config.agents)

    async def play_round(self, floor: Floor, round_: int, year: int | None) -> str:
        """Play one round; the reason to stop the conversation, or ""."""
        raise NotImplementedError

    @staticmethod
    async def one_by_one(floor: Floor, order: list[str], round_: int, year: int | None) -> str:
        """Each speaker in `order` in turn, checking the stop rules after every turn."""
        for speaker in order:
            await floor.give_turns([speaker], round_, year)
            if stop := floor.should_stop():
                return stop
        return ""


def policy_for(config: ConverseConfig) -> TurnTaking:
    """The component for the scenario's `turn_policy.type`."""
    return TURN_POLICIES[config.turn_policy.type]()


@turn_policy("round_robin")
class RoundRobin(TurnTaking):
    """Everyone, every round; the first speaker rotates each round."""

    async def play_round(self, floor: Floor, round_: int, year: int | None) -> str:
        names = list(floor.agents)
        shift = (round_ - 1) % len(names)
        return await self.one_by_one(floor, names[shift:] + names[:shift], round_, year)


@turn_policy("fixed_order")
class FixedOrder(TurnTaking):
    """`turn_policy.order`, every round."""

    async def play_round(self, floor: Floor, round_: int, year: int | None) -> str:
        order = list(floor.config.turn_policy.order or floor.agents)
        return await self.one_by_one(floor, order, round_, year)


@turn_policy("simultaneous")
class Simultaneous(TurnTaking):
    """Everyone answers the same state at once (simultaneous moves)."""

    async def play_round(self, floor: Floor, round_: int, year: int | None) -> str:
        await floor.give_turns(list(floor.agents), round_, year)
        return floor.should_stop()


@turn_policy("moderator")
class Moderated(TurnTaking):
    """A moderator model picks each next speaker, ends the round, or stops the conversation."""

    def turns_per_round(self, config: ConverseConfig) -> int:
        return config.turn_policy.max_turns_per_round

    async def play_round(self, floor: Floor, round_: int, year: int | None) -> str:
        spoken: list[str] = []
        for _ in range(floor.config.turn_policy.max_turns_per_round):
            choice = await choose_next(floor, round_, spoken)
            if choice == STOP:
                return "moderator"
            if choice == END:
                break
            spoken.append(choice)
            await floor.give_turns([choice], round_, year)
            if stop := floor.should_stop():
                return stop
        return ""
