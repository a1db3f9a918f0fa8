"""A stratified, nested subset of the shipped dataset, for runs that cannot afford all of it.

    python benchmarks/bench_items/subset.py --per-subtask 60 --out /tmp/bench-60.jsonl

Per subtask the items are put in one seeded order (multiple-choice and true/false interleaved in
their shares) and the first K are kept, so a smaller subset is always contained in a larger one:
answers to the small one come from the response cache when the larger one runs.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from scai.supervise.bench.items import (
    SUBTASKS,
    BenchItem,
    default_items_path,
    load_items,
    write_items,
)

SEED = 19


def stratified_order(items: list[BenchItem], subtask: str) -> list[BenchItem]:
    """The subtask's items in a seeded order that keeps the choice/statement mix in every prefix."""
    rng = random.Random(f"{SEED}-subset-{subtask}")
    kinds = {k: [it for it in items if it.subtask == subtask and it.kind == k]
             for k in ("choice", "statement")}
    for group in kinds.values():
        rng.shuffle(group)
    total = sum(map(len, kinds.values()))
    order, taken = [], {k: 0 for k in kinds}
    for n in range(1, total + 1):
        # Take from the kind furthest behind its share of the first n items.
        k = max(kinds, key=lambda k: len(kinds[k]) * n / total - taken[k])
        order.append(kinds[k][taken[k]])
        taken[k] += 1
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-subtask", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    items = load_items(default_items_path())
    chosen = [it for s in SUBTASKS for it in stratified_order(items, s)[: args.per_subtask]]
    write_items(args.out, chosen)
    print(f"{len(chosen)} items ({args.per_subtask} per subtask) -> {args.out}")


if __name__ == "__main__":
    main()
