"""`scai bench run` on the shipped dataset, per model, as far as a time budget allows.

    python benchmarks/bench_dataset_run.py --model local --until 23:03
    python benchmarks/bench_dataset_run.py --model local:gemma-270m --until 23:18

Each step is one `nice -n 10 scai bench run SUBSET --model M --out DIR` on a stratified, nested
subset (`bench_items/subset.py`: the first K items per subtask of one seeded order). It starts
with K = 20 to measure the time per item, then sizes the next K to fill the time left; answers
already given come from the response cache, so each step asks only its new items. The largest
finished step is the result: benchmarks/results/supervise_bench_<model>.json (the run's
results.json, the command, K, the wall time per step) and docs/supervise_bench_dataset_<model>.png.
With K = all (the whole file) the run is simply `scai bench run --model M`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from scai.supervise.bench.items import SUBTASKS, default_items_path, load_items

REPO = Path(__file__).resolve().parents[1]
FIRST_K = 20
MARGIN_S = 45  # model load and writing the files, per step


def _seconds_until(hhmm: str) -> float:
    now = datetime.now(timezone.utc)
    h, m = map(int, hhmm.split(":"))
    end = now.replace(hour=h, minute=m, second=0, microsecond=0)
    return (end - now).total_seconds()


def _step(model: str, k: int, full: int, work: Path, limit_s: float) -> dict | None:
    """One `scai bench run` on the first k items per subtask; its results, or None if cut off."""
    subset = work / f"bench-{k}.jsonl"
    if k >= full:
        subset_arg: list[str] = []  # the whole shipped file: the default dataset
    else:
        subprocess.run([sys.executable, str(REPO / "benchmarks/bench_items/subset.py"),
                        "--per-subtask", str(k), "--out", str(subset)], check=True)
        subset_arg = [str(subset)]
    out = work / f"{model.replace(':', '-')}-{k}"
    cmd = ["nice", "-n", "10", "scai", "bench", "run", *subset_arg, "--model", model,
           "--out", str(out)]
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] k={k}: {' '.join(cmd)} "
          f"(limit {limit_s:.0f} s)", flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, timeout=limit_s, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        print(f"  cut off after {limit_s:.0f} s (its answers stay in the cache)", flush=True)
        return None
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-2000:], flush=True)
        return None
    print(done.stdout[-3000:], flush=True)
    result = json.loads((out / "results.json").read_text())
    return {"k": k, "wall_s": round(wall, 1), "out": str(out), "result": result,
            "command": " ".join(cmd[3:]).replace(str(work), "/tmp/bench")}


def table(record: dict) -> str:
    """The markdown table of one saved record: per subtask accuracy, Wilson 95% CI, its
    half-width, chance and the longest-option baseline."""
    r = record["result"]
    head = ("| subtask | items | accuracy | 95% CI (Wilson) | half-width | chance | longest option "
            "| parse failures |")
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    for name, sc in [*r["per_subtask"].items(), ("overall", r["overall"])]:
        half = (sc["ci_high"] - sc["ci_low"]) / 2
        longest = "n/a" if sc.get("longest_choice") is None else f"{100 * sc['longest_choice']:.1f}%"
        rows.append(f"| {name} | {sc['n']} | {100 * sc['mean']:.1f}% | [{100 * sc['ci_low']:.1f}, "
                    f"{100 * sc['ci_high']:.1f}] | {100 * half:.1f} | {100 * sc['chance']:.1f}% | "
                    f"{longest} | {sc['parse_failures']}/{sc['answers']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--until", help="UTC time HH:MM to stop by")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--first-k", type=int, default=FIRST_K, help="items per subtask in the "
                        "first step")
    parser.add_argument("--table", type=Path, help="print the markdown table of a saved record")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    if not (args.model and args.until):
        parser.error("--model and --until are required (or --table FILE)")
    args.work.mkdir(parents=True, exist_ok=True)
    items = load_items(default_items_path())
    full = max(sum(it.subtask == s for it in items) for s in SUBTASKS)
    steps: list[dict] = []
    k, new_items = args.first_k, args.first_k * len(SUBTASKS)
    while (left := _seconds_until(args.until)) > MARGIN_S + 30:
        started = time.perf_counter()
        step = _step(args.model, k, full, args.work, left)
        if step is None:
            break
        steps.append(step)
        if k >= full:
            break
        per_item = max(0.05, (time.perf_counter() - started - MARGIN_S / 3) / new_items)
        budget = _seconds_until(args.until) - MARGIN_S
        more = int(budget / per_item / len(SUBTASKS))
        if more < 10:
            break
        new_k = min(full, k + more)
        new_items, k = (new_k - k) * len(SUBTASKS), new_k
        print(f"  {per_item:.2f} s per new item; next k={k}", flush=True)
    if not steps:
        sys.exit("no step finished in the time given")
    best = steps[-1]
    name = args.model.replace(":", "_").replace("-", "_")
    record = {"model": args.model, "per_subtask_k": best["k"], "dataset_items": len(items),
              "command": best["command"], "subset_command": (
                  f"python benchmarks/bench_items/subset.py --per-subtask {best['k']} "
                  f"--out /tmp/bench/bench-{best['k']}.jsonl"),
              "steps": [{k: s[k] for k in ("k", "wall_s", "command")} for s in steps],
              "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "result": best["result"]}
    dest = REPO / "benchmarks" / "results" / f"supervise_bench_{name}.json"
    dest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    png = Path(best["out"]) / "bench_accuracy.png"
    if png.is_file():
        shutil.copy(png, REPO / "docs" / f"supervise_bench_dataset_{name}.png")
    print(f"k={best['k']} per subtask -> {dest}")


if __name__ == "__main__":
    main()
