"""The `converse` kind: a multi-agent conversation (its commands live in scai/cli.py)."""

from __future__ import annotations

from typing import Any

from scai.kinds import Feature, Kind, KindResult, RunContext, scalars


def run(cfg: Any, ctx: RunContext) -> KindResult:
    """One conversation -> its size, cost and every judge score."""
    from scai.converse.runner import run_converse

    result = run_converse(cfg, ctx.store, runs=1, out_dir=ctx.out_dir, resume=ctx.resume,
                          cache=ctx.cache, progress=ctx.progress, backend=ctx.backend)
    first = result.runs[0]
    metrics = {k: float(getattr(first, k)) for k in
               ("rounds_run", "statements", "tokens", "model_calls", "judge_parse_failures")}
    for j in first.judgements:
        metrics.update(scalars(j.scores or {}, f"{j.judge}."))
    return KindResult(metrics, result, [r.run_id for r in result.runs])


FEATURE = Feature("converse", cli=("scai.converse.cli",), kinds=(
    Kind("converse", "Conversation", config="scai.converse.scenario:ConverseConfig",
         run="scai.converse.kind:run", page="scai.report.converse:converse_blocks"),
))
