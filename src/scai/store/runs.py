"""The run store: SQLite in WAL mode; runs, their configs and append-only events.

Every event is committed as it happens, so a killed process keeps everything it had done, and
a resumed run can ask which deterministic keys are already finished.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
import socket
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scai.errors import StoreError
from scai.redact import redact
from scai.store.models import Event, RunInfo, RunStatus
from scai.store.rows import (
    EVENT_SELECT,
    RUN_SELECT,
    describe_event_row,
    pid_alive,
    read_event_row,
    read_run_row,
    resolve_ref,
)
from scai.store.usage import RunUsage, read_usage_row, usage_sql

__all__ = ["Event", "Run", "RunInfo", "RunStatus", "RunStore", "default_runs_dir", "new_run_id",
           "pid_alive"]

_pid_alive = pid_alive  # the name older code imported

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    error TEXT,
    pid INTEGER,
    host TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    key TEXT,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run_type ON events(run_id, type);
CREATE UNIQUE INDEX IF NOT EXISTS events_run_key ON events(run_id, type, key) WHERE key IS NOT NULL;
"""


def default_runs_dir() -> Path:
    """`$SCAI_RUNS_DIR`, else `./runs`."""
    return Path(os.environ.get("SCAI_RUNS_DIR") or "runs")


def new_run_id(kind: str) -> str:
    """A fresh run id: `<kind>-<UTC time>-<6 hex digits>`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{_secrets.token_hex(3)}"


class RunStore:
    """All runs under one directory (`scai.sqlite` plus one artifact folder per run).

    `read_only=True` opens an existing store with SQLite `mode=ro` (the dashboard and
    `scai report`): nothing is created, and every write is refused.
    """

    def __init__(self, root: Path | str | None = None, *, read_only: bool = False):
        self.root = Path(root) if root is not None else default_runs_dir()
        self.path = self.root / "scai.sqlite"
        self.read_only = read_only
        self._lock = threading.Lock()
        if read_only:
            self._db = _connect_read_only(self.path)
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the run store at {self.root}: {exc}") from exc

    # -- writing ----------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the run store at {self.root} is open read-only")

    def create_run(
        self, kind: str, config: dict[str, Any], *, name: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Record a new run (status running, this process and host) and return its handle."""
        self._writable()
        run_id = run_id or new_run_id(kind)
        now = time.time()
        with self._lock, self._db:
            try:
                self._db.execute(
                    "INSERT INTO runs (id, kind, name, status, config, created_at, updated_at, pid,"
                    " host) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                    (run_id, kind, name, json.dumps(redact(config)), now, now, os.getpid(),
                     socket.gethostname()),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"a run with id {run_id!r} already exists") from exc
        return Run(self, run_id)

    def _append(self, run_id: str, type_: str, payload: dict, key: str | None) -> None:
        self._writable()
        blob = json.dumps(redact(payload), ensure_ascii=False, default=str)
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO events (run_id, ts, type, key, payload) VALUES (?,?,?,?,?)",
                (run_id, now, type_, key, blob),
            )
            self._db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (now, run_id))

    def _set(self, run_id: str, **fields: Any) -> None:
        self._writable()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._lock, self._db:
            self._db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*fields.values(), run_id))

    # -- reading ----------------------------------------------------------------------------
    def read_runs(self, kind: str | None = None, *, run_id: str | None = None,
                  limit: int | None = None) -> list[tuple[RunInfo, list[str]]]:
        """Runs newest first, each with what could not be read of its row (damage tolerated)."""
        sql, args = RUN_SELECT, []
        where = [(c, v) for c, v in (("r.kind = ?", kind), ("r.id = ?", run_id)) if v]
        if where:
            sql += " WHERE " + " AND ".join(c for c, _ in where)
            args += [v for _, v in where]
        sql += " ORDER BY r.created_at DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [read_run_row(r) for r in rows]

    def list_runs(self, kind: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Every run (of `kind`), newest first; a damaged row is an error."""
        return [_intact(info, problems) for info, problems in self.read_runs(kind, limit=limit)]

    def run_ids(self) -> list[str]:
        """Every run id, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM runs ORDER BY created_at DESC").fetchall()
        return [r[0] for r in rows]

    def resolve(self, ref: str) -> str:
        """A run id from an id or a unique prefix of one; `latest` is the newest run."""
        return resolve_ref(self.run_ids(), ref, self.root)

    def read_run(self, ref: str) -> tuple[RunInfo, list[str]]:
        """One run's row and what could not be read of it."""
        return self.read_runs(run_id=self.resolve(ref))[0]

    def get(self, ref: str) -> RunInfo:
        """One run's row (by id, prefix or `latest`); a damaged row is an error."""
        return _intact(*self.read_run(ref))

    def open_run(self, ref: str) -> Run:
        """A handle to append to an existing run (to resume it)."""
        return Run(self, self.resolve(ref))

    def _event_rows(self, run_id: str, type_: str | None) -> list[tuple]:
        sql = EVENT_SELECT + " WHERE run_id = ?"
        args: list[Any] = [run_id]
        if type_:
            sql += " AND type = ?"
            args.append(type_)
        with self._lock:
            return self._db.execute(sql + " ORDER BY id", args).fetchall()

    def read_events(self, run_id: str, type_: str | None = None) -> tuple[list[Event], list[str]]:
        """A run's events in order, and the names of those whose payload cannot be read."""
        events, bad = [], []
        for row in self._event_rows(run_id, type_):
            event = read_event_row(row)
            if event is None:
                bad.append(describe_event_row(row))
            else:
                events.append(event)
        return events, bad

    def events(self, run_id: str, type_: str | None = None) -> list[Event]:
        """A run's events in order; an unreadable payload is an error."""
        events, bad = self.read_events(run_id, type_)
        if bad:
            raise StoreError(f"run {run_id}: {len(bad)} event(s) cannot be read: "
                             f"{', '.join(bad[:4])}")
        return events

    def usage(self, ref: str | None = None) -> dict[str, RunUsage]:
        """Per run id (every run's, or only `ref`'s): its model calls, cache hits, tokens
        evaluated vs reused and time in the model; a run without model calls is absent."""
        sql, args = usage_sql(self.resolve(ref) if ref is not None else None)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return dict(read_usage_row(r) for r in rows)

    def run_usage(self, ref: str) -> RunUsage:
        """One run's call accounting (all zero for a run that made no model calls)."""
        return next(iter(self.usage(ref).values()), RunUsage())

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def _intact(info: RunInfo, problems: list[str]) -> RunInfo:
    if problems:
        raise StoreError(f"run {info.id} is damaged: {'; '.join(problems)}")
    return info


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """SQLite `mode=ro` on an existing store: the dashboard can never write to it."""
    if not path.is_file():
        raise StoreError(f"no run store at {path} (run something first, or pass --runs-dir)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                             timeout=30)
        db.execute("SELECT 1 FROM runs LIMIT 1")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the run store at {path}: {exc}") from exc
    return db


class Run:
    """A handle for writing one run's events as its work happens."""

    def __init__(self, store: RunStore, run_id: str):
        self.store = store
        self.id = run_id

    @property
    def dir(self) -> Path:
        """Folder for this run's artifacts (transcripts, plots, exports)."""
        path = self.store.root / self.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, type_: str, payload: dict[str, Any] | None = None, *, key: str | None = None):
        """Append an event; a `key` makes it findable (and idempotent) when the run resumes."""
        self.store._append(self.id, type_, payload or {}, key)

    def metric(self, name: str, value: float, *, step: int | None = None, **labels: Any) -> None:
        """Append a `metric` event (a named number, optionally at a step, with labels)."""
        self.log("metric", {"name": name, "value": value, "step": step, **labels})

    def done_keys(self, type_: str) -> set[str]:
        """Keys of this run's events of one type: the work a resumed run can skip."""
        return {e.key for e in self.store.events(self.id, type_) if e.key is not None}

    def events(self, type_: str | None = None) -> list[Event]:
        """This run's events (of one type), in order."""
        return self.store.events(self.id, type_)

    def resume(self) -> None:
        """Mark the run as running again in this process."""
        self.store._set(
            self.id, status="running", pid=os.getpid(), host=socket.gethostname(),
            finished_at=None, error=None,
        )
        self.log("resumed", {"pid": os.getpid()})

    def finish(
        self, status: RunStatus = "completed", *, error: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Mark the run finished (or failed/interrupted), with its error and summary."""
        fields: dict[str, Any] = {"status": status, "finished_at": time.time()}
        if error is not None:
            fields["error"] = redact(error)
        if summary is not None:
            fields["summary"] = json.dumps(redact(summary), default=str)
        self.store._set(self.id, **fields)
