"""Memory: what the meta-learner sees of past episodes.

Episodes are chosen from the last `epochs_back` epochs, shuffled with the run's seed, shown in
full, as one-line summaries, or as a random sample, within a token budget. Each message carries
its own episode id, so rendering groups lines by that id: no list of messages is ever zipped
against a separately windowed list of ids (the bug of the original chat version).
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import Field

from scai.config import ConfigModel
from scai.contract.episode import Episode


class MemoryConfig(ConfigModel):
    """What the meta-learner sees of the past."""

    mode: Literal["full", "summary", "sample"] = Field(
        "full", description="full: every message; summary: one outcome line per episode; "
        "sample: random whole episodes.")
    token_budget: int = Field(1200, ge=100, description="Approximate tokens of episodes shown.")
    epochs_back: int = Field(1, ge=1, description="How many recent epochs it sees.")
    sample: int = Field(6, ge=1, description="Episodes drawn in `sample` mode.")


def tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token)."""
    return len(text) // 4 + 1


def render_episode(episode: Episode, mode: str = "full") -> str:
    """An episode as the meta-learner reads it, headed by its id."""
    lines = [m for m in episode.messages if m.episode_id == episode.id]
    if mode == "summary":
        lines = lines[-2:]
    body = "\n".join(f"  {m.text}" for m in lines)
    return f"[{episode.id}]\n{body}"


def recall(episodes: list[Episode], config: MemoryConfig, epoch: int, seed: int) -> list[Episode]:
    """The episodes the meta-learner sees after `epoch`, in the order it sees them."""
    seen = window(episodes, config, epoch)
    rng = random.Random(seed * 1_000_003 + epoch)  # never change: recorded runs replay this order
    rng.shuffle(seen)
    if config.mode == "sample":
        seen = seen[: config.sample]
    chosen, used = [], 0
    for e in seen:
        cost = tokens(render_episode(e, config.mode))
        if used + cost > config.token_budget and chosen:
            continue
        chosen.append(e)
        used += cost
    return chosen


def window(episodes: list[Episode], config: MemoryConfig, epoch: int) -> list[Episode]:
    """The episodes of the last `epochs_back` epochs up to `epoch`, in the order played."""
    return [e for e in episodes if epoch - config.epochs_back < e.epoch <= epoch]


def render_memory(episodes: list[Episode], mode: str = "full") -> str:
    """Episodes as the meta-learner reads them, one block each."""
    return "\n".join(render_episode(e, mode) for e in episodes) or "(nothing observed)"
