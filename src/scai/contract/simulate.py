"""The Social Contract loop: episodes, metrics, meta-learning, epoch by epoch; resumable.

Every model call is a keyed step (`e{epoch}|g{game}|propose` ...) logged to the run store, every
finished episode an `episode` event keyed by its id, every constitution a `constitution` event. A
resumed run reads them back and plays only what is missing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.contract.assistance import AssistanceDesk, assistance_observations
from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.memory import recall
from scai.contract.metalearn import LEARNERS, LearnContext, Observation
from scai.contract.metrics import assistance_metrics, objective_score, ultimatum_metrics
from scai.contract.persona import load_personas
from scai.contract.prompts import PROMPTS
from scai.contract.steps import Caller
from scai.contract.ultimatum import UltimatumTable, build_society, choose_prior, prior_text
from scai.converse.engine import ClientPool, StepLog
from scai.errors import ConfigError
from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run, stored_config
from scai.store import RunStore

OOD_CURRENCIES = ["grams of medicine", "pints of blood", "litres of baby formula"]


class EpochRecord(BaseModel):
    """One epoch: the constitution in force, what it led to, and the episodes behind it."""

    epoch: int
    constitution: Constitution
    metrics: dict[str, float | None]
    episodes_run: int
    episodes_replayed: int


class RunResult(BaseModel):
    """One run (one seed)."""

    run_id: str
    seed: int
    prior: str
    epochs: list[EpochRecord]
    final: Constitution
    episodes_run: int
    episodes_replayed: int
    model_calls: int
    parse_failures: int
    out_dir: str


def ultimatum_observations(episodes: list[Episode]) -> list[Observation]:
    """Users' own offers, each against the mirrored split they did not choose."""
    out = []
    for e in episodes:
        d = e.data
        if d.get("offer") is None or d["proposer"]["kind"] != "fixed" or 2 * d["offer"] == d["amount"]:
            continue
        out.append(Observation(
            situation=f"You have {d['amount']} {d['currency']} to split with a partner.",
            chosen=f"give the partner {d['offer']}", other=f"give the partner {d['amount'] - d['offer']}"))
    return out


def initial_constitution(config: ContractConfig, prior: str) -> Constitution:
    if config.constitution is not None:
        return Constitution(principles=list(config.constitution), source="given")
    if config.task.type == "assistance":
        return Constitution(principles=[config.task.prior])
    text = prior_text(prior)
    return Constitution(principles=[text] if text else [])


def score_text(metrics: dict[str, Any], config: ContractConfig) -> str:
    """How a constitution did, as the meta-learner reads it in the history."""
    if config.task.type == "assistance":
        s = objective_score(metrics, config.task.objective)
        return f"{config.task.objective} utility {s:.2f}" if s is not None else "no ratings"
    inc, acc = metrics.get("income_flexible"), metrics.get("acceptance")
    parts = []
    if inc is not None:
        parts.append(f"assistant kept {inc:.0%} of amounts on average")
    if acc is not None:
        parts.append(f"{acc:.0%} of deals accepted")
    return ", ".join(parts) or "no finished deals"


@dataclass
class Outcome:
    """What `run_once` returns: the epochs, the prior drawn, and the counters."""

    epochs: list[EpochRecord]
    prior: str
    model_calls: int
    episodes_run: int
    episodes_replayed: int


async def run_once(
    config: ContractConfig, run, *, cache: bool = True, backend: Backend | None = None,
    advance=lambda n=1: None, constitution: Constitution | None = None, learn: bool = True,
) -> Outcome:
    """The loop for one run already opened in the store (new or resumed)."""
    pool = ClientPool(config.model, cache=True if cache else None, on_call=call_logger(run),
                      backend=backend)
    caller = Caller(pool, StepLog(run), config.seed, config.params)
    personas = load_personas(config.personas) if config.personas else load_personas()
    done_eps = {e.key: Episode.model_validate(e.payload) for e in run.events("episode") if e.key}
    done_cons = {e.key: Constitution.model_validate(e.payload)
                 for e in run.events("constitution") if e.key}
    task = config.task
    prior = choose_prior(task, config.seed) if task.type == "ultimatum" else "given"
    current = constitution or done_cons.get("c0") or initial_constitution(config, prior)
    if "c0" not in done_cons:
        run.log("constitution", current.model_dump(), key="c0")
    counts = {"run": 0, "replayed": 0}

    def on_episode(ep: Episode, replayed: bool) -> None:
        counts["replayed" if replayed else "run"] += 1
        if not replayed:
            run.log("episode", ep.model_dump(), key=ep.id)
        advance(1)

    if task.type == "ultimatum":
        table = UltimatumTable(config, caller, prior)
        players = build_society(task, personas, config.seed)
        banned = [*task.currencies, *OOD_CURRENCIES]
        objective = PROMPTS["objective_ultimatum"].render()
    else:
        desk = AssistanceDesk(config, caller, personas)
        if not desk.personas:
            raise ConfigError("personas: none of them has a `request` for the assistance task")
        banned = []
        objective = PROMPTS["objective_assistance"].render(objective={
            "mean": "the average rating", "min": "the rating of the least satisfied person",
            "gini": "equal ratings across people"}[task.objective])
    model = config.meta_model or config.model
    learner = LEARNERS.get(config.learner.type)
    all_episodes: list[Episode] = []
    history: list[tuple[Constitution, str]] = []
    records: list[EpochRecord] = []
    for epoch in range(config.epochs):
        before = dict(counts)
        if task.type == "ultimatum":
            episodes = await table.play_epoch(epoch, players, current, done_eps, on_episode)
            metrics = ultimatum_metrics(episodes)
        else:
            episodes = await desk.play_epoch(epoch, current, done_eps, on_episode)
            metrics = assistance_metrics(episodes)
        run.log("epoch", {"epoch": epoch, "metrics": metrics}, key=f"e{epoch}")
        records.append(EpochRecord(
            epoch=epoch, constitution=current, metrics=metrics,
            episodes_run=counts["run"] - before["run"],
            episodes_replayed=counts["replayed"] - before["replayed"]))
        all_episodes += episodes
        history.append((current, score_text(metrics, config)))
        if not learn or learner is None or epoch == config.epochs - 1:
            continue
        key = f"c{epoch + 1}"
        if key in done_cons:
            current = done_cons[key]
            continue
        seen = recall(all_episodes, config.memory, epoch, config.seed)
        window = [e for e in all_episodes if epoch - config.memory.epochs_back < e.epoch <= epoch]
        observations = (ultimatum_observations(window) if task.type == "ultimatum"
                        else assistance_observations(window))
        # The history includes the current constitution's own score.
        ctx = LearnContext(epoch=epoch, constitution=current, history=history, episodes=seen,
                           banned=banned, objective=objective, observations=observations)
        current = await learner(config.learner, caller, model, config.memory.mode).learn(ctx)
        run.log("constitution", current.model_dump(), key=key)
    return Outcome(records, prior, caller.counters.calls, counts["run"], counts["replayed"])


def simulate(
    config: ContractConfig, store: RunStore | None = None, *, runs: int = 1,
    out_dir: Path | str | None = None, resume: str | None = None, cache: bool = True,
    progress: bool = True, backend: Backend | None = None,
):
    """Run the simulation `runs` times (seeds seed, seed+1, ...) or resume one run; write reports.

    Usable from a notebook: `simulate(load_config("examples/contract/ultimatum.yaml"))`.
    """
    from scai.contract.report import SimulationResult, write_aggregate, write_run

    store = store or RunStore()
    if resume:
        config = stored_config(store, resume, "contract", ContractConfig)
        runs = 1
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out_dir) if out_dir else store.root / "contract" / f"{config.name}-{stamp}"
    per_epoch = (config.task.requests_per_epoch if config.task.type == "assistance" else
                 (sum(config.task.pairs.values()) if config.task.pairs else config.task.games_per_epoch))
    results: list[RunResult] = []
    with progress_bar(f"simulate {config.name}" if progress else None,
                      total=runs * config.epochs * per_epoch) as advance:
        for i in range(runs):
            seeded = config if resume else config.model_copy(update={"seed": config.seed + i})
            run_dir = out / f"run-{i}" if runs > 1 else out
            with recorded_run(store, "contract", seeded, name=seeded.name, resume=resume) as run:
                o = asyncio.run(run_once(seeded, run, cache=cache, backend=backend,
                                         advance=advance))
                result = RunResult(
                    run_id=run.id, seed=seeded.seed, prior=o.prior, epochs=o.epochs,
                    final=o.epochs[-1].constitution, episodes_run=o.episodes_run,
                    episodes_replayed=o.episodes_replayed, model_calls=o.model_calls,
                    parse_failures=int(sum(r.metrics.get("parse_failures") or 0
                                           for r in o.epochs)),
                    out_dir=str(run_dir))
                write_run(seeded, result, run_dir)
                run.finish("completed", summary=result.model_dump(exclude={"epochs"}))
            results.append(result)
    sim = SimulationResult(name=config.name, runs=results, out_dir=str(out),
                           paper_reference=config.paper_reference)
    write_aggregate(config, sim, out)
    return sim
