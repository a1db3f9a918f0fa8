"""The constitution: the natural-language principles in the assistant's system prompt."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field


class Constitution(BaseModel):
    """Principles the assistant follows, with where they came from."""

    principles: list[str] = Field(default_factory=list)
    epoch: int = 0
    rationale: str = Field("", description="The meta-learner's critique or vote tally.")
    source: str = Field("prior", description="prior, given, rewrite, voting, kept")

    def text(self) -> str:
        if not self.principles:
            return "(no principles)"
        if len(self.principles) == 1:
            return self.principles[0]
        return "\n".join(f"{i}. {p}" for i, p in enumerate(self.principles, 1))


GAME_WORDS = ("ultimatum", "game", "proposer", "responder")


def generality_problem(principle: str, banned: list[str]) -> str | None:
    """Why a principle is not general (mentions numbers, currencies, the game), else None."""
    if len(re.findall(r"[A-Za-z]{2,}", principle)) < 3:
        return "is not a sentence"
    if re.search(r"\d", principle):
        return "mentions a number"
    low = principle.lower()
    for word in [*GAME_WORDS, *banned]:
        for part in word.lower().split():
            if len(part) > 2 and re.search(rf"\b{re.escape(part)}", low):
                return f"mentions {part!r}"
    return None
