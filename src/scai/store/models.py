"""The store's data: a run's row (`RunInfo`) and one of its events (`Event`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

RunStatus = Literal["running", "completed", "failed", "interrupted"]


class RunInfo(BaseModel):
    """A run's row: what `scai runs list` shows."""

    id: str
    kind: str
    name: str | None
    status: RunStatus
    config: dict[str, Any]
    created_at: float
    updated_at: float
    finished_at: float | None
    error: str | None
    pid: int | None
    host: str | None
    summary: dict[str, Any] | None
    n_events: int = 0

    @property
    def duration_s(self) -> float:
        return (self.finished_at or self.updated_at) - self.created_at


class Event(BaseModel):
    """One append-only record of a run."""

    id: int
    run_id: str
    ts: float
    type: str
    key: str | None
    payload: dict[str, Any]
