"""Read-only access to the run store, tolerant of what a crash can leave behind.

The dashboard must never write to the store, so it does not use `RunStore` (which creates the
schema); it opens SQLite with `mode=ro`. A garbled payload becomes a listed problem, not a crash.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scai.errors import StoreError
from scai.store.runs import Event, RunInfo, _pid_alive, default_runs_dir

_SELECT = (
    "SELECT r.id, r.kind, r.name, r.status, r.config, r.created_at, r.updated_at,"
    " r.finished_at, r.error, r.pid, r.host, r.summary,"
    " (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) FROM runs r"
)
# Tokens and cost of every model call, summed per run; garbled payloads are skipped, not fatal.
_USAGE = (
    "SELECT run_id,"
    " SUM(CASE WHEN json_valid(payload) THEN"
    "  COALESCE(json_extract(payload, '$.completion.usage.prompt_tokens'), 0)"
    "  + COALESCE(json_extract(payload, '$.completion.usage.completion_tokens'), 0) END),"
    " SUM(CASE WHEN json_valid(payload) THEN json_extract(payload, '$.completion.usage.cost_usd')"
    " END)"
    " FROM events WHERE type = 'model_call' GROUP BY run_id"
)


def _loads(text: str | None, default: Any) -> tuple[Any, bool]:
    """(value, ok): JSON text, or `default` when it is missing or garbled."""
    if text is None or text == "":
        return default, True
    try:
        return json.loads(text), True
    except (TypeError, ValueError):
        return default, False


@dataclass
class RunData:
    """A run with all its readable events, and what could not be read."""

    info: RunInfo
    events: list[Event]
    problems: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]

    def last(self, type_: str) -> Event | None:
        found = self.of(type_)
        return found[-1] if found else None

    @property
    def summary(self) -> dict[str, Any]:
        return self.info.summary or {}

    def out_dir(self) -> Path | None:
        """Where the run wrote its files: the summary's or config's `out_dir`, if any."""
        for source in (self.summary, self.info.config,
                       *(e.payload for e in reversed(self.of("result"))),
                       *(e.payload for e in self.of("start"))):
            for key in ("out_dir", "out", "output_dir"):
                value = source.get(key) if isinstance(source, dict) else None
                if isinstance(value, str) and value:
                    return Path(value)
        return None


class StoreReader:
    """A read-only view of one run store (`scai.sqlite` under `root`)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()
        self.path = self.root / "scai.sqlite"
        if not self.path.is_file():
            raise StoreError(f"no run store at {self.path} (run something first, or pass "
                             "--runs-dir)")
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                       check_same_thread=False, timeout=30)
            self._db.execute("SELECT 1 FROM runs LIMIT 1")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the run store at {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _info(self, row: tuple) -> tuple[RunInfo, list[str]]:
        (id_, kind, name, status, config, created, updated, finished, error, pid, host,
         summary, n_events) = row
        problems = []
        if status == "running" and host == socket.gethostname() and not _pid_alive(pid):
            status = "interrupted"  # its process is gone without saying goodbye
        if status not in ("running", "completed", "failed", "interrupted"):
            problems.append(f"unknown status {status!r}")
            status = "failed"
        cfg, ok = _loads(config, {})
        if not ok or not isinstance(cfg, dict):
            problems.append("its config is not readable JSON")
            cfg = {}
        summ, ok = _loads(summary, None)
        if not ok or (summ is not None and not isinstance(summ, dict)):
            problems.append("its summary is not readable JSON")
            summ = None
        info = RunInfo(id=id_, kind=kind, name=name, status=status, config=cfg,
                       created_at=created, updated_at=updated, finished_at=finished, error=error,
                       pid=pid, host=host, summary=summ, n_events=n_events)
        return info, problems

    def list_runs(self, kind: str | None = None) -> list[RunInfo]:
        """Every run, newest first."""
        sql, args = _SELECT, []
        if kind:
            sql += " WHERE r.kind = ?"
            args.append(kind)
        rows = self._db.execute(sql + " ORDER BY r.created_at DESC", args).fetchall()
        return [self._info(r)[0] for r in rows]

    def usage(self) -> dict[str, tuple[int, float | None]]:
        """Per run id: total tokens and cost (None where no price is configured)."""
        return {r: (int(t or 0), c) for r, t, c in self._db.execute(_USAGE).fetchall()}

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one, or `latest`."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM runs ORDER BY created_at DESC")]
        if ref == "latest":
            if not ids:
                raise StoreError(f"no runs in {self.root}")
            return ids[0]
        if ref in ids:
            return ref
        found = [i for i in ids if i.startswith(ref)]
        if not found:
            raise StoreError(f"no run {ref!r} in {self.root} (see `scai runs list`)")
        if len(found) > 1:
            raise StoreError(f"{ref!r} matches {len(found)} runs: {', '.join(found[:4])} ...")
        return found[0]

    def get(self, ref: str) -> RunInfo:
        return self.load(ref, events=False).info

    def load(self, ref: str, *, events: bool = True) -> RunData:
        """A run and its events; unreadable payloads are counted in `problems`."""
        run_id = self.resolve(ref)
        info, problems = self._info(self._db.execute(_SELECT + " WHERE r.id = ?",
                                                     (run_id,)).fetchone())
        out: list[Event] = []
        if events:
            bad: list[str] = []
            rows = self._db.execute("SELECT id, run_id, ts, type, key, payload FROM events "
                                    "WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
            for i, r, ts, t, k, p in rows:
                payload, ok = _loads(p, {})
                if not ok or not isinstance(payload, dict):
                    bad.append(f"{t} #{i}" + (f" ({k})" if k else ""))
                    continue
                out.append(Event(id=i, run_id=r, ts=ts, type=t, key=k, payload=payload))
            if bad:
                problems.append(f"{len(bad)} event(s) could not be read (garbled or truncated "
                                f"JSON) and are left out: {', '.join(bad[:6])}"
                                + (" ..." if len(bad) > 6 else ""))
        return RunData(info=info, events=out, problems=problems)

    def siblings(self, info: RunInfo) -> list[RunInfo]:
        """The runs of one multi-seed invocation (`--runs N`), oldest first, this one included.

        `scai simulate --runs N` and `scai converse --runs N` write run i to `OUT/run-i`, so runs
        whose summaries name the same OUT (and have the same kind and config name) belong together.
        """
        group = _group_dir(info)
        if group is None:
            return [info]
        same = [r for r in self.list_runs(info.kind)
                if r.name == info.name and _group_dir(r) == group]
        return sorted(same, key=lambda r: r.created_at) or [info]


def _group_dir(info: RunInfo) -> str | None:
    out = (info.summary or {}).get("out_dir")
    if not isinstance(out, str):
        return None
    path = Path(out)
    return str(path.parent) if re.fullmatch(r"run-\d+", path.name) else None
