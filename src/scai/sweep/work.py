"""What a worker does with one run: validate its config, run it in its own folder, report back.

Runs in a Ray worker process (or in-process). Model backends are per-process: the embedded model
is loaded once per worker and reused by every run it executes (`scai.llm.llamacpp` keeps one
loaded model per file and context size per process); each result says which models this run had
to load, so the one-load-per-worker rule can be checked.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.config import to_yaml
from scai.kinds import validate_kind
from scai.store import RunStore
from scai.sweep.runners import RunContext, runner_for


class RunResult(BaseModel):
    """What a worker sends back for one attempt of one run."""

    name: str
    ok: bool
    metrics: dict[str, float] = {}
    error: str | None = None
    wall_s: float = 0.0
    pid: int
    host: str
    model_loads: list[str] = []
    tokens: dict[str, int] = {}
    servers: dict[str, dict[str, int]] = {}


_REPORTED: set[str] = set()
_REPORTED_LOCK = threading.Lock()


def _new_model_loads() -> list[str]:
    """Models loaded in this process since the last call: each load is reported by one run,
    even when several runs share the worker at once."""
    from scai.llm import llamacpp

    with _REPORTED_LOCK:
        loaded = {f"{Path(p).name}:ctx{n}" for p, n in list(llamacpp._MODELS)}
        new = sorted(loaded - _REPORTED)
        _REPORTED.update(new)
    return new


def _unfinished_run(store: RunStore, kind: str) -> str | None:
    """The run a killed attempt left behind, to resume rather than start over."""
    runs = store.list_runs(kind=kind)
    return next((r.id for r in runs if r.status != "completed"), None)


def _tokens(store: RunStore) -> dict[str, int]:
    """Tokens of the model calls recorded in this run's store (the store's own reading): prompt
    (of which `reused` from cached prefixes) and completion tokens of the calls the model
    answered; `calls` counts response-cache hits too, `cached_calls` only those."""
    runs = store.usage().values()
    return {"prompt": sum(u.prompt_tokens for u in runs),
            "reused": sum(u.reused_tokens for u in runs),
            "completion": sum(u.completion_tokens for u in runs),
            "calls": sum(u.calls + u.cache_hits for u in runs),
            "cached_calls": sum(u.cache_hits for u in runs)}


def run_one(name: str, kind: str, config: dict[str, Any], run_dir: str, cache: bool) -> RunResult:
    """Run one config in `run_dir` (store in `store/`, outputs in `out/`); never raises."""
    start = time.perf_counter()
    where = dict(pid=os.getpid(), host=socket.gethostname())
    try:
        runner = runner_for(kind)
        cfg = validate_kind(kind, config, f"run {name}")
        folder = Path(run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        text, path = to_yaml(cfg), folder / "config.yaml"
        # A killed attempt is resumed only if it ran this very config (the sweep file may
        # have been edited since); otherwise the run starts over.
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        path.write_text(text, encoding="utf-8")
        store = RunStore(folder / "store")
        resume = _unfinished_run(store, kind) if runner.resumable and same else None
        ctx = RunContext(store=store, out_dir=folder / "out", cache=cache, resume=resume,
                         progress=False)
        metrics = runner.runner()(cfg, ctx).metrics
        tokens = _tokens(store)
    except BaseException as exc:  # a run's failure is data for the driver, not a crash
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        tail = traceback.format_exc(limit=-3).strip().splitlines()
        detail = f"{type(exc).__name__}: {exc}".strip()
        where_line = next((ln.strip() for ln in reversed(tail) if ln.strip().startswith("File")),
                          "")
        return RunResult(name=name, ok=False, error=f"{detail} ({where_line})" if where_line
                         else detail, wall_s=time.perf_counter() - start,
                         model_loads=_new_model_loads(), **where)
    from scai.sweep.limits import server_stats

    return RunResult(name=name, ok=True, metrics=metrics, wall_s=time.perf_counter() - start,
                     model_loads=_new_model_loads(), tokens=tokens,
                     servers=server_stats(), **where)
