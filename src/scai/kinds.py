"""One record per run kind: its config model, its runner, its commands and its dashboard page.

Each feature declares itself once, in a light `kind.py` module of its package
(`FEATURE = Feature(...)`: its command module and its kinds), naming heavy parts as
`"module:attribute"` strings so optional extras stay lazy. Everything that needs to know the kinds
reads these records: the config registry (`load_config`), `scai sweep`, the command line and the
dashboard. Adding a kind = a `Kind` in its feature's record (a new feature: one line in FEATURES).

Every runnable kind has one entry shape: `run(config, ctx: RunContext) -> KindResult`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.errors import ConfigError

# The modules that declare kinds (`KINDS = [...]`), in the order their commands are registered.
FEATURES: tuple[str, ...] = (
    "scai.converse.kind", "scai.contract.kind", "scai.cai.kind", "scai.sweep.kind",
    "scai.supervise.kind", "scai.supervise.audit.kind", "scai.judges.kind", "scai.ui.kind",
)


@dataclass(frozen=True)
class RunContext:
    """Where one run writes: its store, its output folder, the cache, resume and progress."""

    store: Any  # scai.store.RunStore (kept loose so this module imports nothing heavy)
    out_dir: Path | None = None
    cache: bool = True
    resume: str | None = None
    progress: bool = True
    backend: Any = None  # a scripted backend for tests; None = the configured model


@dataclass
class KindResult:
    """What a kind's runner returns: scalar metrics (for sweeps and tables) and the full result."""

    metrics: dict[str, float]
    result: Any = None
    run_ids: list[str] = field(default_factory=list)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


@dataclass(frozen=True)
class Kind:
    """A run kind: what its config is, how it runs, which commands and page show it."""

    name: str
    title: str
    config: str | None = None  # "module:Class" of its config model (None: not a config file kind)
    run: str | None = None  # "module:function" with the entry shape run(cfg, ctx) -> KindResult
    page: str | None = None  # "module:function" (reader, data) -> list of report blocks
    seed_key: str = "seed"  # the dotted config key its seed lives at (sweeps vary it)
    resumable: bool = True  # a sweep may pass resume=RUN_ID to a killed attempt

    def config_model(self) -> type[BaseModel]:
        if self.config is None:
            raise ConfigError(f"kind {self.name!r} is not a config file kind")
        return _load(self.config)

    def runner(self) -> Callable[[BaseModel, RunContext], KindResult]:
        if self.run is None:
            raise ConfigError(f"kind {self.name!r} cannot be run from a config")
        return _load(self.run)

    def page_builder(self) -> Callable[..., list] | None:
        return _load(self.page) if self.page else None

    @property
    def module(self) -> str:
        return (self.run or "").partition(":")[0]


def scalars(data: Any, prefix: str = "", depth: int = 2) -> dict[str, float]:
    """Every finite number in a (nested) mapping or model, with dotted names; no booleans."""
    if isinstance(data, BaseModel):
        data = data.model_dump()
    found: dict[str, float] = {}
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            found[name] = float(value)
        elif isinstance(value, (dict, BaseModel)) and depth > 1:
            found.update(scalars(value, f"{name}.", depth - 1))
    return found


def _batch(cfg: Any, ctx: RunContext) -> KindResult:
    from scai.batch import run_batch

    summary = run_batch(cfg, ctx.store, resume=ctx.resume, cache=ctx.cache, progress=ctx.progress)
    return KindResult(scalars(summary), summary, [summary.run_id])


@dataclass(frozen=True)
class Feature:
    """A feature: the modules that add its commands (each has `register(app)`) and its kinds."""

    name: str
    kinds: tuple[Kind, ...] = ()
    cli: tuple[str, ...] = ()


# The core's own kinds and commands; features declare theirs in their kind.py.
CORE = Feature("core", cli=("scai.core_cli", "scai.runs_cli"), kinds=(
    Kind("batch", "Batch", config="scai.batch:BatchConfig", run="scai.kinds:_batch",
         seed_key="params.seed"),
    Kind("ask", "Ask"),
))


@cache
def all_features() -> tuple[Feature, ...]:
    """The core and every feature record in FEATURES (imports only the light `kind.py` modules)."""
    return (CORE, *(importlib.import_module(m).FEATURE for m in FEATURES))


@cache
def all_kinds() -> dict[str, Kind]:
    """Every declared kind, by name."""
    found: dict[str, Kind] = {}
    for kind in (k for f in all_features() for k in f.kinds):
        if kind.name in found:
            raise RuntimeError(f"kind {kind.name!r} is declared twice")
        found[kind.name] = kind
    return found


def get_kind(name: str) -> Kind | None:
    return all_kinds().get(name)


def config_kinds() -> list[str]:
    """The kinds a config file may name."""
    return sorted(k.name for k in all_kinds().values() if k.config is not None)


def load_config(
    path: Path | str, overrides: list[str] | None = None, *, kind: str | None = None
) -> BaseModel:
    """Load, override and validate a config file of any kind (or, with `kind`, of that kind)."""
    from scai.config import read_config, validate_as

    path = Path(path)
    data = read_config(path, overrides)
    file_kind = data.get("kind")
    hint = f"this command needs kind: {kind}" if kind else f"one of: {', '.join(config_kinds())}"
    if file_kind is None:
        raise ConfigError(f"{path}: kind: required key is missing ({hint})")
    record = all_kinds().get(file_kind) if isinstance(file_kind, str) else None
    if record is None or record.config is None:
        raise ConfigError(f"{path}: kind: unknown kind {file_kind!r} ({hint})")
    if kind is not None and file_kind != kind:
        raise ConfigError(f"{path}: kind: this command needs kind {kind!r}, the file says {file_kind!r}")
    return validate_as(record.config_model(), data, str(path), config_dir=path.parent)


def validate_kind(kind: str, data: Any, where: str) -> BaseModel:
    """Validate a mapping as a config of `kind` (a sweep's runs, a stored config)."""
    from scai.config import validate_as

    record = all_kinds().get(kind)
    if record is None or record.config is None:
        raise ConfigError(f"{where}: unknown kind {kind!r} (one of: {', '.join(config_kinds())})")
    return validate_as(record.config_model(), data, where)


def register_clis(app: Any) -> None:
    """Let each feature's command module add its commands to `app`."""
    for feature in all_features():
        for module in feature.cli:
            importlib.import_module(module).register(app)
