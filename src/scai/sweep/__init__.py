"""Sweeps: grids of experiments (parameters x seeds) run on Ray, merged into one report."""

from scai.sweep.config import SweepConfig
from scai.sweep.execute import SweepSummary, run_sweep
from scai.sweep.grid import RunSpec, SweepPlan, expand, plan_sweep, run_name
from scai.sweep.layout import RunRecord, SweepDir

__all__ = ["RunRecord", "RunSpec", "SweepConfig", "SweepDir", "SweepPlan",
           "SweepSummary", "expand", "plan_sweep", "run_name", "run_sweep"]
