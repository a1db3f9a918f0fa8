"""The `sweep` kind: grids of configs x seeds, run on Ray."""

from __future__ import annotations

from scai.kinds import Feature, Kind

FEATURE = Feature("sweep", cli=("scai.sweep.cli",), kinds=(
    Kind("sweep", "Sweep", config="scai.sweep.config:SweepConfig"),
))
