"""`scai drift`: iterated self-training, watched round by round (see docs/supervise.md).

Modules: `config` (the `kind: drift` config), `run` (the rounds), `result` (what a run finds),
`outputs` (report.md, drift.png and drift.json, from `scai.report.drift`), `cli` (the command).

`DriftConfig` and `run_drift` are imported on first use, so that reading the result models (the
dashboard does) does not load the CAI training stack.
"""

from typing import TYPE_CHECKING

from scai.supervise.drift.result import ChangeNote, Comparison, DriftResult, RoundResult, comparison

if TYPE_CHECKING:
    from scai.supervise.drift.config import DriftConfig
    from scai.supervise.drift.run import run_drift

__all__ = ["ChangeNote", "Comparison", "DriftConfig", "DriftResult", "RoundResult", "comparison",
           "run_drift"]


def __getattr__(name: str):
    """`DriftConfig` and `run_drift`, imported when first asked for."""
    if name == "DriftConfig":
        from scai.supervise.drift.config import DriftConfig

        return DriftConfig
    if name == "run_drift":
        from scai.supervise.drift.run import run_drift

        return run_drift
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
