"""Run a scenario one or many times: transcripts, judgements, aggregate statistics and a plot."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from scai.converse.engine import ClientPool, Conversation, StepLog, Tally, derive_seed
from scai.converse.judge import Judgement, judge_finished, judge_run
from scai.converse.render import render_transcript
from scai.converse.scenario import ConverseConfig
from scai.converse.transcript import Transcript
from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run, stored_config
from scai.stats import Estimate, mean_ci
from scai.store import RunStore


class ConverseRun(BaseModel):
    """One finished conversation."""

    run_id: str
    seed: int
    stop_reason: str
    rounds_run: int
    statements: int
    tokens: int
    model_calls: int
    replayed_steps: int
    judge_parse_failures: int
    judgements: list[Judgement]
    out_dir: str


class ConverseResult(BaseModel):
    """All runs of a scenario, with the mean and 95% CI of every judged score."""

    scenario: str
    runs: list[ConverseRun]
    aggregate: dict[str, Estimate]
    judge_failures: dict[str, int]
    out_dir: str
    plot: str | None = None


async def _run_one(
    config: ConverseConfig, store: RunStore, out_dir: Path, *, resume: str | None,
    cache: bool, advance, backend: Backend | None = None,
) -> ConverseRun:
    with recorded_run(store, "converse", config, name=config.name, resume=resume) as run:
        pool = ClientPool(config.model, cache=True if cache else None, on_call=call_logger(run),
                          backend=backend)
        log = StepLog(run)
        tally = Tally(on_turn=lambda s: advance(1) if not s.path else None)
        judge_done = None
        if config.termination.judge:
            spec = config.judges[0]

            async def judge_done(transcript: Transcript, key: str) -> bool:
                done = log.get(key)
                if done is None:
                    verdict = await judge_finished(spec, pool.get(spec.model), transcript,
                                                   seed=derive_seed(config.seed, key))
                    if verdict is None:
                        tally.parse_failures += 1
                        log.event("parse_failure", {"step": key, "what": "judge-done"})
                    done = {"kind": "judge-done", "finished": bool(verdict)}
                    log.put(key, done)
                return done["finished"]

        conversation = Conversation(config, pool, log, tally=tally, judge_done=judge_done)
        outcome = await conversation.run()
        judgements = []
        for spec in config.judges:
            j = await judge_run(spec, pool.get(spec.model), outcome.transcript,
                                seed=derive_seed(config.seed, f"judge|{spec.name}"),
                                params=config.params)
            judgements.append(j)
            run.log("judgement", j.model_dump())
            for metric, value in (j.scores or {}).items():
                run.metric(f"{spec.name}.{metric}", value)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "transcript.md").write_text(
            _transcript_md(config, run.id, outcome, judgements), encoding="utf-8")
        (out_dir / "judgement.json").write_text(
            json.dumps([j.model_dump() for j in judgements], indent=2), encoding="utf-8")
        (out_dir / "transcript.json").write_text(outcome.transcript.model_dump_json(indent=1),
                                                 encoding="utf-8")
        result = ConverseRun(
            run_id=run.id, seed=config.seed, stop_reason=outcome.stop_reason,
            rounds_run=outcome.rounds_run, statements=len(outcome.transcript.speeches()),
            tokens=tally.tokens, model_calls=tally.calls, replayed_steps=log.replayed,
            judge_parse_failures=tally.parse_failures + sum(1 for j in judgements if not j.ok),
            judgements=judgements, out_dir=str(out_dir),
        )
        run.finish("completed", summary=result.model_dump(exclude={"judgements"}))
    return result


def _transcript_md(config, run_id, outcome, judgements: list[Judgement]) -> str:
    head = [f"# {config.name}", "", config.description.strip(), "",
            (f"Run `{run_id}` · seed {config.seed} · {outcome.rounds_run} rounds · "
             f"stopped by: {outcome.stop_reason}"), ""]
    body = render_transcript(outcome.transcript)
    tail = []
    for j in judgements:
        tail += [f"\n## Judge: {j.judge}\n", j.summary or "", ""]
        if j.scores is not None:
            tail += [f"- **{k}**: {v}" for k, v in j.scores.items()]
            tail += ["", f"*Rationale:* {j.rationale}"]
        elif j.error:
            tail += [f"**Scores could not be parsed:** {j.error}"]
    return "\n".join(head) + body + "\n".join(tail) + "\n"


def _plot(result: ConverseResult, path: Path) -> str | None:
    metrics = [(k, e) for k, e in result.aggregate.items() if e.mean is not None and "." in k]
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 1.4 * len(metrics) + 2), 3.8))
    for i, (name, est) in enumerate(metrics):
        judge, metric = name.split(".", 1)
        values = [r_j.scores[metric] for r in result.runs for r_j in r.judgements
                  if r_j.judge == judge and r_j.scores]
        ax.scatter([i] * len(values), values, color="#9ab", zorder=2, s=18)
        if est.ci_low is not None:
            ax.errorbar(i, est.mean, yerr=[[est.mean - est.ci_low], [est.ci_high - est.mean]],
                        fmt="o", color="#c33", capsize=6, zorder=3)
        else:
            ax.plot(i, est.mean, "o", color="#c33", zorder=3)
    ax.set_xticks(range(len(metrics)), [m for m, _ in metrics], rotation=20, ha="right")
    ax.set_ylabel("score")
    ax.set_title(f"{result.scenario}: judged scores, mean and 95% CI over {len(result.runs)} runs",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


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
    per_round = len(config.agents) if config.turn_policy.type != "moderator" else \
        config.turn_policy.max_turns_per_round
    results: list[ConverseRun] = []
    with progress_bar(f"converse {config.name}" if progress else None,
                      total=runs * config.rounds * per_round) as advance:
        for i in range(runs):
            seeded = config if resume else config.model_copy(update={"seed": config.seed + i})
            run_dir = out_dir / (f"run-{i}" if runs > 1 else "")
            results.append(asyncio.run(_run_one(
                seeded, store, run_dir, resume=resume, cache=cache, advance=advance,
                backend=backend)))
    aggregate: dict[str, Estimate] = {
        "statements": mean_ci([r.statements for r in results]),
        "tokens": mean_ci([r.tokens for r in results]),
    }
    failures: dict[str, int] = {}
    for spec in config.judges:
        failures[spec.name] = sum(1 for r in results for j in r.judgements
                                  if j.judge == spec.name and not j.ok)
        for m in spec.metrics:
            aggregate[f"{spec.name}.{m.name}"] = mean_ci([
                j.scores[m.name] for r in results for j in r.judgements
                if j.judge == spec.name and j.scores])
    result = ConverseResult(scenario=config.name, runs=results, aggregate=aggregate,
                            judge_failures=failures, out_dir=str(out_dir))
    if runs > 1:
        result.plot = _plot(result, out_dir / "aggregate.png")
        (out_dir / "aggregate.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result
