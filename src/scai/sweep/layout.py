"""A sweep's folder: `sweep.json` (the plan), `runs/<name>/` per run, `report/` when merged.

A run is finished when its `done.json` exists; the driver writes it last and atomically (write a
temporary file, then rename), so a killed sweep never leaves a half-written one behind.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.errors import ConfigError
from scai.sweep.grid import RunSpec, SweepPlan


class RunRecord(BaseModel):
    """A finished (or finally failed) run: what `done.json` / `failed.json` hold."""

    name: str
    params: dict[str, Any]
    seed: int
    status: str  # "done" | "failed"
    metrics: dict[str, float] = {}
    error: str | None = None
    attempts: int = 1
    wall_s: float = 0.0
    pid: int | None = None
    host: str | None = None
    model_loads: list[str] = []
    tokens: dict[str, int] = {}
    finished_at: float = 0.0


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class SweepDir:
    """The files of one sweep on disk."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def plan_path(self) -> Path:
        return self.root / "sweep.json"

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / name

    def save_plan(self, plan: SweepPlan) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.plan_path.exists():
            old = self.load_plan()
            if old.kind != plan.kind or old.base != plan.base:
                raise ConfigError(f"{self.root}: holds a sweep of {old.base}, not {plan.base}; "
                                  "use another --out")
        write_atomic(self.plan_path, plan.model_dump_json(indent=1) + "\n")

    def load_plan(self) -> SweepPlan:
        if not self.plan_path.is_file():
            raise ConfigError(f"{self.root}: not a sweep folder (no sweep.json)")
        return SweepPlan.model_validate_json(self.plan_path.read_text(encoding="utf-8"))

    def is_done(self, name: str) -> bool:
        return (self.run_dir(name) / "done.json").is_file()

    def record(self, spec: RunSpec, status: str, **fields: Any) -> RunRecord:
        """Write a run's `done.json` (dropping an old `failed.json`) or its `failed.json`."""
        rec = RunRecord(name=spec.name, params=spec.params, seed=spec.seed, status=status,
                        finished_at=time.time(), **fields)
        folder = self.run_dir(spec.name)
        folder.mkdir(parents=True, exist_ok=True)
        if status == "done":
            write_atomic(folder / "done.json", rec.model_dump_json(indent=1) + "\n")
            (folder / "failed.json").unlink(missing_ok=True)
        else:
            write_atomic(folder / "failed.json", rec.model_dump_json(indent=1) + "\n")
        return rec

    def records(self) -> list[RunRecord]:
        """Every run of the plan that has finished or finally failed, in plan order."""
        out = []
        for spec in self.load_plan().runs:
            for fname in ("done.json", "failed.json"):
                path = self.run_dir(spec.name) / fname
                if path.is_file():
                    out.append(RunRecord.model_validate(json.loads(path.read_text("utf-8"))))
                    break
        return out
