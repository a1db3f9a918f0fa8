"""Does a sweep keep a batching server as busy as a plain load generator does?

    python benchmarks/sweep_server.py --server-bin /path/to/llama-server [--slots 4]
    python benchmarks/sweep_server.py --base-url http://127.0.0.1:8080/v1 --slots 4

Starts llama.cpp's native server (`-np SLOTS` parallel slots, continuous batching) on the bundled
GGUF unless --base-url names a running one. Then sends the same requests twice: (1) a plain load
generator, one ModelClient at concurrency SLOTS; (2) a sweep of RUNS batch runs (PROMPTS prompts
each, one seed per run) on a local Ray with 2 workers x 2 runs each and `max_concurrency: SLOTS`.
Reports completion tokens/s of each and their ratio (target >= 0.9), with and without Ray's
start-up, then the load generator once more to show the server's drift.

On a small machine the clients (Ray's processes, the load generator) take CPU from the server
itself; `--server-cpus 1 --client-cpus 0 --server-threads 1` pins the server to its own core and
every client to another, as a server on its own GPU node would be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from server_concurrency import serving

from scai.kinds import load_config
from scai.llm import ChatRequest, GenerationParams, Message, ModelClient, ModelSettings

TOPICS = ["rivers", "trust", "bread", "stars", "elections", "bees", "ladders", "music",
          "salt", "maps", "bridges", "owls"]


def prompts(n: int) -> list[str]:
    return [f"Write a paragraph about {TOPICS[i % len(TOPICS)]} (#{i})." for i in range(n)]


def load_generator(url: str, args) -> tuple[float, int]:
    """The same requests the sweep sends (run seed = request seed), at concurrency SLOTS."""
    reqs = [ChatRequest(messages=[Message(role="user", content=p)],
                        params=GenerationParams(temperature=0.7, max_tokens=args.max_tokens,
                                                seed=seed))
            for seed in range(args.runs) for p in prompts(args.prompts)]
    client = ModelClient(ModelSettings(model=f"openai-compat:{url}#bench",
                                       concurrency=args.slots), cache=None)
    start = time.perf_counter()
    out = asyncio.run(client.complete_many(reqs))
    return time.perf_counter() - start, sum(c.usage.completion_tokens for c in out)


def sweep(url: str, args, folder: Path) -> dict:
    import ray

    from scai.sweep import run_sweep

    base = folder / "batch.yaml"
    base.write_text(json.dumps({
        "kind": "batch", "name": "bench",
        "model": {"model": f"openai-compat:{url}#bench", "concurrency": args.slots},
        "params": {"temperature": 0.7, "max_tokens": args.max_tokens, "seed": 0},
        "prompts": prompts(args.prompts)}))
    path = folder / "sweep.yaml"
    path.write_text(json.dumps({
        "kind": "sweep", "name": "bench-server", "base": str(base), "seeds": args.runs,
        "workers": 2, "runs_per_worker": 2, "max_concurrency": args.slots, "cache": False}))
    cfg = load_config(path)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray_start = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        s = run_sweep(cfg, folder / "sweep", progress=False)
        wall = time.perf_counter() - t1
    finally:
        ray.shutdown()
    assert not s.failed, s.failed
    tokens = sum(r.tokens.get("completion", 0) for r in s.done)
    # The steady part: from the first run's start to the last run's end, as the runs saw it.
    busy = max(r.finished_at for r in s.done) - min(r.finished_at - r.wall_s for r in s.done)
    return {"ray_start_s": round(ray_start, 2), "wall_s": round(wall, 2), "tokens": tokens,
            "runs_busy_s": round(busy, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", default="llama_cpp.server")
    ap.add_argument("--base-url")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--server-threads", type=int, default=2)
    ap.add_argument("--server-cpus", help="pin the server to these cores (taskset -c)")
    ap.add_argument("--client-cpus", help="pin this process and its Ray to these cores")
    args = ap.parse_args()
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    with serving(args.base_url, args.server_bin, args.slots, threads=args.server_threads,
                 cpus=args.server_cpus) as url:
        load_generator(url, argparse.Namespace(**{**vars(args), "runs": 1, "prompts": 2}))  # warm
        lg_wall, lg_tokens = load_generator(url, args)
        print(f"load generator: {lg_tokens} tokens in {lg_wall:.1f} s = "
              f"{lg_tokens / lg_wall:.1f} tok/s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            sw = sweep(url, args, Path(tmp))
        sw_rate = sw["tokens"] / sw["wall_s"]
        sw_rate_all = sw["tokens"] / (sw["wall_s"] + sw["ray_start_s"])
        print(f"sweep: {sw['tokens']} tokens in {sw['wall_s']:.1f} s = {sw_rate:.1f} tok/s "
              f"(+{sw['ray_start_s']:.1f} s to start Ray: {sw_rate_all:.1f} tok/s)", flush=True)
        lg2_wall, lg2_tokens = load_generator(url, args)
        print(f"load generator again: {lg2_tokens / lg2_wall:.1f} tok/s", flush=True)
        lg_rate = (lg_tokens + lg2_tokens) / (lg_wall + lg2_wall)
        result = {
            "server": args.base_url or args.server_bin, "slots": args.slots, "runs": args.runs,
            "prompts_per_run": args.prompts, "max_tokens": args.max_tokens,
            "server_threads": args.server_threads, "server_cpus": args.server_cpus,
            "client_cpus": args.client_cpus,
            "load_generator_tok_s": round(lg_rate, 1),
            "load_generator_runs_tok_s": [round(lg_tokens / lg_wall, 1),
                                          round(lg2_tokens / lg2_wall, 1)],
            "sweep_tok_s": round(sw_rate, 1), "sweep_tok_s_with_ray_start": round(sw_rate_all, 1),
            "ratio": round(sw_rate / lg_rate, 3),
            "ratio_with_ray_start": round(sw_rate_all / lg_rate, 3), **sw}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
