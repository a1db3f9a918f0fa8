"""Import every feature package so that their config kinds are registered."""

from __future__ import annotations

import importlib

FEATURE_MODULES = ["scai.batch", "scai.converse", "scai.contract", "scai.cai.config",
                   "scai.sweep.config", "scai.supervise.diff.config",
                   "scai.supervise.drift_config"]

# Feature packages that add their own commands: each module has `register(app)`.
FEATURE_CLIS: list[str] = ["scai.contract.cli", "scai.cai.cli", "scai.sweep.cli",
                            "scai.ui.cli", "scai.supervise.diff_cli",
                            "scai.supervise.bench_cli", "scai.supervise.drift_cli"]


def load_features() -> None:
    for name in FEATURE_MODULES:
        importlib.import_module(name)


def register_clis(app) -> None:
    """Let each feature package add its commands (a sub-app or plain commands) to `app`."""
    for name in FEATURE_CLIS:
        importlib.import_module(name).register(app)
