"""The `audit` kind: its config, runner, command and dashboard page."""

from __future__ import annotations

from typing import Any

from scai.kinds import Feature, Kind, KindResult, RunContext


def run(cfg: Any, ctx: RunContext) -> KindResult:
    """One audit config -> each dimension's mean over seeds, and the failures."""
    from scai.supervise.audit.run import run_audit

    result = run_audit(cfg, ctx.store, out_dir=ctx.out_dir, resume=ctx.resume, cache=ctx.cache,
                       progress=ctx.progress, backend=ctx.backend)
    metrics = {f"{d.name}.mean": d.estimate.mean for d in result.dimensions
               if d.estimate.mean is not None}
    metrics.update({"auditor_failures": float(result.auditor_failures),
                    "quote_failures": float(sum(d.quote_failures for d in result.dimensions)),
                    "parse_failures": float(sum(d.parse_failures for d in result.dimensions))})
    return KindResult(metrics, result, [result.run_id] if result.run_id else [])


FEATURE = Feature("audit", cli=("scai.supervise.audit.cli",), kinds=(
    Kind("audit", "Audit", config="scai.supervise.audit.config:AuditConfig",
         run="scai.supervise.audit.kind:run", page="scai.report.audit:audit_blocks"),
))
