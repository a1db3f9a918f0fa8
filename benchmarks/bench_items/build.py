"""Build the shipped reflectivity dataset from hand-written sources (and report its balance).

    python benchmarks/bench_items/build.py            # write src/scai/data/supervise/bench/items.jsonl
    python benchmarks/bench_items/build.py --dedup    # also drop MiniLM near-duplicates (>= 0.92)

Sources are `benchmarks/bench_items/<prefix>_NN.txt`, one item per line, fields split by " | ":

    M | probes | question | correct option | distractor | distractor | distractor | rationale
    T | probes | question | statement | true/false | rationale

The correct option is written first; its position is assigned here, mechanically: per subtask the
positions A-D are dealt out in equal shares in a seeded order, and the distractors are shuffled
with a seeded RNG, so the same sources always give the same file. The 110 seed items are folded
in unchanged (their notes, probes and rationale, come from `seed_notes.txt`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

from scai.supervise.bench.items import (
    LETTERS,
    SUBTASKS,
    BenchItem,
    Provenance,
    default_items_path,
    default_seeds_path,
    load_items,
    write_items,
)

HERE = Path(__file__).resolve().parent
OUT = default_items_path()
PREFIX = {"own": "own_vs_others", "future": "current_vs_future", "event": "change_events",
          "predict": "change_prediction", "desire": "influence_desirability"}
SEED = 19
CREATED = "2026-12-01T22:00:00+00:00"
DEDUP_THRESHOLD = 0.92


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append((n, [f.strip() for f in line.split(" | ")]))
    return rows


def _source_items() -> list[tuple[str, str, list[str], str]]:
    """(subtask, where, fields, kind) for every source line, in file order."""
    found = []
    for path in sorted(HERE.glob("*_[0-9][0-9].txt")):
        subtask = PREFIX[path.stem.rsplit("_", 1)[0]]
        for n, f in _rows(path):
            kind = f[0]
            want = {"M": 8, "T": 6}.get(kind)
            if want is None or len(f) != want:
                sys.exit(f"{path.name}:{n}: expected {want or '8 (M) or 6 (T)'} fields, got {len(f)}")
            found.append((subtask, f"{path.name}:{n}", f, kind))
    return found


def _positions(n: int, rng: random.Random) -> list[int]:
    deal = [i % 4 for i in range(n)]
    rng.shuffle(deal)
    return deal


def build() -> list[BenchItem]:
    """The seeds (with their notes) followed by every source item, positions assigned."""
    notes = {f[0]: f for _, f in _rows(HERE / "seed_notes.txt")}
    items = []
    for it in load_items(default_seeds_path()):
        if it.id in notes:
            it = it.model_copy(update={"probes": notes[it.id][1], "explanation": notes[it.id][2]})
        items.append(it)
    rows = _source_items()
    prefix_of = {v: k for k, v in PREFIX.items()}
    for subtask in SUBTASKS:
        mine = [r for r in rows if r[0] == subtask]
        rng = random.Random(f"{SEED}-{subtask}")
        deal = iter(_positions(sum(r[3] == "M" for r in mine), rng))
        for i, (_, where, f, kind) in enumerate(mine, 101):
            common = dict(id=f"{prefix_of[subtask]}-{i:03d}", subtask=subtask, question=f[2],
                          provenance=Provenance(source="seed", author="scai", created_at=CREATED))
            try:
                if kind == "M":
                    distractors = f[4:7]
                    rng.shuffle(distractors)
                    pos = next(deal)
                    choices = distractors[:pos] + [f[3]] + distractors[pos:]
                    items.append(BenchItem(**common, choices=choices, answer=LETTERS[pos],
                                           probes=f[1], explanation=f[7]))
                else:
                    label = {"true": "true", "false": "false"}.get(f[4].lower())
                    items.append(BenchItem(**common, statement=f[3], answer=label or f[4],
                                           probes=f[1], explanation=f[5]))
            except ValueError as exc:
                sys.exit(f"{where}: {exc}")
    return items


def near_duplicate_pairs(items: list[BenchItem], threshold: float
                         ) -> tuple[list[tuple[str, str, float]], dict]:
    """Every pair (earlier id, later id, cosine) with cosine >= threshold, and how the highest
    similarities are spread (pairs above 0.80/0.85/0.90, the closest five)."""
    import numpy as np

    from scai.embed import embed

    vectors = embed([it.text_for_dedup() for it in items])
    sims = np.triu(vectors @ vectors.T, k=1)
    rows, cols = np.nonzero(sims >= min(threshold, 0.80))
    found = sorted(((float(sims[i, j]), int(i), int(j)) for i, j in zip(rows, cols)), reverse=True)
    pairs = [(items[i].id, items[j].id, s) for s, i, j in found if s >= threshold]
    spread = {f">= {t}": sum(s >= t for s, _, _ in found) for t in (0.80, 0.85, 0.90)}
    spread["closest"] = [{"a": items[i].id, "b": items[j].id, "cosine": round(s, 4)}
                         for s, i, j in found[:5]]
    return pairs, spread


def _answer_is(pick, mc: list[BenchItem]) -> float:
    """Share of multiple-choice items whose correct option has the length `pick` (max or min)."""
    hits = sum(len(it.choices[LETTERS.index(it.answer)]) == pick(len(c) for c in it.choices)
               for it in mc)
    return round(hits / len(mc), 3) if mc else 0.0


def balance(items: list[BenchItem]) -> dict:
    """Per subtask: item counts, answer letters, true/false split, longest/shortest-option share."""
    report = {}
    for s in SUBTASKS:
        mine = [it for it in items if it.subtask == s]
        mc = [it for it in mine if it.kind == "choice"]
        letters = Counter(it.answer for it in mc)
        truths = Counter(it.answer for it in mine if it.kind == "statement")

        report[s] = {"items": len(mine), "choice": len(mc), "statement": len(mine) - len(mc),
                     "letters": {k: round(letters[k] / len(mc), 3) for k in "ABCD"},
                     "true": truths["true"], "false": truths["false"],
                     "longest_is_answer": _answer_is(max, mc),
                     "shortest_is_answer": _answer_is(min, mc)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dedup", action="store_true", help="drop near-duplicates (MiniLM)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = build()
    dropped: list[tuple[str, str, float]] = []
    pairs: list[tuple[str, str, float]] = []
    spread: dict = {}
    if args.dedup:
        pairs, spread = near_duplicate_pairs(items, DEDUP_THRESHOLD)
        gone: set[str] = set()
        for a, b, sim in pairs:
            if a not in gone and b not in gone:
                gone.add(b)
                dropped.append((a, b, sim))
        items = [it for it in items if it.id not in gone]
        print(f"near-duplicate pairs >= {DEDUP_THRESHOLD}: {len(pairs)}; dropped {len(gone)}; "
              f"similarity spread {json.dumps(spread)}")
        for a, b, sim in dropped:
            print(f"  drop {b} (cosine {sim:.3f} with {a})")
    write_items(args.out, items)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    stats = {"items": len(items), "items_sha256": digest,
             "dedup_threshold": DEDUP_THRESHOLD if args.dedup else None,
             "pairs_at_threshold": len(pairs) if args.dedup else None,
             "similarity": spread if args.dedup else None,
             "dropped": [{"kept": a, "dropped": b, "cosine": round(s, 4)} for a, b, s in dropped],
             "per_subtask": balance(items)}
    (HERE / "build_report.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(stats["per_subtask"], indent=1))
    print(f"{len(items)} items -> {args.out}")


if __name__ == "__main__":
    main()
