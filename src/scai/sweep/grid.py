"""From a sweep file to its runs: grid expansion, run names, and every run's validated config."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel

from scai.config import apply_overrides, load_yaml, validate_as
from scai.errors import ConfigError
from scai.kinds import all_kinds
from scai.sweep.config import SweepConfig
from scai.sweep.runners import runner_for

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]+")
MAX_NAME = 80
MAX_RUNS = 100_000  # a bigger sweep is almost surely a mistake in the grid


class RunSpec(BaseModel):
    """One run of a sweep: its swept values, its seed, and the full config it runs."""

    name: str
    params: dict[str, Any]
    seed: int
    kind: str
    config: dict[str, Any]

    @property
    def config_hash(self) -> str:
        """A fingerprint of the full config: a finished run is reused only if it matches."""
        text = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class SweepPlan(BaseModel):
    """Every run of a sweep, in a fixed order; what `sweep.json` holds."""

    name: str
    kind: str
    base: str
    params: list[str]
    seeds: list[int]
    runs: list[RunSpec]


def expand(cfg: SweepConfig) -> list[dict[str, Any]]:
    """The override sets of a sweep: variants x grid points (cartesian), in file order."""
    grid = cfg.grid or {}
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    variants = cfg.variants or [{}]
    return [{**v, **p} for v in variants for p in points]


def _fmt(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def run_name(params: dict[str, Any], seed: int, keys: list[str] | None = None) -> str:
    """A readable, deterministic, filesystem-safe name: `temperature=0.7_seed=1`.

    Keys are shortened to their last part when that stays unambiguous among `keys`; a hash of
    the exact values is appended whenever the readable part lost anything (odd characters,
    length), so two different runs never share a name.
    """
    keys = keys or list(params)
    lasts = [k.split(".")[-1] for k in keys]
    parts = []
    for key, value in params.items():
        short = key.split(".")[-1]
        label = short if lasts.count(short) == 1 else key
        parts.append(f"{label}={_fmt(value)}")
    parts.append(f"seed={seed}")
    raw = "_".join(parts)
    safe = _UNSAFE.sub("-", raw)
    if safe != raw or len(safe) > MAX_NAME:
        canonical = json.dumps([params, seed], sort_keys=True, default=str)
        digest = hashlib.sha1(canonical.encode()).hexdigest()[:8]
        safe = f"{safe[:MAX_NAME - 9].rstrip('-_')}-{digest}"
    return safe


def _absolute_paths(model: BaseModel) -> None:
    """Relative paths in a validated config become absolute: workers run elsewhere."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, PurePath) and not value.is_absolute():
            setattr(model, name, Path(value).resolve())
        elif isinstance(value, BaseModel):
            _absolute_paths(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    _absolute_paths(item)


def plan_sweep(cfg: SweepConfig, where: str = "sweep") -> SweepPlan:
    """Expand and validate every run up front, so a typo fails before any worker starts."""
    base = load_yaml(cfg.base)
    if not isinstance(base, dict):
        raise ConfigError(f"{cfg.base}: expected a mapping of keys at the top")
    kind = base.get("kind")
    if kind == "sweep":
        raise ConfigError(f"{where}: base: {cfg.base} is itself a sweep")
    record = all_kinds().get(kind) if isinstance(kind, str) else None
    if record is None or record.config is None:
        raise ConfigError(f"{where}: base: {cfg.base}: unknown kind {kind!r}")
    runner = runner_for(kind, where=f"{where}: base: {cfg.base}")
    apply_overrides(base, list(cfg.set), where=f"{where}: set")
    size = len(cfg.variants or [{}]) * len(cfg.seeds)
    for values in (cfg.grid or {}).values():
        size *= len(values)
    if size > MAX_RUNS:
        raise ConfigError(f"{where}: {size:,} runs (grid x variants x seeds); more than "
                          f"{MAX_RUNS:,} is refused — split the sweep")
    point_sets = expand(cfg)
    keys = list(dict.fromkeys(k for p in point_sets for k in p))
    runs: list[RunSpec] = []
    names: set[str] = set()
    for params in point_sets:
        for seed in cfg.seeds:
            name = run_name(params, seed, keys)
            if name in names:
                raise ConfigError(f"{where}: two runs would both be named {name!r} (repeated "
                                  "variant?)")
            names.add(name)
            data = copy.deepcopy(base)
            overrides = [f"{k}={json.dumps(v)}" for k, v in params.items()]
            overrides.append(f"{runner.seed_key}={seed}")
            apply_overrides(data, overrides, where=f"{where}: run {name}")
            model = validate_as(record.config_model(), data, f"{where}: run {name}",
                                config_dir=cfg.base.parent)
            _absolute_paths(model)
            runs.append(RunSpec(name=name, params=params, seed=seed, kind=kind,
                                config=model.model_dump(mode="json")))
    return SweepPlan(name=cfg.name, kind=kind, base=str(Path(cfg.base).resolve()), params=keys,
                     seeds=list(cfg.seeds), runs=runs)
