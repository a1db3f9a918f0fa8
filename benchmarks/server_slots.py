"""Slot affinity on llama.cpp's server: conversations pinned to slots (`slots=4`) vs. not.

    python benchmarks/server_slots.py --server-bin /path/to/llama-server [--agents 4 --turns 10]
    python benchmarks/server_slots.py --base-url http://127.0.0.1:8080/v1

Starts `llama-server -np SLOTS` on 127.0.0.1 serving the bundled GGUF (unless --base-url points
at a running one). Each run, AGENTS agents hold TURNS-turn conversations concurrently through one
ModelClient (response cache off, seeded): every agent has its own long system prompt and a
growing history. The two arms, ModelSettings(slots=SLOTS) and the same without `slots`, alternate
run by run (A, B, A, B, ...), each run with system prompts of its own so that no run finds the
previous one's prefixes cached. Prints one JSON line: each arm's throughput, the ratio, and the
share of prompt tokens the server reported as served from its cache ("pinned" is the arm with
`slots`, "unpinned" the one without).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from scai.llm import GenerationParams, Message, ModelClient, ModelSettings

sys.path.insert(0, str(Path(__file__).parent))
from server_concurrency import serving

RULES = [
    "Speak plainly and keep every answer under three sentences.",
    "Never promise what you cannot deliver, and say so when you are unsure.",
    "Share the harvest fairly; remember who kept their word in earlier rounds.",
    "When another villager breaks a promise, name it once and move on.",
    "Prefer plans that leave the granary at least half full for winter.",
    "Ask one question of the others each round before you decide.",
]
ROLES = ["the miller", "the weaver", "the smith", "the shepherd", "the healer", "the baker",
         "the ferryman", "the beekeeper"]


def system_prompt(run: int, agent: int) -> str:
    """An agent's own long system prompt; the run number leads, so runs share no prefix."""
    role = ROLES[agent % len(ROLES)]
    rules = "\n".join(f"{i + 1}. {r}" for i, r in enumerate(RULES))
    village = " ".join(f"Season {s}: the river rose, the mill turned, {role} kept accounts."
                       for s in range(12))
    return (f"Session {run}. You are {role}, one of {len(ROLES)} villagers deciding together how "
            f"to share a harvest.\nYour rules:\n{rules}\nWhat you remember: {village}")


async def converse(client: ModelClient, run: int, agent: int, turns: int, max_tokens: int) -> None:
    history = [Message(role="system", content=system_prompt(run, agent))]
    for turn in range(turns):
        history.append(Message(role="user", content=f"Round {turn + 1}: how much grain do you "
                               f"give to the common store, and why?"))
        out = await client.complete(history, GenerationParams(
            temperature=0.7, max_tokens=max_tokens, seed=1000 * agent + turn))
        history.append(Message(role="assistant", content=out.text))


async def one_run(model: str, slots: int | None, run: int, args) -> dict:
    client = ModelClient(ModelSettings(model=model, slots=slots, concurrency=args.agents),
                         cache=None)
    start = time.perf_counter()
    await asyncio.gather(*(converse(client, run, a, args.turns, args.max_tokens)
                           for a in range(args.agents)))
    wall = time.perf_counter() - start
    s = client.stats
    return {"wall_s": wall, "calls": s.calls, "prompt_tokens": s.prompt_tokens,
            "cached_tokens": s.cached_tokens, "completion_tokens": s.completion_tokens}


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(max_load: float, wait_s: float) -> float:
    """Wait (up to wait_s) for the 1-minute load average to drop below max_load; return it."""
    deadline = time.time() + wait_s
    while (load := load_average()) >= max_load and time.time() < deadline:
        time.sleep(10)
    return load


def summarise(runs: list[dict]) -> dict:
    wall = sum(r["wall_s"] for r in runs)
    prompt = sum(r["prompt_tokens"] for r in runs)
    return {
        "wall_s": [round(r["wall_s"], 2) for r in runs],
        "tok_s": round(sum(r["completion_tokens"] for r in runs) / wall, 1),
        "calls_s": round(sum(r["calls"] for r in runs) / wall, 3),
        "prompt_tokens": prompt,
        "cached_share": round(sum(r["cached_tokens"] for r in runs) / prompt, 3) if prompt else None,
    }


async def main_async(args) -> dict:
    model = f"openai-compat:{args.base_url}#bench"
    await one_run(model, args.slots, -1, argparse.Namespace(**{**vars(args), "turns": 1}))  # warm
    load_before = wait_for_quiet(args.max_load, args.load_wait_s)
    arms: dict[str, list[dict]] = {"pinned": [], "unpinned": []}
    for run in range(2 * args.repeats):
        arm = "pinned" if run % 2 == 0 else "unpinned"
        arms[arm].append(await one_run(model, args.slots if arm == "pinned" else None, run, args))
    result = {name: summarise(runs) for name, runs in arms.items()}
    return {
        "server": args.server_label, "server_args": args.server_arg, "slots": args.slots,
        "agents": args.agents, "turns": args.turns, "max_tokens": args.max_tokens,
        "repeats": args.repeats, **result,
        "ratio": round(result["pinned"]["tok_s"] / result["unpinned"]["tok_s"], 3),
        "load_before": load_before, "load_after": load_average(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", help="llama-server binary to start")
    ap.add_argument("--base-url", help="use a llama-server that is already running")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra llama-server flag (repeat), e.g. --server-arg=--cache-ram=0")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=2, help="runs per arm, interleaved")
    ap.add_argument("--ctx-per-slot", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="wait for the 1-minute load average to fall below this before measuring")
    ap.add_argument("--load-wait-s", type=float, default=600)
    args = ap.parse_args()
    if not (args.server_bin or args.base_url):
        ap.error("give --server-bin or --base-url")
    args.server_label = args.server_bin or args.base_url
    with serving(args.base_url, args.server_bin, args.slots, threads=args.threads,
                 ctx_per_slot=args.ctx_per_slot, extra=args.server_arg) as args.base_url:
        print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
