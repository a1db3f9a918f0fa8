"""Log-probabilities of given continuations, and distributions over finite answers built on them.

`score_tokens` is the algorithm every log-prob backend shares: the prompt is evaluated once and
the continuations are walked as a token trie, so a shared prefix (`{"offer": 1` for 10..19) is
evaluated once and a single-token continuation costs nothing beyond the prompt. Only positions
that some longer continuation needs are evaluated; the logits of the last token of a continuation
are never computed.

`integer_distribution` turns prefix log-probabilities into P(n) for every whole number in a
range, the way a reply like `{"offer": 37` is generated digit by digit: P(n) is the mass of the
prefix "n" minus the mass of its in-range extensions "n0".."n9" (a number that would continue past
the range is taken to end there). Reading a finite choice this way is exact up to that cut and
needs one evaluation per proper prefix (11 for 0..100), not one per value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

#: evaluate(tokens, position) -> log-probabilities over the vocabulary for the next token, after
#: the model has seen `tokens` appended at `position` (everything before it already evaluated).
Evaluate = Callable[[Sequence[int], int], Sequence[float]]


def score_tokens(root: Sequence[float], base: int, seqs: Sequence[Sequence[int]],
                 evaluate: Evaluate) -> tuple[list[float], int]:
    """Sum of log-probabilities of each token sequence after the prompt; and tokens evaluated.

    `root` is the next-token log-probabilities after the prompt, `base` the prompt's length."""
    totals = [0.0] * len(seqs)
    evaluated = 0

    def walk(depth: int, members: list[int], logprobs: Sequence[float], pos: int) -> None:
        nonlocal evaluated
        children: dict[int, list[int]] = {}
        for i in members:
            if len(seqs[i]) > depth:
                children.setdefault(seqs[i][depth], []).append(i)
        for token, group in children.items():
            for i in group:
                totals[i] += float(logprobs[token])
            deeper = [i for i in group if len(seqs[i]) > depth + 1]
            if deeper:
                evaluated += 1
                walk(depth + 1, deeper, evaluate([token], pos), pos + 1)

    walk(0, list(range(len(seqs))), root, base)
    return totals, evaluated


def integer_prefixes(lo: int, hi: int) -> list[str]:
    """Every decimal string that is a prefix of some whole number in [lo, hi] (no leading zeros)."""
    out: set[str] = set()
    for n in range(lo, hi + 1):
        s = str(n)
        out.update(s[:k] for k in range(1, len(s) + 1))
    return sorted(out, key=lambda s: (len(s), s))


def integer_distribution(prefix_logprobs: dict[str, float], lo: int, hi: int) -> dict[int, float]:
    """P(n) for n in [lo, hi] from the log-probabilities of every prefix (`integer_prefixes`),
    normalised over the range; all-zero mass (the model never writes a number) gives uniform."""
    mass: dict[int, float] = {}
    for n in range(lo, hi + 1):
        s = str(n)
        p = math.exp(prefix_logprobs[s])
        if n != 0:  # JSON has no leading zeros: "0" always ends
            for d in range(10):
                ext = s + str(d)
                if ext in prefix_logprobs:
                    p -= math.exp(prefix_logprobs[ext])
        mass[n] = max(p, 0.0)
    total = sum(mass.values())
    if total <= 0:
        return {n: 1.0 / (hi - lo + 1) for n in mass}
    return {n: p / total for n, p in mass.items()}


def log_softmax(logits: Sequence[float]) -> list[float]:
    """Plain-Python log-softmax (backends use numpy; this keeps tests free of it)."""
    top = max(logits)
    z = top + math.log(sum(math.exp(x - top) for x in logits))
    return [x - z for x in logits]
