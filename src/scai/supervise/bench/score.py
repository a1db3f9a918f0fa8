"""Scoring a model on benchmark items: accuracy per subtask with Wilson 95% intervals, parse
failures counted apart, chance level and a length-bias baseline beside every score.

Intervals: the Wilson score interval for a proportion, over *items* (n = items). With K samples
per item an item contributes its mean correctness; its K answers are not independent evidence,
so they do not narrow the interval.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from scai.llm import ModelClient, ModelSettings
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run
from scai.steps import KeyedLog, keyed_call
from scai.store import RunStore
from scai.supervise.bench.answer import ItemAnswer, answer_params, item_messages, to_answer
from scai.supervise.bench.items import SUBTASKS, BenchItem
from scai.supervise.bench.report import write_outputs
from scai.supervise.bench.result import BenchResult, Score


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for successes/n (successes may be fractional); None if n = 0."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _longest_choice(items: Sequence[BenchItem]) -> float | None:
    mc = [it for it in items if it.choices]
    if not mc:
        return None
    hits = 0
    for it in mc:
        lengths = [len(c) for c in it.choices]
        hits += it.options[lengths.index(max(lengths))] == it.answer
    return hits / len(mc)


def score(items: Sequence[BenchItem], answers: Sequence[ItemAnswer]) -> Score:
    """Score `items` from their sampled `answers` (answers of other items are ignored)."""
    by_item: dict[str, list[ItemAnswer]] = {it.id: [] for it in items}
    for a in answers:
        if a.item_id in by_item:
            by_item[a.item_id].append(a)
    answered = [rows for rows in by_item.values() if rows]
    strict = [sum(a.correct for a in rows) / len(rows) for rows in answered]
    parsed_rows = [[a for a in rows if not a.parse_failure] for rows in answered]
    parsed = [sum(a.correct for a in rows) / len(rows) for rows in parsed_rows if rows]
    n, pn = len(strict), len(parsed)
    lo, hi = wilson(sum(strict), n)
    plo, phi = wilson(sum(parsed), pn)
    return Score(
        mean=sum(strict) / n if n else None, ci_low=lo, ci_high=hi, n=n,
        answers=sum(len(r) for r in answered),
        parse_failures=sum(a.parse_failure for rows in answered for a in rows),
        parsed_mean=sum(parsed) / pn if pn else None, parsed_ci_low=plo, parsed_ci_high=phi,
        parsed_n=pn, chance=sum(it.chance for it in items) / len(items) if items else None,
        longest_choice=_longest_choice(items),
        answer_counts=dict(sorted(Counter(a.answer for rows in answered for a in rows
                                          if a.answer is not None).items())),
    )


def score_by_subtask(items: Sequence[BenchItem], answers: Sequence[ItemAnswer]
                     ) -> tuple[dict[str, Score], Score]:
    """Scores per subtask present in `items` (in the canonical order) and overall."""
    per = {s: score([it for it in items if it.subtask == s], answers) for s in SUBTASKS
           if any(it.subtask == s for it in items)}
    return per, score(items, answers)


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
    from scai.errors import ConfigError
    from scai.llm import run_sync

    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}")
    if not items:
        raise ConfigError("no items to run (is the dataset or the --subtasks selection empty?)")
    temp = temperature if temperature is not None else (0.0 if samples == 1 else 0.7)
    config = {"model": model, "dataset": dataset, "items": len(items), "samples": samples,
              "seed": seed, "temperature": temp, "item_ids": [it.id for it in items]}
    start = time.perf_counter()

    def execute(run) -> BenchResult:
        done: dict[str, ItemAnswer] = {}
        if run is not None and resume:
            stored = store.get(run.id).config
            same = {k: stored.get(k) for k in ("model", "samples", "seed", "item_ids")}
            if same != {k: config[k] for k in same}:
                raise ConfigError(f"--resume {resume}: run {run.id} was started with another "
                                  "model, dataset, --samples or --seed; give the same ones")
        log = KeyedLog(run, "answer")
        if resume:
            done = {f"{it.id}#{k}": _stored(log.all()[f"{it.id}#{k}"], it, k) for it in items
                    for k in range(samples) if f"{it.id}#{k}" in log}
        todo = [(it, k) for it in items for k in range(samples) if f"{it.id}#{k}" not in done]
        c = client or _client(model, cache, run)
        fresh = run_sync(_answer_all(c, todo, seed, temp, log, progress)) if todo else []
        answers = [*done.values(), *fresh]
        per, overall = score_by_subtask(items, answers)
        folder = out_dir or (run.dir if run is not None else None)
        result = BenchResult(model=model, dataset=dataset, samples=samples, seed=seed,
                             temperature=temp, per_subtask=per, overall=overall,
                             run_id=run.id if run is not None else None,
                             wall_s=time.perf_counter() - start,
                             out_dir=str(folder) if folder else None)
        if folder is not None:
            write_outputs(result, items, answers, Path(folder))
        if run is not None:
            run.log("result", result.model_dump(mode="json"))
            run.finish("completed", summary={
                "overall": overall.mean, "parse_failures": overall.parse_failures,
                **{s: sc.mean for s, sc in per.items()}})
        return result

    if store is None:
        return execute(None)
    with recorded_run(store, "bench", config, name=f"bench {model}", resume=resume) as run:
        return execute(run)
