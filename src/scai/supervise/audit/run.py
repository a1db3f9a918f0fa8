"""`run_audit`: every seed of an audit in one recorded run, aggregated, written, and logged as
the run's `result` (what the dashboard page reads)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run, stored_config
from scai.steps import ClientPool, Counts, KeyedLog
from scai.store import RunStore
from scai.supervise.audit.config import AuditConfig
from scai.supervise.audit.loop import AuditModels, audit_seed, steps_per_seed
from scai.supervise.audit.outputs import write_outputs
from scai.supervise.audit.result import AuditResult, SeedAudit, summarise_dimension


def _default_out(store: RunStore, config: AuditConfig) -> Path:
    return store.root / "audit" / f"{config.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def run_audit(
    config: AuditConfig, store: RunStore, *, out_dir: Path | None = None,
    resume: str | None = None, cache: bool = True, progress: bool = True,
    backend: Backend | None = None,
) -> AuditResult:
    """Run `config.seeds` audits (seeds seed, seed+1, ...) as one run, or resume one.

    A resumed run replays its finished steps from the store and writes to the folder it began
    in. `backend` answers every model call (a scripted backend in tests).
    """
    if resume:
        config = stored_config(store, resume, "audit", AuditConfig)
    elif out_dir is not None or config.out is None:
        config = config.model_copy(update={"out": Path(out_dir or _default_out(store, config))})
    started = time.monotonic()
    with recorded_run(store, "audit", config, name=config.name, resume=resume) as run:
        pool = ClientPool(config.auditor.model, cache=True if cache else None,
                          on_call=call_logger(run), backend=backend)
        models = AuditModels(pool.get(config.auditor.model), pool.get(config.target.model),
                             pool.get(config.judge.model))
        log, counts = KeyedLog(run, "step"), Counts()
        seeds = [config.seed + i for i in range(config.seeds)]
        with progress_bar(f"audit {config.name}" if progress else None,
                          total=len(seeds) * steps_per_seed(config)) as advance:

            async def every_seed() -> list[SeedAudit]:
                return list(await asyncio.gather(*(
                    audit_seed(config, models, log, s, counts, advance) for s in seeds)))

            audits = asyncio.run(every_seed())
        result = AuditResult(
            run_id=run.id, name=config.name, goal=config.goal, auditor=config.auditor.model.model,
            target=config.target.model.model, judge=config.judge.model.model,
            turns=config.turns, rollbacks=config.rollbacks, branches_judged=config.judge.branches,
            seeds=audits, dimensions=[summarise_dimension(d.name, audits, d.description, d.min,
                                                          d.max) for d in config.dimensions],
            out_dir=str(config.out), wall_s=round(time.monotonic() - started, 2),
            calls=counts.calls, replayed=counts.replayed)
        write_outputs(result, Path(config.out))
        for d in result.dimensions:
            if d.estimate.mean is not None:
                run.metric(f"{d.name}.mean", d.estimate.mean)
        run.log("result", result.model_dump(mode="json"))
        run.finish("completed", summary={
            "out_dir": result.out_dir, "seeds": len(audits),
            "auditor_failures": result.auditor_failures,
            **{f"{d.name}.mean": d.estimate.mean for d in result.dimensions}})
    return result
