"""The judges feature: `scai judge-check` and its run kind."""

from __future__ import annotations

from scai.kinds import Feature, Kind

FEATURE = Feature("judges", cli=("scai.judges.cli",), kinds=(
    Kind("judge-check", "Judge check", page="scai.report.judges:judge_check_blocks"),
))
