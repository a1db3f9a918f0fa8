"""Framework overhead: the same prompts through scai's ModelClient vs. straight llama_cpp.Llama.

    python benchmarks/overhead.py [--n 16] [--max-tokens 96] [--repeats 3]

Both paths use the same loaded model, greedy decoding, the same seeds and no cache; the order of
the two is alternated across repeats so that warm-up and thermal drift fall on both. Reports
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


def run_raw(n: int, max_tokens: int) -> tuple[int, float]:
    llama, lock = load_llama(bundled_gguf_path(), 4096)
    tokens, start = 0, time.perf_counter()
    for i in range(n):
        with lock:
            out = llama.create_chat_completion(
                messages=[{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                temperature=0.0, max_tokens=max_tokens, seed=i,
            )
        tokens += out["usage"]["completion_tokens"]
    return tokens, time.perf_counter() - start


def run_scai(n: int, max_tokens: int) -> tuple[int, float]:
    client = ModelClient("local", cache=None)
    tokens, start = 0, time.perf_counter()
    for i in range(n):
        out = client.complete_sync(
            PROMPTS[i % len(PROMPTS)],
            GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=i),
        )
        tokens += out.usage.completion_tokens
    return tokens, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    run_raw(2, 8)  # load and warm up
    raw_tps, scai_tps = [], []
    for r in range(args.repeats):
        order = [("raw", run_raw), ("scai", run_scai)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            tokens, secs = fn(args.n, args.max_tokens)
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
