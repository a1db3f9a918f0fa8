"""`scai drift`: iterated self-training, watched round by round (see docs/supervise-drift.md).

Modules: `config` (the `kind: drift` config), `run` (the rounds), `result` (what a run finds),
`report` (report.md and drift.png), `cli` (the command).
"""

from scai.supervise.drift.config import DriftConfig
from scai.supervise.drift.result import ChangeNote, Comparison, DriftResult, RoundResult, comparison
from scai.supervise.drift.run import run_drift

__all__ = ["ChangeNote", "Comparison", "DriftConfig", "DriftResult", "RoundResult", "comparison",
           "run_drift"]
