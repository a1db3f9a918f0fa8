"""Social-choice rules over rankings: each voter ranks every candidate, best first.

A profile is a list of rankings; a ranking lists candidate indices `0..n-1`, each once. Every
rule returns one winner, and every tie is broken the same documented way: the candidate with the
lowest index wins (for the mediator, the one drafted first), after the rule's own secondary
criterion where it has one (maximin: total rank, i.e. Borda; utility maximin: mean utility).

- **Schulze** (strongest paths): d[i][j] = voters preferring i to j; a path's strength is its
  weakest link, links only where d[i][j] > d[j][i]; i wins when p[i][j] >= p[j][i] for every j.
- **Borda**: n-1 points for a first place, ..., 0 for a last.
- **Plurality**: most first places.
- **Maximin** (Rawlsian): with utilities, the candidate whose worst-off voter is best off; with
  rankings only, the candidate whose worst rank (over voters) is best.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

Rule = Literal["schulze", "borda", "plurality", "maximin"]
RULE_NAMES: tuple[Rule, ...] = ("schulze", "borda", "plurality", "maximin")
Profile = Sequence[Sequence[int]]  # one ranking (candidate indices, best first) per voter
Utilities = Sequence[Sequence[float]]  # utilities[voter][candidate]


def check_profile(profile: Profile, n: int) -> None:
    """Raise ValueError unless every ranking orders all `n` candidates exactly once."""
    if n < 1:
        raise ValueError("need at least one candidate")
    for v, ranking in enumerate(profile):
        if sorted(ranking) != list(range(n)):
            raise ValueError(f"voter {v}: ranking {list(ranking)} is not an order of "
                             f"candidates 0..{n - 1}")


def pairwise(profile: Profile, n: int) -> list[list[int]]:
    """d[i][j]: how many voters rank candidate i above candidate j."""
    check_profile(profile, n)
    d = [[0] * n for _ in range(n)]
    for ranking in profile:
        position = {c: k for k, c in enumerate(ranking)}
        for i in range(n):
            for j in range(n):
                if position[i] < position[j]:
                    d[i][j] += 1
    return d


def condorcet_winner(profile: Profile, n: int) -> int | None:
    """The candidate a strict majority prefers to every other one, or None when there is none."""
    d = pairwise(profile, n)
    for i in range(n):
        if all(d[i][j] > d[j][i] for j in range(n) if j != i):
            return i
    return None


def strongest_paths(profile: Profile, n: int) -> list[list[int]]:
    """p[i][j]: the strength of the strongest path from i to j (Schulze; Floyd-Warshall)."""
    d = pairwise(profile, n)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if i == k:
                continue
            for j in range(n):
                if j not in (i, k):
                    p[i][j] = max(p[i][j], min(p[i][k], p[k][j]))
    return p


def schulze_winners(profile: Profile, n: int) -> list[int]:
    """Every candidate that no other beats by a stronger path (never empty), in index order."""
    p = strongest_paths(profile, n)
    return [i for i in range(n) if all(p[i][j] >= p[j][i] for j in range(n) if j != i)]


def schulze(profile: Profile, n: int) -> int:
    """The Schulze winner; among several, the lowest index."""
    return schulze_winners(profile, n)[0]


def borda_scores(profile: Profile, n: int) -> list[int]:
    """Borda points per candidate: n-1 for each first place down to 0 for each last."""
    check_profile(profile, n)
    scores = [0] * n
    for ranking in profile:
        for k, c in enumerate(ranking):
            scores[c] += n - 1 - k
    return scores


def _best(keys: Sequence[tuple[float, ...]]) -> int:
    """The index with the largest key (tuples compare in order); ties: the lowest index."""
    return max(range(len(keys)), key=lambda i: (*keys[i], -i))


def borda(profile: Profile, n: int) -> int:
    """Most Borda points; ties: the lowest index."""
    return _best([(s,) for s in borda_scores(profile, n)])


def plurality(profile: Profile, n: int) -> int:
    """Most first places; ties: the lowest index."""
    check_profile(profile, n)
    firsts = [0] * n
    for ranking in profile:
        if ranking:
            firsts[ranking[0]] += 1
    return _best([(f,) for f in firsts])


def worst_ranks(profile: Profile, n: int) -> list[int]:
    """Per candidate, the worst position any voter gives it (1 = everyone's first choice)."""
    check_profile(profile, n)
    worst = [1] * n
    for ranking in profile:
        for k, c in enumerate(ranking):
            worst[c] = max(worst[c], k + 1)
    return worst


def maximin_rank(profile: Profile, n: int) -> int:
    """The candidate whose worst rank is best; ties: more Borda points, then the lowest index."""
    scores = borda_scores(profile, n)
    return _best([(-w, s) for w, s in zip(worst_ranks(profile, n), scores)])


def maximin_utility(utilities: Utilities) -> int:
    """The candidate whose worst-off voter has the highest utility (Rawls); ties: the higher
    mean utility, then the lowest index."""
    if not utilities or not utilities[0]:
        raise ValueError("need at least one voter and one candidate")
    n = len(utilities[0])
    if any(len(u) != n for u in utilities):
        raise ValueError("every voter needs a utility for every candidate")
    return _best([(min(u[c] for u in utilities), sum(u[c] for u in utilities))
                  for c in range(n)])


def ranking_by_utility(utility: Sequence[float]) -> list[int]:
    """A voter's ranking from its utilities: highest first; ties: the lowest index first."""
    return sorted(range(len(utility)), key=lambda c: (-utility[c], c))


RANK_RULES: dict[Rule, Callable[[Profile, int], int]] = {
    "schulze": schulze, "borda": borda, "plurality": plurality, "maximin": maximin_rank}


def elect(rule: Rule, profile: Profile, n: int, utilities: Utilities | None = None) -> int:
    """The winner under `rule`; maximin uses the utilities when every voter has them."""
    if rule == "maximin" and utilities is not None:
        return maximin_utility(utilities)
    return RANK_RULES[rule](profile, n)


def every_winner(profile: Profile, n: int, utilities: Utilities | None = None) -> dict[Rule, int]:
    """Each rule's winner on the same profile (what every rule would have picked)."""
    return {rule: elect(rule, profile, n, utilities) for rule in RULE_NAMES}
