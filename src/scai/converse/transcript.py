"""Statements and who may see them: the one invariant of a conversation.

Every statement carries `visible_to` (None means everyone). An agent's prompt is built only from
`Transcript.visible_to(agent)`, so private context is a property of the data, not a convention.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StatementKind = Literal["speech", "prompt", "briefing", "outcome", "memory"]


class Statement(BaseModel):
    """One thing said (or announced) in a conversation."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="Position in its conversation, from 0.")
    speaker: str = Field(description="Agent name, or 'moderator' for scenario prompts.")
    content: str
    round: int
    turn: int
    kind: StatementKind = "speech"
    visible_to: tuple[str, ...] | None = Field(
        None, description="Names of the agents who may see it; None means everyone."
    )
    path: str = Field("", description="'' for the main conversation, 'Lab/board' when nested.")
    key: str = Field("", description="Deterministic id of the call that produced it.")
    tokens: int = 0

    def visible(self, agent: str) -> bool:
        """May `agent` see this statement? (A speaker always sees what it said.)"""
        return self.visible_to is None or agent in self.visible_to or agent == self.speaker


class Transcript(BaseModel):
    """The statements of one conversation, in order, plus the nested conversations inside it."""

    path: str = ""
    statements: list[Statement] = Field(default_factory=list)
    nested: dict[str, Transcript] = Field(
        default_factory=dict, description="Deliberations, by the key of the turn they produced."
    )

    def add(self, **fields) -> Statement:
        """Append a statement (its index and path are filled in)."""
        statement = Statement(index=len(self.statements), path=self.path, **fields)
        self.statements.append(statement)
        return statement

    def visible_to(self, agent: str) -> list[Statement]:
        """Exactly what `agent` may see, in order."""
        return [s for s in self.statements if s.visible(agent)]

    def all_seeing_view(self, last: int | None = None) -> list[Statement]:
        """Every statement whatever its visibility (the newest `last`): for readers who see
        everything by design, the moderator among them. Agents read `visible_to` instead."""
        return list(self.statements if last is None else self.statements[-last:])

    def speeches(self) -> list[Statement]:
        """What agents said (speeches and deliberation outcomes), not announcements."""
        return [s for s in self.statements if s.kind in ("speech", "outcome")]
