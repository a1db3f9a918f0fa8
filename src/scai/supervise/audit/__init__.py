"""`scai audit`: auditing in the style of Petri (see docs/audit.md). An auditor model pursues a
goal against a target over turns, rolling back and branching; a judge scores named dimensions
with quotes checked against the transcript; seeds aggregate with 95% CIs.

Modules: `config` (the `kind: audit` config), `tree` (nodes and branches), `auditor` (its
prompt and action schema), `loop` (one seed), `judge` (scores and the quote check), `result`,
`run` (`run_audit`), `outputs` (files, from `scai.report.audit`), `cli` (the command).
`run_audit` is imported on first use, so the result models can be read without the runner.
"""

from typing import TYPE_CHECKING

from scai.supervise.audit.config import AuditConfig
from scai.supervise.audit.judge import DimensionScore, quote_found
from scai.supervise.audit.result import AuditResult, DimensionSummary, SeedAudit
from scai.supervise.audit.tree import Branch, Node, Tree

if TYPE_CHECKING:
    from scai.supervise.audit.run import run_audit

__all__ = ["AuditConfig", "AuditResult", "Branch", "DimensionScore", "DimensionSummary", "Node",
           "SeedAudit", "Tree", "quote_found", "run_audit"]


def __getattr__(name: str):
    """`run_audit`, imported from the runner when first asked for."""
    if name == "run_audit":
        from scai.supervise.audit.run import run_audit

        return run_audit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
