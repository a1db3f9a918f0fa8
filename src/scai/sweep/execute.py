"""Run a sweep on Ray: long-lived worker actors, one progress bar, retries, resume, Ctrl-C.

The driver owns the bookkeeping: it submits runs to free workers, waits for whichever finishes
first (`ray.wait`), writes that run's `done.json` (or queues a retry, or writes `failed.json`
once the retries are spent) and advances the one bar. Workers are Ray actors, so each is one
process that keeps its loaded models for every run it executes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scai.errors import ScaiError
from scai.progress import progress_bar
from scai.sweep.config import SweepConfig
from scai.sweep.grid import RunSpec, SweepPlan, plan_sweep
from scai.sweep.layout import RunRecord, SweepDir
from scai.sweep.limits import shares


@dataclass
class SweepSummary:
    """What a sweep did this time."""

    out_dir: Path
    total: int
    already_done: int
    done: list[RunRecord] = field(default_factory=list)
    failed: list[RunRecord] = field(default_factory=list)
    workers: int = 0
    wall_s: float = 0.0
    ray_address: str | None = None


class _Worker:
    """A Ray actor: one process running runs; limits server requests to its share."""

    def __init__(self, server_permits: int | None):
        if server_permits is not None:
            from scai.sweep.limits import limit_servers

            limit_servers(server_permits)

    def run(self, name: str, kind: str, config: dict, run_dir: str, cache: bool):
        from scai.sweep.work import run_one

        return run_one(name, kind, config, run_dir, cache)

    def pid(self) -> int:
        return os.getpid()


def _worker_env(cfg: SweepConfig, cpus: float) -> dict[str, str]:
    """Environment of each worker: the driver's cache folders, and threads = its CPUs.

    API keys are not passed on (Ray keeps runtime environments in its own records): a local Ray
    inherits them from the driver, and cluster nodes need them set before `ray start`.
    """
    env = {k: os.environ[k] for k in ("SCAI_CACHE_DIR", "SCAI_HF_DIR") if k in os.environ}
    env["SCAI_THREADS"] = os.environ.get("SCAI_THREADS") or str(max(1, int(cpus)))
    return env


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a HOST:PORT nobody answers at (Ray itself would retry for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # `auto`, `ray://...`: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ScaiError(f"--ray {address}: nothing answers there ({exc.strerror or exc}); start "
                        "the cluster with `ray start --head`, or leave out --ray for a local "
                        "Ray") from None


def connect(address: str | None, cpus: int) -> tuple[bool, str]:
    """Join the cluster at `address`, reuse this process's Ray, or start a local one."""
    import ray

    if ray.is_initialized():
        return False, ray.get_runtime_context().gcs_address
    if address:
        _reachable(address)
    kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.ERROR,
                                  log_to_driver=False, configure_logging=True)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=cpus, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ScaiError(f"--ray {address}: cannot connect to Ray: {exc}".replace("\n", " ")
                        if address else f"cannot start a local Ray: {exc}") from None
    return True, ray.get_runtime_context().gcs_address


def run_sweep(
    cfg: SweepConfig, out_dir: Path | str, *, ray_address: str | None = None,
    max_parallel: int | None = None, progress: bool = True, where: str = "sweep",
    plan: SweepPlan | None = None,
) -> SweepSummary:
    """Run every unfinished run of the sweep; finished runs (with `done.json`) are skipped."""
    plan = plan or plan_sweep(cfg, where)
    if ray_address:
        _reachable(ray_address)
    folder = SweepDir(out_dir)
    finished = folder.finished(plan) if folder.plan_path.exists() else set()
    folder.save_plan(plan)
    todo = [r for r in plan.runs if r.name not in finished]
    summary = SweepSummary(out_dir=folder.root, total=len(plan.runs),
                           already_done=len(plan.runs) - len(todo))
    if not todo:
        return summary
    t0 = time.perf_counter()
    workers = max_parallel or cfg.workers
    local_cpus = int((workers or os.cpu_count() or 1) * max(cfg.cpus_per_worker, 1))
    started, summary.ray_address = connect(ray_address, local_cpus)
    try:
        import ray

        if workers is None:
            cpus = ray.cluster_resources().get("CPU", 1)
            workers = max(1, int(cpus // cfg.cpus_per_worker))
        workers = min(workers, -(-len(todo) // cfg.runs_per_worker))
        summary.workers = workers
        _drive(cfg, folder, todo, workers, summary, progress)
    finally:
        if started:
            import ray

            ray.shutdown()
    summary.wall_s = time.perf_counter() - t0
    return summary


def _drive(cfg: SweepConfig, folder: SweepDir, todo: list[RunSpec], workers: int,
           summary: SweepSummary, progress: bool) -> None:
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    actor_cls = ray.remote(_Worker)
    permits = shares(cfg.max_concurrency, workers) if cfg.max_concurrency else [None] * workers
    env = _worker_env(cfg, cfg.cpus_per_worker)

    def start(i: int):
        return actor_cls.options(
            num_cpus=cfg.cpus_per_worker, num_gpus=cfg.gpus_per_worker,
            max_concurrency=cfg.runs_per_worker, max_restarts=0,
            runtime_env={"env_vars": env},
        ).remote(permits[i])

    actors = [start(i) for i in range(workers)]
    free = deque(i for i in range(workers) for _ in range(cfg.runs_per_worker))
    queue = deque(todo)
    attempts: dict[str, int] = {}
    inflight: dict[Any, tuple[RunSpec, int]] = {}
    label = f"sweep {cfg.name} ({workers} worker{'s' * (workers > 1)})" if progress else None
    try:
        with progress_bar(label, total=summary.total) as advance:
            advance(summary.already_done)
            while queue or inflight:
                while queue and free:
                    spec, i = queue.popleft(), free.popleft()
                    ref = actors[i].run.remote(spec.name, spec.kind, spec.config,
                                               str(folder.run_dir(spec.name)), cfg.cache)
                    inflight[ref] = (spec, i)
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    spec, i = inflight.pop(ref)
                    try:
                        result = ray.get(ref)
                        error = None if result.ok else result.error
                    except (RayActorError, RayTaskError) as exc:
                        result, error = None, f"worker lost: {type(exc).__name__}: {exc}"
                        error = error.splitlines()[0]
                        actors[i] = start(i)  # a fresh process takes the dead one's place
                    free.append(i)
                    attempts[spec.name] = attempts.get(spec.name, 0) + 1
                    if error is None:
                        summary.done.append(folder.record(
                            spec, "done", metrics=result.metrics, attempts=attempts[spec.name],
                            wall_s=result.wall_s, pid=result.pid, host=result.host,
                            model_loads=result.model_loads, tokens=result.tokens))
                        advance(1)
                    elif attempts[spec.name] <= cfg.retries:
                        queue.append(spec)
                    else:
                        extra = ({} if result is None else
                                 dict(pid=result.pid, host=result.host, wall_s=result.wall_s))
                        summary.failed.append(folder.record(
                            spec, "failed", error=error, attempts=attempts[spec.name], **extra))
                        advance(1)
    finally:
        # Ctrl-C or an error: stop what is running; finished runs are already on disk.
        for actor in actors:
            ray.kill(actor)
