"""Which kinds a sweep can run: a view of the kind records (scai/kinds.py).

A runnable kind's record names its runner (`run(cfg, ctx) -> KindResult`), the dotted key its
seed lives at, and whether a killed attempt may be resumed by run id. The runner's module is
imported only in the worker, so a kind whose module is not installed is a clear error.
"""

from __future__ import annotations

import importlib.util

from scai.errors import ConfigError
from scai.kinds import Kind, RunContext, all_kinds

__all__ = ["RunContext", "runnable_kinds", "runner_for"]


def runnable_kinds() -> dict[str, Kind]:
    """The kinds with a runner, by name."""
    return {name: k for name, k in all_kinds().items() if k.run is not None}


def runner_for(kind: str, where: str = "sweep") -> Kind:
    """The record of a runnable kind; ConfigError when it cannot be swept or its module is missing."""
    record = runnable_kinds().get(kind)
    if record is None:
        raise ConfigError(f"{where}: kind {kind!r} cannot be swept (sweepable: "
                          f"{', '.join(sorted(runnable_kinds()))})")
    try:
        found = importlib.util.find_spec(record.module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise ConfigError(f"{where}: kind {kind!r} needs the module {record.module}, which this "
                          "installation does not have")
    try:
        record.runner()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}: kind {kind!r}: cannot load {record.run}: {exc}") from None
    return record
