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

from pydantic import BaseModel, Field

from scai.llm import ModelClient, ModelSettings
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run
from scai.store import RunStore
from scai.supervise.bench.answer import ItemAnswer, answer_item
from scai.supervise.bench.items import SUBTASKS, BenchItem


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for successes/n (successes may be fractional); None if n = 0."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


class Score(BaseModel):
    """Accuracy on one subtask (or overall).

    `mean` counts a parse failure as wrong; `parsed_mean` leaves failed answers out. Both have a
    Wilson 95% interval over items; `chance` is the accuracy of uniform guessing."""

    mean: float | None = Field(description="Accuracy, parse failures counted as wrong.")
    ci_low: float | None
    ci_high: float | None
    n: int = Field(description="Items.")
    answers: int = Field(description="Sampled answers (items x samples).")
    parse_failures: int = Field(description="Answers that failed the answer schema.")
    parsed_mean: float | None = Field(description="Accuracy among parsed answers only.")
    parsed_ci_low: float | None
    parsed_ci_high: float | None
    parsed_n: int = Field(description="Items with at least one parsed answer.")
    chance: float | None = Field(description="Expected accuracy of a uniform random guess.")
    longest_choice: float | None = Field(
        None, description="Accuracy of always picking the longest option (multiple choice only): "
        "a check that labels cannot be guessed from option length.")
    answer_counts: dict[str, int] = Field(
        default_factory=dict, description="How often each option was answered: a model that "
        "always says 'B' or 'true' shows up here, not only as near-chance accuracy.")

    def fmt(self) -> str:
        if self.mean is None:
            return "n/a"
        return f"{self.mean:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}] (n={self.n})"


class BenchResult(BaseModel):
    """A model's scores: per subtask and over all items, with what was run."""

    model: str
    dataset: str | None = None
    samples: int
    seed: int
    temperature: float
    per_subtask: dict[str, Score]
    overall: Score
    run_id: str | None = None
    wall_s: float = 0.0
    out_dir: str | None = None


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


async def _answer_all(client: ModelClient, todo: list[tuple[BenchItem, int]], seed: int,
                      temperature: float, run, progress: bool) -> list[ItemAnswer]:
    with progress_bar(f"bench {client.name}" if progress else None, len(todo)) as advance:
        async def one(item: BenchItem, k: int) -> ItemAnswer:
            key = f"{item.id}#{k}"
            a = await answer_item(client, item, sample=k, seed=seed, temperature=temperature,
                                  tags={"key": key, "item": item.id})
            if run is not None:
                run.log("answer", a.model_dump(), key=key)
            advance(1)
            return a

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
    from scai.supervise.bench.report import write_outputs

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
            for e in run.events("answer"):
                if e.key:
                    done[e.key] = ItemAnswer.model_validate(e.payload)
        todo = [(it, k) for it in items for k in range(samples) if f"{it.id}#{k}" not in done]
        c = client or _client(model, cache, run)
        fresh = run_sync(_answer_all(c, todo, seed, temp, run, progress)) if todo else []
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
