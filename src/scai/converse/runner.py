"""Run a scenario one or many times: transcripts, judgements, aggregate statistics and a plot.

The files a run leaves come from the one report path: `scai.report.converse` builds the pages
(transcript, aggregate plot) and `scai.report.export.write_files` writes them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from scai.converse.conversation import Conversation
from scai.converse.floor import Tally
from scai.converse.judging import judge_all, judge_done_step
from scai.converse.result import (
    ConverseResult,
    ConverseRun,
    judge_failures,
    judged_scores,
    jury_alpha,
)
from scai.converse.scenario import ConverseConfig
from scai.converse.turns import policy_for
from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run, stored_config
from scai.report.converse import aggregate_page, transcript_page
from scai.report.export import write_files
from scai.stats import Estimate, mean_ci
from scai.steps import ClientPool, KeyedLog
from scai.store import RunStore

__all__ = ["ConverseResult", "ConverseRun", "run_converse"]


async def _run_one(
    config: ConverseConfig, store: RunStore, out_dir: Path, *, resume: str | None,
    cache: bool, advance: Callable[[int], None], backend: Backend | None = None,
) -> ConverseRun:
    with recorded_run(store, "converse", config, name=config.name, resume=resume) as run:
        pool = ClientPool(config.model, cache=True if cache else None, on_call=call_logger(run),
                          backend=backend)
        log = KeyedLog(run, "step")
        tally = Tally(on_turn=lambda s: advance(1) if not s.path else None)
        judge_done = judge_done_step(config, pool, log, tally) if config.termination.judge \
            else None
        conversation = Conversation(config, pool, log, tally=tally, judge_done=judge_done)
        outcome = await conversation.run()
        judgements = await judge_all(config, pool, log, outcome.transcript)
        for j in judgements:
            run.log("judgement", j.model_dump())
            for metric, value in (j.scores or {}).items():
                run.metric(f"{j.judge}.{metric}", value)
        result = ConverseRun(
            run_id=run.id, seed=config.seed, stop_reason=outcome.stop_reason,
            rounds_run=outcome.rounds_run, statements=len(outcome.transcript.speeches()),
            tokens=tally.tokens, model_calls=tally.calls, replayed_steps=log.replayed,
            judge_parse_failures=tally.parse_failures + sum(1 for j in judgements if not j.ok),
            judgements=judgements, out_dir=str(out_dir),
        )
        write_files(transcript_page(config.name, config.description, result,
                                    outcome.transcript), out_dir, markdown="transcript.md")
        (out_dir / "judgement.json").write_text(
            json.dumps([j.model_dump() for j in judgements], indent=2), encoding="utf-8")
        (out_dir / "transcript.json").write_text(outcome.transcript.model_dump_json(indent=1),
                                                 encoding="utf-8")
        run.finish("completed", summary=result.model_dump(exclude={"judgements"}))
    return result


def run_converse(
    config: ConverseConfig, store: RunStore, *, runs: int = 1, out_dir: Path | None = None,
    resume: str | None = None, cache: bool = True, progress: bool = True,
    backend: Backend | None = None,
) -> ConverseResult:
    """Run the scenario `runs` times (seeds seed, seed+1, ...) or resume one run.

    `backend` answers every model call (a scripted backend in tests); None builds the real ones.
    """
    if resume:
        config = stored_config(store, resume, "converse", ConverseConfig)
        runs = 1
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out_dir) if out_dir else store.root / "converse" / f"{config.name}-{stamp}"
    per_round = policy_for(config).turns_per_round(config)
    results: list[ConverseRun] = []
    with progress_bar(f"converse {config.name}" if progress else None,
                      total=runs * config.rounds * per_round) as advance:
        for i in range(runs):
            seeded = config if resume else config.model_copy(update={"seed": config.seed + i})
            run_dir = out_dir / (f"run-{i}" if runs > 1 else "")
            results.append(asyncio.run(_run_one(
                seeded, store, run_dir, resume=resume, cache=cache, advance=advance,
                backend=backend)))
    judgements = [j for r in results for j in r.judgements]
    aggregate: dict[str, Estimate] = {
        "statements": mean_ci([r.statements for r in results]),
        "tokens": mean_ci([r.tokens for r in results]),
    }
    scores = judged_scores(judgements, {s.name: [m.name for m in s.metrics] for s in config.judges})
    aggregate.update({f"{judge}.{m}": e for judge, ms in scores.items() for m, e in ms.items()})
    result = ConverseResult(
        scenario=config.name, runs=results, aggregate=aggregate, out_dir=str(out_dir),
        judge_failures=judge_failures(judgements, [s.name for s in config.judges]),
        jury_alpha=jury_alpha(results))
    if runs > 1:
        page = aggregate_page(config.name, scores, len(results))
        if page is not None:
            result.plot = str(write_files(page, out_dir, markdown=None)[0])
        (out_dir / "aggregate.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result
