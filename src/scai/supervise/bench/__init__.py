"""Reflectivity / value-stability probe benchmarks: items, generation, validation and scoring.

    items = load_items(default_items_path())   # 1,539 items; default_seeds_path(): the 110 seeds
    result = run_benchmark("local", items)
    result.per_subtask["own_vs_others"].mean

`run_benchmark` (bench.run) is imported on first use: the result models can be read (by
`scai.report.bench`) without loading the runner, which writes its files through that module.
"""

from typing import TYPE_CHECKING

from scai.supervise.bench.answer import ItemAnswer, answer_item
from scai.supervise.bench.items import (
    SUBTASK_TITLES,
    SUBTASKS,
    BenchItem,
    Provenance,
    Validation,
    default_items_path,
    default_seeds_path,
    load_items,
    write_items,
)
from scai.supervise.bench.result import BenchResult, Score
from scai.supervise.bench.score import score, wilson

if TYPE_CHECKING:
    from scai.supervise.bench.run import run_benchmark

__all__ = [
    "SUBTASKS", "SUBTASK_TITLES", "BenchItem", "BenchResult", "ItemAnswer", "Provenance", "Score",
    "Validation", "answer_item", "default_items_path", "default_seeds_path", "load_items", "run_benchmark", "score",
    "wilson", "write_items",
]


def __getattr__(name: str):
    """`run_benchmark`, imported from the runner when first asked for."""
    if name == "run_benchmark":
        from scai.supervise.bench.run import run_benchmark

        return run_benchmark
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
