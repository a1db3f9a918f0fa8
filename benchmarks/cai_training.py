"""CAI training throughput on this machine: transformers generation one request at a time vs.
batched, and seconds per SFT and per DPO step (TRL, bundled SmolLM2-135M, float32).

    python benchmarks/cai_training.py [--n 8] [--max-tokens 48] [--steps 3] [--batch 4]

Generation goes through scai's ModelClient on `hf:local` with no cache: `concurrency 1` (one at a
time) vs. `concurrency N` (the backend batches concurrent requests). Training times are per
optimiser step after the first (the first includes warm-up), batch `--batch`, max_length 128.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from scai.cai.generate import PreferencePair, SFTExample
from scai.cai.train import TrainSettings, resolve_base, train_dpo, train_sft
from scai.llm import ChatRequest, GenerationParams, Message, ModelClient, ModelSettings

PROMPTS = ["Explain why the sky is blue.", "Write a short poem about rain.",
           "What is a social contract?", "Give three tips for learning to cook.",
           "Describe a cat to someone who has never seen one.", "Why do people keep promises?",
           "Summarise the rules of chess.", "What makes a good teacher?"]


def generation(n: int, max_tokens: int, concurrency: int) -> float:
    client = ModelClient(ModelSettings(model="hf:local", concurrency=concurrency), cache=None)
    params = GenerationParams(max_tokens=max_tokens, temperature=0.7, seed=1)
    reqs = [ChatRequest(messages=[Message(role="user", content=PROMPTS[i % len(PROMPTS)])],
                        params=params, sample_index=i) for i in range(n)]
    client.complete_sync("warm up", GenerationParams(max_tokens=2))
    t = time.perf_counter()
    done = client.complete_many_sync(reqs)
    dt = time.perf_counter() - t
    return sum(c.usage.completion_tokens for c in done) / dt


def per_step(stage: str, steps: int, batch: int) -> float:
    base = resolve_base("local")
    sft = [SFTExample(prompt_id=f"s{i}", messages=[
        Message(role="user", content=PROMPTS[i % 8]),
        Message(role="assistant", content="A careful, kind and accurate answer. " * 4)])
        for i in range(batch * (steps + 1))]
    pairs = [PreferencePair(prompt=PROMPTS[i % 8], chosen="A careful answer that helps. " * 3,
                            rejected="Whatever, figure it out yourself. " * 3,
                            prompt_id=f"p{i}", principles=["x"]) for i in range(batch * (steps + 1))]
    times = {}
    for n in (1, steps + 1):
        s = TrainSettings(sft_steps=n, dpo_steps=n, batch_size=batch, max_length=128)
        with tempfile.TemporaryDirectory() as d:
            fn = train_sft if stage == "sft" else train_dpo
            data = sft if stage == "sft" else pairs
            times[n] = fn(base, data, s, Path(d), progress=False).seconds
    return (times[steps + 1] - times[1]) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    a = ap.parse_args()
    one = generation(a.n, a.max_tokens, 1)
    many = generation(a.n, a.max_tokens, a.n)
    result = {"gen_tok_s_one_at_a_time": round(one, 1), "gen_tok_s_batched": round(many, 1),
              "batched_speedup": round(many / one, 2),
              "sft_s_per_step": round(per_step("sft", a.steps, a.batch), 2),
              "dpo_s_per_step": round(per_step("dpo", a.steps, a.batch), 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
