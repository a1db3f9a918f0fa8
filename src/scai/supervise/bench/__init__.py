"""Reflectivity / value-stability probe benchmarks: items, generation, validation and scoring.

    items = load_items(default_seeds_path())
    result = run_benchmark("local", items)
    result.per_subtask["own_vs_others"].mean
"""

from scai.supervise.bench.answer import ItemAnswer, answer_item
from scai.supervise.bench.items import (
    SUBTASK_TITLES,
    SUBTASKS,
    BenchItem,
    Provenance,
    Validation,
    default_seeds_path,
    load_items,
    write_items,
)
from scai.supervise.bench.result import BenchResult, Score
from scai.supervise.bench.score import run_benchmark, score, wilson

__all__ = [
    "SUBTASKS", "SUBTASK_TITLES", "BenchItem", "BenchResult", "ItemAnswer", "Provenance", "Score",
    "Validation", "answer_item", "default_seeds_path", "load_items", "run_benchmark", "score",
    "wilson", "write_items",
]
