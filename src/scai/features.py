"""Import every feature package so that their config kinds are registered."""

from __future__ import annotations

import importlib

FEATURE_MODULES = ["scai.batch", "scai.converse"]


def load_features() -> None:
    for name in FEATURE_MODULES:
        importlib.import_module(name)
