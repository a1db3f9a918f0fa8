"""Episodes: what happened in one interaction, every message tagged with the episode it belongs to.

An episode's `data` is typed by its game: `Episode[UltimatumGame]` (see `Task.episode`). Plain
`Episode` leaves it a mapping, for code that reads episodes of any game.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field


class Player(BaseModel):
    """A member of the society: a fixed-policy user or a flexible agent (the assistant)."""

    id: str
    name: str
    kind: Literal["fixed", "flexible"]
    policy: str | None = None  # hidden policy of a fixed user
    manner: str = "neutral"
    persona: str = ""  # persona description (LLM users)


class EpisodeMessage(BaseModel):
    """One line of an episode. It carries its own episode id: attribution is data, not order."""

    episode_id: str
    speaker: str
    role: Literal["proposer", "responder", "user", "assistant", "outcome"]
    text: str


D = TypeVar("D")


class Episode(BaseModel, Generic[D]):
    """One interaction (a game, or a request and its rating) in one epoch."""

    id: str
    epoch: int
    task: str
    messages: list[EpisodeMessage] = Field(default_factory=list)
    data: D = Field(default_factory=dict, description="The game's typed outcome.")  # type: ignore[assignment]
    failures: list[str] = Field(default_factory=list, description="Parse failures, by step.")

    def say(self, speaker: str, role: str, text: str) -> None:
        """Append a line, tagged with this episode's id."""
        self.messages.append(EpisodeMessage(episode_id=self.id, speaker=speaker, role=role,
                                            text=text))
