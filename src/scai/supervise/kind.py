"""The supervise kinds: `diff` (behavioural comparison), `bench` (reflectivity benchmark, and
`bench-validate`, its item filter) and `drift` (iterated self-training)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from scai.kinds import Feature, Kind, KindResult, RunContext, scalars


def run_diff(cfg: Any, ctx: RunContext) -> KindResult:
    """One diff config -> its headline measures."""
    from scai.supervise.diff.runner import run_diff as diff

    result = diff(cfg, ctx.store, out_dir=ctx.out_dir, cache=ctx.cache, resume=ctx.resume,
                  progress=ctx.progress)
    metrics = getattr(result, "metrics", None)
    found = scalars(metrics) if isinstance(metrics, (dict, BaseModel)) else scalars(result)
    return KindResult(found, result, [result.run_id] if getattr(result, "run_id", None) else [])


def run_drift(cfg: Any, ctx: RunContext) -> KindResult:
    """One drift config -> the last round against round 0, and its benchmark score."""
    from scai.supervise.drift.run import run_drift as drift

    result = drift(cfg, ctx.out_dir, store=ctx.store, cache=ctx.cache, progress=ctx.progress)
    last = result.rounds[-1]  # where the self-training led
    metrics = scalars(last.vs_base, "vs_base.") if last.vs_base is not None else {}
    metrics.update(scalars(last.bench, "bench."))
    return KindResult(metrics, result)


FEATURE = Feature("supervise", cli=(
    "scai.supervise.diff.cli", "scai.supervise.bench.cli", "scai.supervise.drift.cli",
    "scai.supervise.representations.cli"), kinds=(
    Kind("diff", "Behavioural diff", config="scai.supervise.diff.config:DiffConfig",
         run="scai.supervise.kind:run_diff",
         page="scai.report.diff:diff_blocks"),
    Kind("bench", "Reflectivity benchmark",
         page="scai.report.bench:bench_blocks"),
    Kind("bench-validate", "Benchmark item validation"),
    # A drift run resumes from its own folder (finished rounds are kept there).
    Kind("drift", "Drift", config="scai.supervise.drift.config:DriftConfig",
         run="scai.supervise.kind:run_drift",
         page="scai.report.drift:drift_blocks"),
))
