"""Who plays a Social Contract game: the flexible agents (the assistant) and the fixed users,
split into groups by weight, each user with a persona, a hidden policy and a manner.

Shared by the games that seat a population (ultimatum, dictator, public goods); each game names
its own policies, this module only seats people.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal, Protocol

from scai.contract.episode import Player
from scai.contract.persona import Persona
from scai.steps import derive_seed

Manner = Literal["neutral", "rude", "sycophantic"]


class Group(Protocol):
    """A config's user group: its hidden policy, its manner and its relative size."""

    @property
    def policy(self) -> str: ...
    @property
    def manner(self) -> str: ...
    @property
    def weight(self) -> float: ...


def build_society(flexible: int, fixed: int, groups: Sequence[Group], personas: list[Persona],
                  seed: int) -> list[Player]:
    """Flexible agents first, then `fixed` users with policies split by group weight."""
    rng = random.Random(derive_seed(seed, "society"))
    people = list(personas)
    rng.shuffle(people)
    players = [Player(id=f"flex{i}", name=f"Assistant-{i + 1}" if flexible > 1 else "Assistant",
                      kind="flexible") for i in range(flexible)]
    total = sum(g.weight for g in groups)
    counts = [round(fixed * g.weight / total) for g in groups]
    counts[-1] = fixed - sum(counts[:-1])  # rounding never changes the population size
    i = 0
    for group, n in zip(groups, counts):
        for _ in range(max(n, 0)):
            p = people[i % len(people)]
            players.append(Player(id=f"user{i}", name=p.name.split()[0], kind="fixed",
                                  policy=group.policy, manner=group.manner, persona=p.describe()))
            i += 1
    return players


def group_label(player: Player, groups: Sequence[Group]) -> str:
    """A fixed player's group as metrics name it: its policy, with the manner where two groups
    share a policy."""
    shared = sum(g.policy == player.policy for g in groups) > 1
    return f"{player.policy}/{player.manner}" if shared else str(player.policy)
