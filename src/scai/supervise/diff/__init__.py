"""`scai diff`: unsupervised behavioural comparison of two models (or one model under two
system prompts or constitutions). See docs/supervise-diff.md."""

from scai.supervise.diff.axes import AxisRow, PairScores, Separability, combine_orders
from scai.supervise.diff.config import AxisSettings, AxisSpec, ClusterSettings, DiffConfig, DiffSide
from scai.supervise.diff.probes import Probe, load_probes
from scai.supervise.diff.result import ClusterRow, DiffResult, Example, Failures
from scai.supervise.diff.runner import compare, run_diff
from scai.supervise.diff.sampling import Answer, sample_answers

__all__ = [
    "Answer", "AxisRow", "AxisSettings", "AxisSpec", "ClusterRow", "ClusterSettings",
    "DiffConfig", "DiffResult", "DiffSide", "Example", "Failures", "PairScores", "Probe", "Separability",
    "combine_orders", "compare", "load_probes", "run_diff", "sample_answers",
]
