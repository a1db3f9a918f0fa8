"""The dashboard records no runs of its own; it adds `scai ui` and `scai report`."""

from __future__ import annotations

from scai.kinds import Feature

FEATURE = Feature("ui", cli=("scai.ui.cli",))
