"""Would decoding several sequences in one llama.cpp batch pay, in-process on these cores?

    python benchmarks/batched_decode.py [--seqs 4] [--tokens 64] [--threads 2]

Four prompts (~250 tokens each) are evaluated as four sequences of one context; then each
sequence generates TOKENS tokens greedily, once one sequence at a time (one token per decode,
as scai's embedded backend runs concurrent episodes today) and once all sequences together
(one token of each sequence per decode, as a batched sampler would). Prints one JSON line with
both generation rates and their ratio; the greedy texts must agree between the two ways.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqs", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SCAI_THREADS", "0"))
                    or os.cpu_count() or 1)
    opts = ap.parse_args()

    import llama_cpp
    from llama_cpp import _internals as internals

    from scai.llm.catalog import bundled_gguf_path

    llama_cpp.llama_backend_init()
    model = internals.LlamaModel(path_model=str(bundled_gguf_path()),
                                 params=llama_cpp.llama_model_default_params(), verbose=False)
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_seq_max = 4096, 512, opts.seqs
    cparams.n_threads = cparams.n_threads_batch = opts.threads
    ctx = internals.LlamaContext(model=model, params=cparams, verbose=False)
    n_vocab = model.n_vocab()
    batch = internals.LlamaBatch(n_tokens=512, embd=0, n_seq_max=opts.seqs, verbose=False)

    topics = ["the weather", "a garden", "the ocean", "a city", "music", "cooking", "trains",
              "the moon"]
    prompts = [model.tokenize(
        (f"Write a long, detailed story about {topics[s % len(topics)]}. " * 25).encode(),
        add_bos=True, special=False) for s in range(opts.seqs)]

    def prefill() -> list[int]:
        ctx.kv_cache_clear()
        last = []
        for s, toks in enumerate(prompts):
            batch.reset()
            for i, t in enumerate(toks):
                _add(batch, t, i, s, i == len(toks) - 1)
            ctx.decode(batch)
            last.append(_argmax(ctx.get_logits_ith(len(toks) - 1), n_vocab))
        return last

    def one_at_a_time() -> tuple[float, list[list[int]]]:
        nxt, out = prefill(), [[] for _ in prompts]
        start = time.perf_counter()
        for s in range(opts.seqs):
            tok, pos = nxt[s], len(prompts[s])
            for _ in range(opts.tokens):
                out[s].append(tok)
                batch.reset()
                _add(batch, tok, pos, s, True)
                ctx.decode(batch)
                tok, pos = _argmax(ctx.get_logits_ith(0), n_vocab), pos + 1
        return time.perf_counter() - start, out

    def together() -> tuple[float, list[list[int]]]:
        nxt, out = prefill(), [[] for _ in prompts]
        pos = [len(p) for p in prompts]
        start = time.perf_counter()
        for _ in range(opts.tokens):
            batch.reset()
            for s in range(opts.seqs):
                out[s].append(nxt[s])
                _add(batch, nxt[s], pos[s], s, True)
                pos[s] += 1
            ctx.decode(batch)
            nxt = [_argmax(ctx.get_logits_ith(s), n_vocab) for s in range(opts.seqs)]
        return time.perf_counter() - start, out

    one_at_a_time()  # warm up
    t1, a = one_at_a_time()
    t2, b = together()
    t3, _ = one_at_a_time()
    t4, _ = together()
    n = opts.seqs * opts.tokens
    seq_rate, batch_rate = n / ((t1 + t3) / 2), n / ((t2 + t4) / 2)
    agree = sum(x == y for x, y in zip(a, b))
    print(json.dumps({"seqs": opts.seqs, "tokens_each": opts.tokens, "threads": opts.threads,
                      "one_at_a_time_tok_s": round(seq_rate, 1),
                      "batched_tok_s": round(batch_rate, 1),
                      "ratio": round(batch_rate / seq_rate, 2),
                      "sequences_identical": f"{agree}/{opts.seqs}"}))


def _add(batch, token: int, pos: int, seq: int, logits: bool) -> None:
    b, j = batch.batch, batch.batch.n_tokens
    b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = token, pos, 1, logits
    b.seq_id[j][0] = seq
    b.n_tokens = j + 1


def _argmax(ptr, n_vocab: int) -> int:
    return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))


if __name__ == "__main__":
    main()
