"""The Social Contract kinds: `contract` (a simulation) and `contract-eval` (a learned
constitution evaluated on unseen tasks)."""

from __future__ import annotations

from typing import Any

from scai.kinds import Feature, Kind, KindResult, RunContext, scalars


def run(cfg: Any, ctx: RunContext) -> KindResult:
    """One contract config -> the final epoch's metrics (what the learning led to)."""
    from scai.contract.simulate import simulate

    sim = simulate(cfg, ctx.store, out_dir=ctx.out_dir, resume=ctx.resume, cache=ctx.cache,
                   progress=ctx.progress, backend=ctx.backend)
    first = sim.runs[0]
    metrics = scalars(first.epochs[-1].metrics)
    metrics.update(model_calls=first.model_calls, parse_failures_total=first.parse_failures,
                   principles=len(first.final.principles))
    if first.baseline is not None:  # per_group: the shared arm's per-group metrics beside
        metrics.update({f"shared|{k}": v for k, v in scalars(
            first.baseline.epochs[-1].metrics).items() if k.startswith("group_")})
    return KindResult(metrics, sim, [r.run_id for r in sim.runs])


FEATURE = Feature("contract", cli=("scai.contract.cli",), kinds=(
    Kind("contract", "Social Contract", config="scai.contract.config:ContractConfig",
         run="scai.contract.kind:run",
         page="scai.report.contract:contract_blocks"),
    Kind("contract-eval", "Constitution evaluation"),
))
