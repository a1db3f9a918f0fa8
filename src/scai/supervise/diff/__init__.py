"""`scai diff`: unsupervised behavioural comparison of two models (or one model under two
system prompts or constitutions). See docs/supervise-diff.md.

`compare` and `run_diff` (the runner) are imported on first use: the result models can be read
(by `scai.report.diff`) without loading the runner, which writes its files through that module.
"""

from typing import TYPE_CHECKING

from scai.supervise.diff.axes import AxisRow, PairScores, Separability, combine_orders
from scai.supervise.diff.config import AxisSettings, AxisSpec, ClusterSettings, DiffConfig, DiffSide
from scai.supervise.diff.probes import Probe, load_probes
from scai.supervise.diff.result import ClusterRow, DiffResult, Example, Failures
from scai.supervise.diff.sampling import Answer, sample_answers

if TYPE_CHECKING:
    from scai.supervise.diff.runner import compare, run_diff

__all__ = [
    "Answer", "AxisRow", "AxisSettings", "AxisSpec", "ClusterRow", "ClusterSettings",
    "DiffConfig", "DiffResult", "DiffSide", "Example", "Failures", "PairScores", "Probe", "Separability",
    "combine_orders", "compare", "load_probes", "run_diff", "sample_answers",
]


def __getattr__(name: str):
    """`compare` and `run_diff`, imported from the runner when first asked for."""
    if name in ("compare", "run_diff"):
        from scai.supervise.diff import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
