"""The Social Contract loop: episodes, metrics, meta-learning, epoch by epoch; resumable.

Every model call is a keyed step (`e{epoch}|g{game}|propose` ...) logged to the run store, every
finished episode an `episode` event keyed by its id, every constitution a `constitution` event
(`constitution_key`). A resumed run reads them back and plays only what is missing. The game is
whatever `task.type` names in the registry (contract/tasks); this loop knows none of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution, constitution_key
from scai.contract.episode import Episode
from scai.contract.groups import GroupLoop, group_metrics, run_groups, true_groups
from scai.contract.metalearn import LEARNERS, learning_context
from scai.contract.persona import load_personas
from scai.contract.result import EpochRecord, RunResult, SimulationResult
from scai.contract.steps import Caller
from scai.contract.tasks import Table, Task, task_for
from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run, stored_config
from scai.steps import ClientPool, KeyedLog
from scai.store import Run, RunStore

__all__ = ["EpochRecord", "Outcome", "RunResult", "run_once", "simulate"]


def initial_constitution(config: ContractConfig, task: Task, prior: str) -> Constitution:
    """The config's own constitution if it gives one, else the game's starting one."""
    if config.constitution is not None:
        return Constitution(principles=list(config.constitution), source="given")
    return task.initial_constitution(prior)


def open_task(config: ContractConfig, run: Run, *, cache: bool = True,
              backend: Backend | None = None) -> Task:
    """The game of `config`, set up to make this run's keyed calls."""
    pool = ClientPool(config.model, cache=True if cache else None, on_call=call_logger(run),
                      backend=backend)
    steps = Caller(pool, KeyedLog(run, "step"), config.seed, config.params)
    personas = load_personas(config.personas) if config.personas else load_personas()
    table = Table(steps, config.model, config.user_model or config.model, personas)
    return task_for(config.task)(config.task, table)


@dataclass
class Outcome:
    """What `run_once` returns: the epochs, the prior drawn, and the counters."""

    epochs: list[EpochRecord]
    prior: str
    model_calls: int
    episodes_run: int
    episodes_replayed: int


async def run_once(
    config: ContractConfig, run: Run, *, cache: bool = True, backend: Backend | None = None,
    advance: Callable[[int], None] = lambda n=1: None, constitution: Constitution | None = None,
    learn: bool = True,
) -> Outcome:
    """The loop for one run already opened in the store (new or resumed)."""
    task = open_task(config, run, cache=cache, backend=backend)
    done_eps = {e.key: task.episode(e.payload) for e in run.events("episode") if e.key}
    done_cons = {e.key: Constitution.model_validate(e.payload)
                 for e in run.events("constitution") if e.key}
    prior = task.prior()
    counts = {"run": 0, "replayed": 0}

    def on_episode(ep: Episode, replayed: bool) -> None:
        counts["replayed" if replayed else "run"] += 1
        if not replayed:
            run.log("episode", ep.model_dump(), key=ep.id)
        advance(1)

    if config.groups.mode == "per_group":
        start = constitution or initial_constitution(config, task, prior)

        async def play(epoch: int, default: Constitution):
            before = dict(counts)
            episodes = await task.play_epoch(epoch, default, done_eps, on_episode)
            return episodes, task.metrics(episodes), (counts["run"] - before["run"],
                                                      counts["replayed"] - before["replayed"])

        records = await run_groups(GroupLoop(config, run, task, start), config.epochs, learn, play)
        return Outcome(records, prior, task.table.steps.counts.calls, counts["run"],
                       counts["replayed"])
    first = constitution_key(0)
    current = constitution or done_cons.get(first) or initial_constitution(config, task, prior)
    if first not in done_cons:
        run.log("constitution", current.model_dump(exclude_none=True), key=first)
    truth = true_groups(task)
    # a mixed society in a one-to-one game: per-group metrics beside (a shared pot has no
    # "offer to group G" to read them from)
    by_group = task.cfg.one_user_at_a_time and len(set(truth.values())) > 1

    make = LEARNERS.get(config.learner.type)
    learner = make(config.learner, task.table.steps, config.meta_model or config.model) \
        if make else None
    all_episodes: list[Episode] = []
    history: list[tuple[Constitution, str]] = []
    records: list[EpochRecord] = []
    for epoch in range(config.epochs):
        before = dict(counts)
        episodes = await task.play_epoch(epoch, current, done_eps, on_episode)
        metrics = {**task.metrics(episodes), **(group_metrics(episodes, truth) if by_group else {})}
        run.log("epoch", {"epoch": epoch, "metrics": metrics}, key=f"e{epoch}")
        records.append(EpochRecord(
            epoch=epoch, constitution=current, metrics=metrics,
            episodes_run=counts["run"] - before["run"],
            episodes_replayed=counts["replayed"] - before["replayed"]))
        all_episodes += episodes
        history.append((current, task.score_text(metrics)))
        if not learn or learner is None or epoch == config.epochs - 1:
            continue
        key = constitution_key(epoch + 1)
        if key in done_cons:
            current = done_cons[key]
            continue
        # The history includes the current constitution's own score.
        ctx = learning_context(task, config.memory, config.seed, epoch, current, history,
                               all_episodes)
        current = await learner.learn(ctx)
        run.log("constitution", current.model_dump(exclude_none=True), key=key)
    return Outcome(records, prior, task.table.steps.counts.calls, counts["run"],
                   counts["replayed"])


def shared_arm(config: ContractConfig) -> ContractConfig:
    """The baseline of a per-group config: the same run with one shared constitution."""
    return config.model_copy(update={
        "name": f"{config.name}-shared"[:80],
        "groups": config.groups.model_copy(update={"mode": "shared"})})


def _baseline_run(store: RunStore, run_id: str) -> str | None:
    """The shared arm recorded beside per-group run `run_id`, if it was started."""
    found = [e.payload.get("run_id") for e in store.events(run_id, "baseline")]
    return found[-1] if found else None


def play_run(config: ContractConfig, store: RunStore, run_dir: Path, *, resume: str | None,
             cache: bool, backend: Backend | None, advance: Callable[[int], None],
             created: Callable[[str], None] | None = None) -> RunResult:
    """One recorded run (new or resumed), its files written; per_group: its shared arm too
    (`created` hears a new run's id)."""
    from scai.contract.outputs import write_run

    with recorded_run(store, "contract", config, name=config.name, resume=resume) as run:
        if created is not None and resume is None:
            created(run.id)
        o = asyncio.run(run_once(config, run, cache=cache, backend=backend, advance=advance))
        groups = config.groups
        result = RunResult(
            run_id=run.id, seed=config.seed, prior=o.prior, epochs=o.epochs,
            final=o.epochs[-1].constitution, episodes_run=o.episodes_run,
            episodes_replayed=o.episodes_replayed, model_calls=o.model_calls,
            parse_failures=int(sum(r.metrics.get("parse_failures") or 0 for r in o.epochs)),
            out_dir=str(run_dir),
            groups="shared" if groups.mode == "shared" else f"per_group/{groups.router}")
        if groups.mode == "per_group" and groups.baseline:
            before = _baseline_run(store, run.id) if resume else None
            result.baseline = play_run(
                shared_arm(config), store, run_dir / "shared", resume=before, cache=cache,
                backend=backend, advance=advance,
                created=lambda arm_id: run.log("baseline", {"run_id": arm_id}))
        write_run(config, result, run_dir)
        run.finish("completed", summary=result.model_dump(exclude={"epochs", "baseline"}))
    return result


def simulate(
    config: ContractConfig, store: RunStore | None = None, *, runs: int = 1,
    out_dir: Path | str | None = None, resume: str | None = None, cache: bool = True,
    progress: bool = True, backend: Backend | None = None,
) -> SimulationResult:
    """Run the simulation `runs` times (seeds seed, seed+1, ...) or resume one run; write reports.

    Usable from a notebook: `simulate(load_config("examples/contract/ultimatum.yaml"))`.
    """
    from scai.contract.outputs import write_aggregate

    store = store or RunStore()
    if resume:
        config = stored_config(store, resume, "contract", ContractConfig)
        runs = 1
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out_dir) if out_dir else store.root / "contract" / f"{config.name}-{stamp}"
    per_epoch = task_for(config.task).per_epoch(config.task)
    arms = 2 if config.groups.mode == "per_group" and config.groups.baseline else 1
    results: list[RunResult] = []
    with progress_bar(f"simulate {config.name}" if progress else None,
                      total=runs * arms * config.epochs * per_epoch) as advance:
        for i in range(runs):
            seeded = config if resume else config.model_copy(update={"seed": config.seed + i})
            run_dir = out / f"run-{i}" if runs > 1 else out
            results.append(play_run(seeded, store, run_dir, resume=resume, cache=cache,
                                    backend=backend, advance=advance))
    sim = SimulationResult(name=config.name, runs=results, out_dir=str(out),
                           paper_reference=config.paper_reference)
    write_aggregate(config, sim, out)
    return sim
