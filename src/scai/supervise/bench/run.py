"""`run_benchmark`: ask a model every item (each answer a keyed, resumable step), score it per
subtask (`bench.score`), record the run and leave its files (`bench.outputs`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from scai.errors import ConfigError
from scai.llm import ModelClient, ModelSettings, run_sync
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run
from scai.steps import KeyedLog, keyed_call
from scai.store import RunStore
from scai.store.runs import Run
from scai.supervise.bench.answer import ItemAnswer, answer_params, item_messages, to_answer
from scai.supervise.bench.items import BenchItem
from scai.supervise.bench.outputs import write_outputs
from scai.supervise.bench.result import BenchResult
from scai.supervise.bench.score import score_by_subtask

# What a resumed run must share with the run it resumes (else its answers would not fit).
RESUME_KEYS = ("model", "samples", "seed", "item_ids")


def _client(model: str, cache: bool, run) -> ModelClient:
    # Up to 8 in flight: batching servers and the transformers backend overlap them.
    return ModelClient(ModelSettings(model=model, concurrency=8), cache=True if cache else None,
                       on_call=call_logger(run) if run is not None else None)


def _stored(payload: dict, item: BenchItem, sample: int) -> ItemAnswer:
    # An `answer` event from before the step kernel holds an ItemAnswer; a newer one is a
    # keyed_call record (the reply, or the parse failure recorded in its place).
    if "correct" in payload:
        return ItemAnswer.model_validate(payload)
    return to_answer(item, sample, payload.get("parsed"), payload.get("text", ""))


async def _answer_all(client: ModelClient, todo: list[tuple[BenchItem, int]], seed: int,
                      temperature: float, log: KeyedLog, progress: bool) -> list[ItemAnswer]:
    """Each (item, sample) through `keyed_call` under `item#sample`; a parse failure is recorded
    as that answer (a wrong one), so a resumed run does not ask again."""
    with progress_bar(f"bench {client.name}" if progress else None, len(todo)) as advance:
        async def one(item: BenchItem, k: int) -> ItemAnswer:
            key = f"{item.id}#{k}"
            step = await keyed_call(
                client, log, key, item_messages(item),
                answer_params(item, sample=k, seed=seed, temperature=temperature),
                kind="answer", tags={"key": key, "item": item.id}, failures="record",
                sample_index=k, extra={"item_id": item.id, "sample": k})
            advance(1)
            return to_answer(item, k, step.parsed, step.text)

        return list(await asyncio.gather(*(one(it, k) for it, k in todo)))


def _run_config(model: str, items: list[BenchItem], samples: int, seed: int,
                temperature: float | None, dataset: str | None) -> dict[str, Any]:
    """The run's config (what is recorded, and what a resume must match); checks the inputs.
    Temperature defaults to 0 for one sample, 0.7 for several."""
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}")
    if not items:
        raise ConfigError("no items to run (is the dataset or the --subtasks selection empty?)")
    temp = temperature if temperature is not None else (0.0 if samples == 1 else 0.7)
    return {"model": model, "dataset": dataset, "items": len(items), "samples": samples,
            "seed": seed, "temperature": temp, "item_ids": [it.id for it in items]}


def _check_resume(store: RunStore, run: Run, resume: str, config: dict[str, Any]) -> None:
    stored = store.get(run.id).config
    if {k: stored.get(k) for k in RESUME_KEYS} != {k: config[k] for k in RESUME_KEYS}:
        raise ConfigError(f"--resume {resume}: run {run.id} was started with another "
                          "model, dataset, --samples or --seed; give the same ones")


def _answers(run: Run | None, items: list[BenchItem], config: dict[str, Any], *,
             resumed: bool, client: ModelClient, progress: bool) -> list[ItemAnswer]:
    """The answers already recorded (when resuming), then the missing ones, asked now."""
    samples = config["samples"]
    log = KeyedLog(run, "answer")
    done: dict[str, ItemAnswer] = {}
    if resumed:
        done = {f"{it.id}#{k}": _stored(log.all()[f"{it.id}#{k}"], it, k) for it in items
                for k in range(samples) if f"{it.id}#{k}" in log}
    todo = [(it, k) for it in items for k in range(samples) if f"{it.id}#{k}" not in done]
    fresh = run_sync(_answer_all(client, todo, config["seed"], config["temperature"], log,
                                 progress)) if todo else []
    return [*done.values(), *fresh]


def _record(run: Run, result: BenchResult) -> None:
    run.log("result", result.model_dump(mode="json"))
    run.finish("completed", summary={
        "overall": result.overall.mean, "parse_failures": result.overall.parse_failures,
        **{s: sc.mean for s, sc in result.per_subtask.items()}})


def run_benchmark(
    model: str, items: list[BenchItem], *, samples: int = 1, seed: int = 0,
    store: RunStore | None = None, out_dir: Path | None = None, cache: bool = True,
    client: ModelClient | None = None, temperature: float | None = None,
    dataset: str | None = None, resume: str | None = None, progress: bool = True,
) -> BenchResult:
    """Ask `model` every item `samples` times and score it per subtask.

    With a `store` the run is recorded (kind `bench`): one keyed `answer` event per answer, so
    `resume=RUN` asks only what is missing, and a final `result` event with the result JSON.
    Files (results.json, report.md, answers.jsonl, a PNG chart) go to `out_dir` (default: the
    run's folder when recorded). Temperature defaults to 0 for one sample, 0.7 for several."""
    config = _run_config(model, items, samples, seed, temperature, dataset)
    start = time.perf_counter()

    def execute(run: Run | None) -> BenchResult:
        if run is not None and resume:
            _check_resume(store, run, resume, config)
        answers = _answers(run, items, config, resumed=bool(resume),
                           client=client or _client(model, cache, run), progress=progress)
        per, overall = score_by_subtask(items, answers)
        folder = out_dir or (run.dir if run is not None else None)
        result = BenchResult(model=model, dataset=dataset, samples=samples, seed=seed,
                             temperature=config["temperature"], per_subtask=per,
                             overall=overall, run_id=run.id if run is not None else None,
                             wall_s=time.perf_counter() - start,
                             out_dir=str(folder) if folder else None)
        if folder is not None:
            write_outputs(result, items, answers, Path(folder))
        if run is not None:
            _record(run, result)
        return result

    if store is None:
        return execute(None)
    with recorded_run(store, "bench", config, name=f"bench {model}", resume=resume) as run:
        return execute(run)
