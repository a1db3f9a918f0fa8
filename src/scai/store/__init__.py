"""The run store: every run's config, status and events, in SQLite (WAL) under a directory."""

from scai.redact import redact
from scai.store.export import export_run
from scai.store.runs import Event, Run, RunInfo, RunStore, default_runs_dir

__all__ = ["Event", "Run", "RunInfo", "RunStore", "default_runs_dir", "export_run", "redact"]
