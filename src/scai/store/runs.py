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
from typing import Any, Literal

from pydantic import BaseModel

from scai.errors import StoreError
from scai.redact import redact

RunStatus = Literal["running", "completed", "failed", "interrupted"]

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
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{_secrets.token_hex(3)}"


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


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """All runs under one directory (`scai.sqlite` plus one artifact folder per run)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.path = self.root / "scai.sqlite"
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the run store at {self.root}: {exc}") from exc
        self._lock = threading.Lock()

    # -- writing ----------------------------------------------------------------------------
    def create_run(
        self, kind: str, config: dict[str, Any], *, name: str | None = None,
        run_id: str | None = None,
    ) -> Run:
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
        blob = json.dumps(redact(payload), ensure_ascii=False, default=str)
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO events (run_id, ts, type, key, payload) VALUES (?,?,?,?,?)",
                (run_id, now, type_, key, blob),
            )
            self._db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (now, run_id))

    def _set(self, run_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._lock, self._db:
            self._db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*fields.values(), run_id))

    # -- reading ----------------------------------------------------------------------------
    def _info(self, row: tuple) -> RunInfo:
        (id_, kind, name, status, config, created, updated, finished, error, pid, host,
         summary, n_events) = row
        if status == "running" and host == socket.gethostname() and not _pid_alive(pid):
            status = "interrupted"  # its process is gone without saying goodbye
        return RunInfo(
            id=id_, kind=kind, name=name, status=status, config=json.loads(config),
            created_at=created, updated_at=updated, finished_at=finished, error=error, pid=pid,
            host=host, summary=json.loads(summary) if summary else None, n_events=n_events,
        )

    _SELECT = (
        "SELECT r.id, r.kind, r.name, r.status, r.config, r.created_at, r.updated_at,"
        " r.finished_at, r.error, r.pid, r.host, r.summary,"
        " (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) FROM runs r"
    )

    def list_runs(self, kind: str | None = None, limit: int | None = None) -> list[RunInfo]:
        sql, args = self._SELECT, []
        if kind:
            sql += " WHERE r.kind = ?"
            args.append(kind)
        sql += " ORDER BY r.created_at DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [self._info(r) for r in rows]

    def resolve(self, ref: str) -> str:
        """A run id from an id or a unique prefix of one; `latest` is the newest run."""
        with self._lock:
            if ref == "latest":
                row = self._db.execute(
                    "SELECT id FROM runs ORDER BY created_at DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise StoreError(f"no runs in {self.root}")
                return row[0]
            rows = self._db.execute("SELECT id FROM runs ORDER BY created_at DESC").fetchall()
        ids = [r[0] for r in rows if r[0].startswith(ref)]
        if ref in ids:
            return ref
        if not ids:
            raise StoreError(f"no run {ref!r} in {self.root} (see `scai runs list`)")
        if len(ids) > 1:
            raise StoreError(f"{ref!r} matches {len(ids)} runs: {', '.join(ids[:4])} ...")
        return ids[0]

    def get(self, ref: str) -> RunInfo:
        run_id = self.resolve(ref)
        with self._lock:
            row = self._db.execute(self._SELECT + " WHERE r.id = ?", (run_id,)).fetchone()
        return self._info(row)

    def open_run(self, ref: str) -> Run:
        """A handle to append to an existing run (to resume it)."""
        return Run(self, self.resolve(ref))

    def events(self, run_id: str, type_: str | None = None) -> list[Event]:
        sql = "SELECT id, run_id, ts, type, key, payload FROM events WHERE run_id = ?"
        args: list[Any] = [run_id]
        if type_:
            sql += " AND type = ?"
            args.append(type_)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Event(id=i, run_id=r, ts=ts, type=t, key=k, payload=json.loads(p))
            for i, r, ts, t, k, p in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
        self.log("metric", {"name": name, "value": value, "step": step, **labels})

    def done_keys(self, type_: str) -> set[str]:
        """Keys of this run's events of one type: the work a resumed run can skip."""
        return {e.key for e in self.store.events(self.id, type_) if e.key is not None}

    def events(self, type_: str | None = None) -> list[Event]:
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
        fields: dict[str, Any] = {"status": status, "finished_at": time.time()}
        if error is not None:
            fields["error"] = redact(error)
        if summary is not None:
            fields["summary"] = json.dumps(redact(summary), default=str)
        self.store._set(self.id, **fields)
