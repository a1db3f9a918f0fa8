"""The published SCAI numbers we compare with (data/contract/paper.yaml)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from scai.contract.persona import DATA_DIR


@lru_cache(maxsize=1)
def paper_curves() -> dict[str, Any]:
    """Each named reference: the flexible agents' offered share by epoch, a note, OOD range."""
    return yaml.safe_load((DATA_DIR / "paper.yaml").read_text(encoding="utf-8"))
