"""The sweep file (`kind: sweep`): a base config, a grid or list of overrides, and seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path


class SweepConfig(ConfigModel):
    """Many runs of one base config: every grid point (or variant) x every seed, on Ray."""

    kind: Literal["sweep"] = "sweep"
    name: str = Field("sweep", min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    description: str = ""
    base: Path = Field(..., description="The config every run starts from (contract, converse, "
                       "cai, batch, diff); relative to this file's folder.")
    set: list[str] = Field(default_factory=list,
                           description="Overrides applied to every run, like --set KEY=VALUE.")
    grid: dict[str, list[Any]] | None = Field(
        None, description="Dotted key -> values; runs are the cartesian product.")
    variants: list[dict[str, Any]] | None = Field(
        None, description="A list of override sets (dotted key -> value), one run each "
        "(crossed with the grid when both are given).")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1,
                             description="Seeds (a number N means 0..N-1); each point runs once "
                             "per seed.")
    retries: int = Field(1, ge=0, le=10, description="Re-runs of a failed run before it is "
                         "reported as failed.")
    workers: int | None = Field(None, ge=1, le=10_000, description="Worker processes (runs at "
                                "once per worker: runs_per_worker); default: one per CPU.")
    runs_per_worker: int = Field(1, ge=1, le=256, description="Runs a worker runs at once "
                                 "(threads); more than 1 helps keep a server busy.")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs Ray reserves for each worker.")
    gpus_per_worker: float = Field(0.0, ge=0, description="GPUs Ray reserves for each worker "
                                   "(for embedded GPU models).")
    max_concurrency: int | None = Field(
        None, ge=1, le=100_000, description="Most requests in flight to each model server "
        "(openai-compat URL) from the whole sweep; split evenly among the workers.")
    cache: bool = Field(True, description="Use the response cache (seeded calls).")

    _resolve = field_validator("base")(resolve_path)

    @field_validator("seeds", mode="before")
    @classmethod
    def _count(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                raise ValueError("a number of seeds must be at least 1")
            return list(range(v))
        return v

    @model_validator(mode="after")
    def _points(self) -> SweepConfig:
        if self.grid is not None:
            if not self.grid:
                raise ValueError("grid: empty; give at least one KEY: [values] (or leave it out)")
            for key, values in self.grid.items():
                if not values:
                    raise ValueError(f"grid: {key}: no values")
                if "=" in key or not key.strip():
                    raise ValueError(f"grid: {key!r} is not a dotted key")
        if self.variants is not None and not self.variants:
            raise ValueError("variants: empty; give at least one set of overrides (or leave it "
                             "out)")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds: repeated seed")
        return self
