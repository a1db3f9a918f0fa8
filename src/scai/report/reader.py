"""Read-only access to the run store, tolerant of what a crash can leave behind.

The dashboard must never write to the store: it reads through `RunStore(read_only=True)`
(SQLite `mode=ro`, no schema created). A garbled payload becomes a listed problem, not a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scai.store.models import Event, RunInfo
from scai.store.runs import RunStore
from scai.store.usage import RunUsage


@dataclass
class RunData:
    """A run with all its readable events, and what could not be read."""

    info: RunInfo
    events: list[Event]
    problems: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[Event]:
        """The run's events of one type, in order."""
        return [e for e in self.events if e.type == type_]

    def last(self, type_: str) -> Event | None:
        """The latest event of one type, if any."""
        found = self.of(type_)
        return found[-1] if found else None

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary ({} when it has none)."""
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
        self.store = RunStore(root, read_only=True)
        self.root = self.store.root
        self.path = self.store.path

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def list_runs(self, kind: str | None = None) -> list[RunInfo]:
        """Every run (of `kind`), newest first; damaged rows read as far as they can."""
        return [info for info, _ in self.store.read_runs(kind)]

    def usage(self) -> dict[str, RunUsage]:
        """Per run id: its model calls, tokens (evaluated vs reused), time and cost."""
        return self.store.usage()

    def run_usage(self, ref: str) -> RunUsage:
        """One run's call accounting, the same reading as `scai runs show`."""
        return self.store.run_usage(ref)

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one, or `latest`."""
        return self.store.resolve(ref)

    def get(self, ref: str) -> RunInfo:
        """One run's row, read as far as it can be."""
        return self.store.read_run(ref)[0]

    def load(self, ref: str, *, events: bool = True) -> RunData:
        """A run and its events; unreadable payloads are counted in `problems`."""
        info, problems = self.store.read_run(ref)
        out: list[Event] = []
        if events:
            out, bad = self.store.read_events(info.id)
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
