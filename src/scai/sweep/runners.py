"""Which function runs one config of each kind, and how its result becomes scalar metrics.

`RUNNERS` maps a config kind to a `Runner`: the module and function that run it (imported only
in the worker, so a kind whose module is not installed is a clear error, not an ImportError), the
dotted key its seed lives at, and the adaptor that calls it with the run's own store and folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.errors import ConfigError
from scai.store import RunStore


@dataclass(frozen=True)
class RunContext:
    """Where one run writes: its own store, its output folder, and whether to use the cache."""

    store: RunStore
    out_dir: Path
    cache: bool
    resume: str | None


Adaptor = Callable[[Callable[..., Any], BaseModel, RunContext], dict[str, float]]


@dataclass(frozen=True)
class Runner:
    """How to run one kind: `module:function`, the seed's key, and the call + metrics adaptor."""

    target: str
    adaptor: Adaptor
    seed_key: str = "seed"
    resumable: bool = True

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    def load(self) -> Callable[..., Any]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


def scalars(data: Any, prefix: str = "", depth: int = 2) -> dict[str, float]:
    """Every finite number in a (nested) mapping or model, with dotted names; no booleans."""
    if isinstance(data, BaseModel):
        data = data.model_dump()
    found: dict[str, float] = {}
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            found[name] = float(value)
        elif isinstance(value, (dict, BaseModel)) and depth > 1:
            found.update(scalars(value, f"{name}.", depth - 1))
    return found


def _contract(fn, cfg, ctx: RunContext) -> dict[str, float]:
    sim = fn(cfg, ctx.store, out_dir=ctx.out_dir, resume=ctx.resume, cache=ctx.cache,
             progress=False)
    run = sim.runs[0]
    metrics = scalars(run.epochs[-1].metrics)  # the final epoch: what the learning led to
    metrics.update(model_calls=run.model_calls, parse_failures_total=run.parse_failures,
                   principles=len(run.final.principles))
    return metrics


def _converse(fn, cfg, ctx: RunContext) -> dict[str, float]:
    result = fn(cfg, ctx.store, runs=1, out_dir=ctx.out_dir, resume=ctx.resume, cache=ctx.cache,
                progress=False)
    run = result.runs[0]
    metrics = {k: float(getattr(run, k)) for k in
               ("rounds_run", "statements", "tokens", "model_calls", "judge_parse_failures")}
    for j in run.judgements:
        metrics.update(scalars(j.scores or {}, f"{j.judge}."))
    return metrics


def _batch(fn, cfg, ctx: RunContext) -> dict[str, float]:
    summary = fn(cfg, ctx.store, resume=ctx.resume, cache=ctx.cache, progress=False)
    return scalars(summary)


def _cai(fn, cfg, ctx: RunContext) -> dict[str, float]:
    result = fn(cfg, ctx.out_dir, seeds=1, cache=ctx.cache, progress=False, store=ctx.store)
    seed = result.seeds[0]
    metrics = scalars(seed.metrics)
    metrics["pairs"] = float(seed.pairs)
    return metrics


def _diff(fn, cfg, ctx: RunContext) -> dict[str, float]:
    result = fn(cfg, ctx.store, out_dir=ctx.out_dir, cache=ctx.cache, resume=ctx.resume,
                progress=False)
    metrics = getattr(result, "metrics", None)
    return scalars(metrics) if isinstance(metrics, (dict, BaseModel)) else scalars(result)


def _drift(fn, cfg, ctx: RunContext) -> dict[str, float]:
    result = fn(cfg, ctx.out_dir, store=ctx.store, cache=ctx.cache, progress=False)
    last = result.rounds[-1]  # where the self-training led
    metrics = scalars(last.vs_base, "vs_base.") if last.vs_base is not None else {}
    metrics.update(scalars(last.bench, "bench."))
    return metrics


RUNNERS: dict[str, Runner] = {
    "contract": Runner("scai.contract.simulate:simulate", _contract),
    "converse": Runner("scai.converse:run_converse", _converse),
    "batch": Runner("scai.batch:run_batch", _batch, seed_key="params.seed"),
    "cai": Runner("scai.cai.pipeline:run_cai", _cai, resumable=False),
    "diff": Runner("scai.supervise.diff:run_diff", _diff),
    # A drift run resumes from its own folder (finished rounds are kept there).
    "drift": Runner("scai.supervise.drift:run_drift", _drift),
}


def runner_for(kind: str, where: str = "sweep") -> Runner:
    """The runner of a kind; ConfigError when the kind cannot be swept or its module is missing."""
    runner = RUNNERS.get(kind)
    if runner is None:
        raise ConfigError(f"{where}: kind {kind!r} cannot be swept (sweepable: "
                          f"{', '.join(sorted(RUNNERS))})")
    try:
        found = importlib.util.find_spec(runner.module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise ConfigError(f"{where}: kind {kind!r} needs the module {runner.module}, which this "
                          "installation does not have")
    try:
        runner.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}: kind {kind!r}: cannot load {runner.target}: {exc}") from None
    return runner
