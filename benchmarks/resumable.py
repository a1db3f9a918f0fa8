"""A benchmark's jobs in a process pool, each finished row appended to a JSONL file at once, so
a stopped run loses nothing and a rerun with the same file does only the jobs not yet there.
Shared by subgroups.py and contract_learning.py (run as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path


def _init_worker(threads: int) -> None:
    os.environ["SCAI_THREADS"] = str(threads)


def run_resumable(jobs: Sequence[dict], run_job: Callable[[dict], dict], done_path: Path,
                  ident: Sequence[str], *, workers: int, describe: Callable[[dict], str],
                  skip_all: bool = False) -> tuple[list[dict], float]:
    """Every row (those finished before, then the new ones as they finish) and this
    invocation's wall seconds. A job whose `ident` fields match a finished row is skipped;
    `skip_all` runs nothing (a report from what is there). Each worker gets
    cores / workers llama.cpp threads (SCAI_THREADS)."""
    done_path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in done_path.read_text().splitlines() if line.strip()] \
        if done_path.exists() else []
    finished = {tuple(r[k] for k in ident) for r in rows}
    todo = [] if skip_all else [j for j in jobs if tuple(j[k] for k in ident) not in finished]
    start = time.perf_counter()
    threads = max(1, (os.cpu_count() or 2) // workers)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(threads,)) as pool, \
            done_path.open("a", encoding="utf-8") as sink:
        futures = [pool.submit(run_job, j) for j in todo]
        for i, fut in enumerate(as_completed(futures), 1):
            row = fut.result()
            rows.append(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            print(f"[{i}/{len(todo)}] {describe(row)}", file=sys.stderr)
    return rows, time.perf_counter() - start
