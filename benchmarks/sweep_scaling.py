"""Wall time of 8 small Social Contract runs: one after another vs. a sweep on local Ray.

    python benchmarks/sweep_scaling.py [--workers 2]

The runs: examples/contract/ultimatum.yaml cut to two epochs (5 games with the assistant per
epoch, one rewrite of its principle in between; about 10 s each on an idle core), 4
temperatures x 2 seeds, on the embedded model, cache off. Sequential runs go through the same code a worker uses
(scai.sweep.work.run_one) in one process, so the model is loaded once there too; llama.cpp runs
on one thread (on a busy 2-core machine, 2 threads per process are many times slower) or on
--seq-threads. The sweep uses WORKERS workers of one thread each; its time is given with and
without starting Ray.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SWEEP = {
    "kind": "sweep", "name": "bench-scaling",
    "base": str(REPO / "examples" / "contract" / "ultimatum.yaml"),
    "set": ["epochs=2", "params.max_tokens=32"],
    "grid": {"params.temperature": [0.3, 0.7, 1.0, 1.3]}, "seeds": 2, "cache": False,
}


def plan(folder: Path):
    from scai.kinds import load_config
    from scai.sweep import plan_sweep

    path = folder / "sweep.yaml"
    path.write_text(json.dumps(SWEEP))
    cfg = load_config(path)
    return cfg, plan_sweep(cfg)


def sequential(folder: Path) -> dict:
    """Every run in this process, one after another (model loaded once, like a worker)."""
    from scai.sweep.work import run_one

    _, p = plan(folder)
    start = time.perf_counter()
    tokens = calls = 0
    for spec in p.runs:
        r = run_one(spec.name, spec.kind, spec.config, str(folder / "seq" / spec.name), False)
        assert r.ok, r.error
        print(f"  {spec.name}: {r.wall_s:.1f} s", file=sys.stderr, flush=True)
        tokens += r.tokens["completion"]
        calls += r.tokens["calls"]
    return {"wall_s": round(time.perf_counter() - start, 2), "runs": len(p.runs),
            "completion_tokens": tokens, "calls": calls}


def on_ray(folder: Path, workers: int) -> dict:
    import ray

    from scai.sweep import run_sweep

    cfg, p = plan(folder)
    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False)
    ray_start = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        s = run_sweep(cfg, folder / "sweep", max_parallel=workers, progress=False, plan=p)
        wall = time.perf_counter() - t1
    finally:
        ray.shutdown()
    assert not s.failed, s.failed
    return {"wall_s": round(wall, 2), "ray_start_s": round(ray_start, 2), "runs": len(s.done),
            "completion_tokens": sum(r.tokens["completion"] for r in s.done),
            "pids": len({r.pid for r in s.done})}


def child(mode: str, threads: int, workers: int) -> dict:
    env = {**os.environ, "SCAI_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--workers", str(workers)],
                         env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", choices=["sequential", "ray"])
    ap.add_argument("--seq-threads", type=int, nargs="+", default=[1],
                    help="llama.cpp threads for the sequential baseline(s), e.g. 1 2")
    args = ap.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SCAI_CACHE_DIR"] = str(Path(tmp) / "cache")
            fn = sequential if args.child == "sequential" else lambda f: on_ray(f, args.workers)
            print(json.dumps(fn(Path(tmp))))
        return
    seq = {}
    for threads in args.seq_threads:
        seq[threads] = child("sequential", threads, args.workers)
        print(f"sequential, {threads} thread(s): {seq[threads]}", flush=True)
    ray_run = child("ray", 1, args.workers)
    print(f"ray, {args.workers} workers x 1 thread: {ray_run}", flush=True)
    best_seq = min(r["wall_s"] for r in seq.values())
    print(json.dumps({
        "runs": ray_run["runs"], "workers": args.workers, "cores": os.cpu_count(),
        **{f"sequential_{t}_threads_s": r["wall_s"] for t, r in seq.items()},
        "ray_s": ray_run["wall_s"], "ray_start_s": ray_run["ray_start_s"],
        "speedup_vs_best_sequential": round(best_seq / ray_run["wall_s"], 2),
        "speedup_with_ray_start": round(best_seq / (ray_run["wall_s"] + ray_run["ray_start_s"]),
                                        2),
        "completion_tokens_per_run": round(ray_run["completion_tokens"] / ray_run["runs"], 1),
        "load_average_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
