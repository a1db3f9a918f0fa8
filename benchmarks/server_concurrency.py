"""Concurrency against a local OpenAI-compatible server, and a cache-hit replay.

    python benchmarks/server_concurrency.py --server-bin /path/to/llama-server [--slots 4]
    python benchmarks/server_concurrency.py --base-url http://127.0.0.1:8080/v1

Starts llama.cpp's native server (continuous batching, `-np SLOTS` parallel slots) on 127.0.0.1
serving the bundled GGUF, unless --base-url points at a running one. Sends N requests through
scai's ModelClient at concurrency 1 and at concurrency SLOTS (no cache), then replays N seeded
requests from a warm cache and counts the calls that reached the server (target: none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx

from scai.llm import (
    ChatRequest,
    GenerationParams,
    Message,
    ModelClient,
    ModelSettings,
    ResponseCache,
)
from scai.llm.llamacpp import bundled_gguf_path

TOPICS = ["rivers", "trust", "bread", "stars", "elections", "bees", "ladders", "music"]


def requests(n: int, max_tokens: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            messages=[Message(role="user", content=f"Write a paragraph about {TOPICS[i % 8]} (#{i}).")],
            params=GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=i),
        )
        for i in range(n)
    ]


def start_server(binary: str, slots: int, threads: int = 2, cpus: str | None = None, *,
                 ctx_per_slot: int = 1024, extra: Sequence[str] = ()) -> tuple[subprocess.Popen, str]:
    """Start a server on a free port; `cpus` (e.g. "1") pins it to those cores with taskset,
    `extra` are more server flags. Its output goes to $TMPDIR/llama-server-PORT.log."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if binary == "llama_cpp.server":
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    else:
        cmd = [binary, "-m", str(bundled_gguf_path()), "--host", "127.0.0.1", "--port", str(port),
               "-np", str(slots), "-c", str(ctx_per_slot * slots), "-t", str(threads), *extra]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    log = open(os.environ.get("TMPDIR", "/tmp") + f"/llama-server-{port}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start; see {log.name}")


@contextmanager
def serving(base_url: str | None, binary: str | None, slots: int, **kw) -> Iterator[str]:
    """The server's address: `base_url` when one is running, else a server started (and
    stopped on the way out) by `start_server(binary, slots, **kw)`."""
    if base_url:
        yield base_url
        return
    proc, url = start_server(binary, slots, **kw)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def timed(client: ModelClient, reqs: list[ChatRequest], use_cache: bool | None) -> tuple[float, int]:
    start = time.perf_counter()
    out = await client.complete_many(reqs, use_cache=use_cache)
    return time.perf_counter() - start, sum(c.usage.completion_tokens for c in out)


async def main_async(args) -> dict:
    model = f"openai-compat:{args.base_url}#bench"
    result: dict = {"n": args.n, "max_tokens": args.max_tokens, "server": args.server_label}
    for conc in (1, args.slots):
        client = ModelClient(ModelSettings(model=model, concurrency=conc), cache=None)
        await timed(client, requests(2, 8), False)  # warm-up
        wall, tokens = await timed(client, requests(args.n, args.max_tokens), False)
        result[f"c{conc}_wall_s"] = round(wall, 2)
        result[f"c{conc}_tok_s"] = round(tokens / wall, 1)
        print(f"concurrency {conc}: {args.n} requests in {wall:.2f} s, {tokens / wall:.1f} tok/s")
    result["speedup"] = round(result["c1_wall_s"] / result[f"c{args.slots}_wall_s"], 2)

    cache = ResponseCache(args.cache_path)
    cache.clear()
    warm = ModelClient(ModelSettings(model=model, concurrency=args.slots), cache=cache)
    reqs = requests(args.replay_n, args.replay_tokens)
    await timed(warm, reqs, None)
    replay = ModelClient(ModelSettings(model=model, concurrency=args.slots), cache=cache)
    wall, _ = await timed(replay, reqs, None)
    server_calls = replay.stats.calls - replay.stats.cache_hits
    result.update(replay_n=args.replay_n, replay_wall_s=round(wall, 3), replay_server_calls=server_calls)
    print(f"cache replay: {args.replay_n} requests in {wall:.3f} s, {server_calls} reached the server")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", default="llama_cpp.server",
                    help="llama-server binary (or llama_cpp.server, which serves one at a time)")
    ap.add_argument("--base-url", help="use a server that is already running")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--replay-n", type=int, default=100)
    ap.add_argument("--replay-tokens", type=int, default=16)
    ap.add_argument("--cache-path", default="/tmp/scai-bench-cache.sqlite")
    args = ap.parse_args()
    args.server_label = args.base_url or args.server_bin
    with serving(args.base_url, args.server_bin, args.slots) as args.base_url:
        print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
