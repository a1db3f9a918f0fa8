"""`inspect eval scai/reflectivity`: scai's reflectivity benchmark as an Inspect task.

The same items (`scai.supervise.bench`), the same prompt, answer schema and per-item seed, and
the same reading of the reply as `scai bench run`: a reply that fails the answer schema is a
parse failure, scored wrong and counted apart, never guessed at.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    SampleScore,
    Score,
    Target,
    accuracy,
    grouped,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import Generate, TaskState, solver

from scai.errors import ConfigError
from scai.inspect.errors import as_prerequisite
from scai.inspect.params import inspect_config
from scai.llm.client import validate_json
from scai.supervise.bench import BenchItem, ItemAnswer, default_items_path, load_items, wilson
from scai.supervise.bench.answer import answer_params, item_messages, to_answer
from scai.supervise.bench.items import answer_schema, select


def bench_sample(item: BenchItem) -> Sample:
    """One item as an Inspect sample: the prompt `scai bench run` sends, the label as target;
    the whole item rides in the metadata for the solver and the scorer."""
    return Sample(id=item.id, input=item_messages(item)[0].content, target=item.answer,
                  metadata={"subtask": item.subtask, "item": item.model_dump(mode="json")})


def sample_item(state: TaskState) -> BenchItem:
    """The bench item a sample was made from."""
    return BenchItem.model_validate(state.metadata["item"])


def read_answer(item: BenchItem, sample: int, text: str) -> ItemAnswer:
    """A reply read as scai's client reads it: valid under the item's answer schema, or a
    parse failure."""
    try:
        parsed = validate_json(text, answer_schema(item))
    except ValueError:
        parsed = None
    return to_answer(item, sample, parsed, text)


def answer_score(answer: ItemAnswer) -> Score:
    """An answer as Inspect's score: correct or not, the option chosen, a parse failure noted."""
    why = ("parse failure: the reply is not a valid answer" if answer.parse_failure
           else f"answered {answer.answer}, label {answer.label}")
    return Score(value=CORRECT if answer.correct else INCORRECT, answer=answer.answer,
                 explanation=why, metadata={"parse_failure": answer.parse_failure})


@solver
def bench_answer(seed: int = 0):
    """Ask the item with its answer schema and scai's per-item seed (sample = epoch - 1)."""
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        params = answer_params(sample_item(state), sample=state.epoch - 1, seed=seed,
                               temperature=0.0)
        return await generate(state, **inspect_config(params, only=("seed", "json_schema")))

    return solve


@metric
def parse_failures() -> Metric:
    """Share of answers that failed the answer schema (scored wrong, counted here)."""
    def compute(scores: list[SampleScore]) -> float:
        failed = [bool((s.score.metadata or {}).get("parse_failure")) for s in scores]
        return sum(failed) / len(failed) if failed else 0.0

    return compute


@metric
def wilson_ci() -> Metric:
    """The Wilson 95% interval of the accuracy over items, as `scai bench run` reports it."""
    def compute(scores: list[SampleScore]) -> dict[str, float | None]:
        lo, hi = wilson(sum(s.score.as_float() for s in scores), len(scores))
        return {"ci_low": lo, "ci_high": hi}

    return compute


@scorer(metrics=[accuracy(), stderr(), wilson_ci(), parse_failures(),
                 grouped(accuracy(), "subtask", all=False)])
def bench_match():
    """Exact match of the chosen letter (or true/false) with the label."""
    async def score(state: TaskState, target: Target) -> Score:
        return answer_score(read_answer(sample_item(state), state.epoch - 1,
                                        state.output.completion))

    return score


@task
def reflectivity(dataset: str | None = None, subtasks: str | list[str] | None = None,
                 seed: int = 0, temperature: float = 0.0) -> Task:
    """scai's reflectivity benchmark. `-T dataset=FILE.jsonl` (default: the shipped dataset,
    as `scai bench run`), `-T subtasks=own_vs_others,change_events`, `-T seed=N`."""
    path = Path(dataset) if dataset else default_items_path()
    names = subtasks.split(",") if isinstance(subtasks, str) else subtasks
    with as_prerequisite("scai/reflectivity"):
        items = select(load_items(path), [s.strip() for s in names or [] if s.strip()] or None)
        if not items:
            raise ConfigError(f"{path}: no items (is the file or the subtasks selection empty?)")
    first = answer_params(items[0], sample=0, seed=seed, temperature=temperature)
    return Task(
        dataset=MemoryDataset([bench_sample(it) for it in items], name="scai-reflectivity",
                              location=str(path)),
        solver=bench_answer(seed=seed), scorer=bench_match(),
        # Temperature and the answer budget on the task, so --temperature/--max-tokens win.
        config=GenerateConfig(**inspect_config(first, only=("temperature", "max_tokens"))),
        metadata={"scai": "reflectivity", "dataset": str(path)},
    )
