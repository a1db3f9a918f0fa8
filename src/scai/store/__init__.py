"""The run store: every run's config, status and events, in SQLite (WAL) under a directory.

`RunStore(root)` records runs; `RunStore(root, read_only=True)` reads an existing store without
ever writing to it (SQLite `mode=ro`), and its `read_runs`/`read_run`/`read_events` list what a
crash left unreadable instead of failing.
"""

from scai.redact import redact
from scai.store.export import export_run
from scai.store.models import Event, RunInfo, RunStatus
from scai.store.rows import pid_alive
from scai.store.runs import Run, RunStore, default_runs_dir
from scai.store.usage import RunUsage

__all__ = ["Event", "Run", "RunInfo", "RunStatus", "RunStore", "RunUsage", "default_runs_dir",
           "export_run", "pid_alive", "redact"]
