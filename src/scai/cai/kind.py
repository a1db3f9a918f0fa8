"""The `cai` kind: Constitutional AI (critique/revision, SFT, DPO, evaluation)."""

from __future__ import annotations

from typing import Any

from scai.kinds import Feature, Kind, KindResult, RunContext, scalars


def run(cfg: Any, ctx: RunContext) -> KindResult:
    """One CAI config, one seed -> its evaluation metrics and the number of preference pairs."""
    from scai.cai.pipeline import run_cai

    result = run_cai(cfg, ctx.out_dir, seeds=1, cache=ctx.cache, progress=ctx.progress,
                     store=ctx.store)
    seed = result.seeds[0]
    metrics = scalars(seed.metrics)
    metrics["pairs"] = float(seed.pairs)
    return KindResult(metrics, result)


FEATURE = Feature("cai", cli=("scai.cai.cli",), kinds=(
    # A CAI run resumes from its own folder (finished seeds are kept there), not by run id.
    Kind("cai", "Constitutional AI", config="scai.cai.config:CaiConfig", run="scai.cai.kind:run",
         page="scai.report.cai:cai_blocks", resumable=False),
))
