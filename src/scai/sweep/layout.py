"""A sweep's folder: `sweep.json` (the plan), `runs/<name>/` per run, `report/` when merged.

A run is finished when its `done.json` exists; the driver writes it last and atomically (write a
temporary file, then rename), so a killed sweep never leaves a half-written one behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

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
    config_hash: str | None = None  # of the config it ran; None in sweeps made before it was kept


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
        try:
            return SweepPlan.model_validate_json(self.plan_path.read_bytes())
        except (ValidationError, OSError) as exc:
            raise ConfigError(f"{self.plan_path}: not a readable sweep plan "
                              f"({_first_line(exc)})") from None

    def read_record(self, name: str, fname: str) -> RunRecord | None:
        """A run's `done.json` or `failed.json`; None when absent or unreadable (the run is
        then simply not finished: it runs again)."""
        path = self.run_dir(name) / fname
        try:
            return RunRecord.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None

    def finished(self, plan: SweepPlan) -> set[str]:
        """Names of the plan's runs that finished with the config the plan gives them now.

        A finished run whose config has changed since (an edited base config or `set`) is an
        error, not a silent reuse: its results would be reported under the new settings.
        """
        done, changed = set(), []
        for spec in plan.runs:
            rec = self.read_record(spec.name, "done.json")
            if rec is None:
                continue
            if rec.config_hash not in (None, spec.config_hash):
                changed.append(spec.name)
            else:
                done.add(spec.name)
        if changed:
            more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
            raise ConfigError(
                f"{self.root}: run {changed[0]}{more} finished with a different config than "
                "the sweep file now gives it (compare its config.yaml); use another --out, or "
                "delete those run folders to redo them")
        return done

    def record(self, spec: RunSpec, status: str, **fields: Any) -> RunRecord:
        """Write a run's `done.json` (dropping an old `failed.json`) or its `failed.json`."""
        rec = RunRecord(name=spec.name, params=spec.params, seed=spec.seed, status=status,
                        finished_at=time.time(), config_hash=spec.config_hash, **fields)
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
            rec = self.read_record(spec.name, "done.json") or self.read_record(spec.name,
                                                                                "failed.json")
            if rec is not None:
                out.append(rec)
        return out


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
