"""Framework overhead: the same prompts through scai's ModelClient vs. straight llama_cpp.Llama.

    python benchmarks/overhead.py [--n 16] [--max-tokens 96] [--repeats 3]

Both paths use the same loaded model, greedy decoding, the same seeds and no cache; the order of
the two alternates call by call so that drift in machine speed falls on both. Reports
generated tokens per second for each and the ratio scai/raw (target >= 0.95).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from scai.llm import GenerationParams, ModelClient
from scai.llm.llamacpp import bundled_gguf_path, load_llama

PROMPTS = [
    "Explain why the sky is blue.", "Write a short poem about rain.",
    "What is a social contract?", "Give three tips for learning to cook.",
    "Describe a cat to someone who has never seen one.", "Why do people keep promises?",
    "Summarise the rules of chess.", "What makes a good teacher?",
]


def raw_call(i: int, max_tokens: int) -> int:
    llama, lock = load_llama(bundled_gguf_path(), 4096)
    with lock:
        out = llama.create_chat_completion(
            messages=[{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            temperature=0.0, max_tokens=max_tokens, seed=i,
        )
    return out["usage"]["completion_tokens"]


def scai_call(client: ModelClient, i: int, max_tokens: int) -> int:
    out = client.complete_sync(
        PROMPTS[i % len(PROMPTS)], GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=i)
    )
    return out.usage.completion_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    client = ModelClient("local", cache=None)
    raw_call(0, 8), scai_call(client, 0, 8)  # load and warm up both paths
    raw_tps, scai_tps = [], []
    for r in range(args.repeats):
        # Interleave call by call (alternating who goes first) so drift in machine speed falls
        # on both paths alike.
        totals = {"raw": [0, 0.0], "scai": [0, 0.0]}
        for i in range(args.n):
            pair = [("raw", lambda i=i: raw_call(i, args.max_tokens)),
                    ("scai", lambda i=i: scai_call(client, i, args.max_tokens))]
            for name, fn in pair if i % 2 == 0 else pair[::-1]:
                start = time.perf_counter()
                totals[name][0] += fn()
                totals[name][1] += time.perf_counter() - start
        for name, (tokens, secs) in totals.items():
            (raw_tps if name == "raw" else scai_tps).append(tokens / secs)
            print(f"repeat {r} {name:>4}: {tokens} tokens in {secs:.2f} s = {tokens / secs:.1f} tok/s")
    result = {
        "n_prompts": args.n, "max_tokens": args.max_tokens, "repeats": args.repeats,
        "raw_tok_s": round(statistics.median(raw_tps), 2),
        "scai_tok_s": round(statistics.median(scai_tps), 2),
    }
    result["ratio"] = round(result["scai_tok_s"] / result["raw_tok_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
