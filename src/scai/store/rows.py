"""How the store's rows read: runs and events from SQLite rows, run references, liveness.

One reading for every reader: `RunStore` (which refuses a damaged row) and the dashboard's
read-only view (which lists what is damaged and shows the rest) share these functions (and
`scai.store.usage`, the reading of a run's model calls).
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from pydantic import ValidationError

from scai.errors import StoreError
from scai.store.models import Event, RunInfo

RUN_SELECT = (
    "SELECT r.id, r.kind, r.name, r.status, r.config, r.created_at, r.updated_at,"
    " r.finished_at, r.error, r.pid, r.host, r.summary,"
    " (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) FROM runs r"
)
EVENT_SELECT = "SELECT id, run_id, ts, type, key, payload FROM events"
STATUSES = ("running", "completed", "failed", "interrupted")


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def loads(text: str | None, default: Any) -> tuple[Any, bool]:
    """(value, ok): JSON text, or `default` when it is missing or garbled."""
    if text is None or text == "":
        return default, True
    try:
        return json.loads(text), True
    except (TypeError, ValueError):
        return default, False


def read_run_row(row: tuple) -> tuple[RunInfo, list[str]]:
    """A `RUN_SELECT` row as a RunInfo, and what could not be read of it (replaced by defaults).

    A run still marked running whose process on this host is gone reads as interrupted.
    """
    (id_, kind, name, status, config, created, updated, finished, error, pid, host,
     summary, n_events) = row
    problems = []
    if status == "running" and host == socket.gethostname() and not pid_alive(pid):
        status = "interrupted"  # its process is gone without saying goodbye
    if status not in STATUSES:
        problems.append(f"unknown status {status!r}")
        status = "failed"
    cfg, ok = loads(config, {})
    if not ok or not isinstance(cfg, dict):
        problems.append("its config is not readable JSON")
        cfg = {}
    summ, ok = loads(summary, None)
    if not ok or (summ is not None and not isinstance(summ, dict)):
        problems.append("its summary is not readable JSON")
        summ = None
    try:
        info = RunInfo(id=id_, kind=kind, name=name, status=status, config=cfg,
                       created_at=created, updated_at=updated, finished_at=finished, error=error,
                       pid=pid, host=host, summary=summ, n_events=n_events)
    except ValidationError as exc:
        raise StoreError(f"run {id_!r} cannot be read: {exc.errors()[0]['msg']}") from exc
    return info, problems


def read_event_row(row: tuple) -> Event | None:
    """An `EVENT_SELECT` row as an Event; None when its payload is not a readable JSON object."""
    i, run_id, ts, type_, key, text = row
    payload, ok = loads(text, {})
    if not ok or not isinstance(payload, dict):
        return None
    return Event(id=i, run_id=run_id, ts=ts, type=type_, key=key, payload=payload)


def describe_event_row(row: tuple) -> str:
    """How a problem names an event: `type #id (key)`."""
    i, _, _, type_, key, _ = row
    return f"{type_} #{i}" + (f" ({key})" if key else "")


def resolve_ref(ids: list[str], ref: str, where: object) -> str:
    """A run id from an id, a unique prefix of one, or `latest` (`ids` newest first)."""
    if ref == "latest":
        if not ids:
            raise StoreError(f"no runs in {where}")
        return ids[0]
    if ref in ids:
        return ref
    found = [i for i in ids if i.startswith(ref)]
    if not found:
        raise StoreError(f"no run {ref!r} in {where} (see `scai runs list`)")
    if len(found) > 1:
        raise StoreError(f"{ref!r} matches {len(found)} runs: {', '.join(found[:4])} ...")
    return found[0]
