"""The numbers of a behavioural diff, from embeddings and labels alone (no model calls).

- `choose_clusters`: k-means with k picked by the best silhouette over a range, or HDBSCAN.
- `cluster_tests`: per cluster, Fisher's exact test of "A's share in this cluster equals A's
  share overall" (cluster vs. rest x A vs. B), then Holm or Benjamini-Hochberg over clusters.
  Fisher's test is about *these* probes (answers are independent given the probe). With prompt
  ids it adds a prompt-level test: per probe, A's rate in the cluster minus B's; their mean
  against random sign flips of whole probes — a test that carries over to other probes like
  these (probes are the unit, not answers), at the price of power when probes are few.
- `embedding_distance`: mean over prompts of 1 - cos(centroid of A's answers, centroid of B's).
- `energy_distance`: the energy statistic between all A and all B embeddings, with a p-value
  from permuting the A/B labels *within each prompt* (so prompt mix cannot fake a difference).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from scai.stats import Estimate, mean_ci
from scai.supervise.diff.result import Clustering


def center_by_prompt(x: np.ndarray, prompt_ids: Sequence[str]) -> np.ndarray:
    """Each answer minus the mean of all answers (both sides) to its prompt, re-normalised.

    Raw answer embeddings cluster by topic (every answer about sleep lands together, A's and B's
    alike); what is left after removing the prompt's mean is how an answer departs from the
    typical answer to that prompt: length, tone, refusing, hedging. Clusters of these residuals
    are clusters of behaviour."""
    pids = np.asarray(prompt_ids)
    out = np.array(x, dtype=float, copy=True)
    for pid in dict.fromkeys(prompt_ids):
        m = pids == pid
        out[m] -= out[m].mean(0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float | None:
    from sklearn.metrics import silhouette_score

    mask = labels >= 0
    if len(set(labels[mask].tolist())) < 2 or mask.sum() < 3:
        return None
    return float(silhouette_score(x[mask], labels[mask], metric="cosine"))


def choose_clusters(
    x: np.ndarray, *, method: str = "kmeans", k_min: int = 2, k_max: int = 10,
    min_cluster_size: int = 5, seed: int = 0,
) -> Clustering:
    """Cluster the rows of `x` (L2-normalised embeddings). kmeans: every k in [k_min, k_max]
    (capped at n-1), keep the k with the highest cosine silhouette (ties: the smaller k)."""
    n = len(x)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=min(min_cluster_size, max(2, n // 2)),
                         metric="euclidean", copy=True).fit_predict(x)
        found = sorted(set(labels.tolist()) - {-1})
        return Clustering(labels=labels.tolist(), k=len(found), method="hdbscan",
                          criterion=f"density (HDBSCAN, min_cluster_size={min_cluster_size})",
                          silhouette=_silhouette(x, labels))
    from sklearn.cluster import KMeans

    hi = min(k_max, n - 1)
    if n < 3 or hi < k_min:
        return Clustering(labels=[0] * n, k=1, method="kmeans",
                          criterion=f"too few answers ({n}) for k >= {k_min}", silhouette=None)
    best: tuple[float, int, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(k_min, hi + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
        s = _silhouette(x, labels)
        if s is None:
            continue
        scores[k] = round(s, 4)
        if best is None or s > best[0] + 1e-9:
            best = (s, k, labels)
    if best is None:
        return Clustering(labels=[0] * n, k=1, method="kmeans", criterion="no k gave 2+ clusters",
                          silhouette=None)
    s, k, labels = best
    return Clustering(labels=_by_size(labels).tolist(), k=k, method="kmeans",
                      criterion=f"best cosine silhouette over k={k_min}..{hi}", silhouette=s,
                      silhouettes=scores)


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0, 1, ... from the largest down (a stable, readable order)."""
    ids, counts = np.unique(labels, return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    remap = {int(old): new for new, old in enumerate(order)}
    return np.array([remap[int(v)] for v in labels])


class ClusterTest(BaseModel):
    """One cluster's counts, shares and test result."""

    id: int
    size: int
    n_a: int
    n_b: int
    share_a: float  # fraction of the cluster's answers written by A
    share_b: float
    expected_share_a: float  # A's share over all answers (what "no difference" predicts)
    odds_ratio: float | None
    p_value: float  # Fisher's exact test (answers as units, these probes)
    p_adjusted: float
    p_prompts: float | None = None  # sign flips over probes (probes as units); None: not run
    p_prompts_adjusted: float | None = None
    significant: bool  # by the test the settings chose (`clusters.test`)


def adjust(p: Sequence[float], method: str = "holm") -> list[float]:
    """Holm (step-down, family-wise) or Benjamini-Hochberg (false discovery rate) adjusted p."""
    p_arr = np.asarray(p, dtype=float)
    m = len(p_arr)
    if m == 0:
        return []
    order = np.argsort(p_arr, kind="stable")
    ranked = p_arr[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out.tolist()


MAX_EXACT_FLIPS = 16  # up to 2**16 sign patterns are enumerated; more probes: random flips
RANDOM_FLIPS = 9999


def probe_sides(a: np.ndarray, prompt_ids: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per probe that both sides answered, in first-seen order: (A's rows, B's rows) masks."""
    pids = np.asarray(prompt_ids)
    sides = []
    for pid in dict.fromkeys(prompt_ids):
        m = pids == pid
        if (m & a).any() and (m & ~a).any():
            sides.append((m & a, m & ~a))
    return sides


def _sign_flip_p(diffs: np.ndarray, flips: int, seed: int) -> float:
    observed = abs(diffs.mean())
    n = len(diffs)
    if n <= MAX_EXACT_FLIPS:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        null = np.abs(signs @ diffs) / n
        return float((null >= observed - 1e-12).mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(flips, n))
    hits = int((np.abs(signs @ diffs) / n >= observed - 1e-12).sum())
    return (1 + hits) / (1 + flips)


def prompt_sign_flip(
    inside: np.ndarray, a: np.ndarray, prompt_ids: Sequence[str], *, flips: int = RANDOM_FLIPS,
    seed: int = 0,
) -> float | None:
    """Two-sided p-value that A's and B's rates of landing `inside` are equal, probes as units.

    Per probe with answers from both sides: d = A's rate inside - B's rate inside. Under no
    difference each d is symmetric around 0, so the mean's sign-flip distribution is the null:
    exact over all 2^n patterns for n <= 16 probes, else `flips` random patterns, (1+r)/(1+R).
    None when no probe has answers from both sides.
    """
    return _probe_level_p(inside, probe_sides(np.asarray(a, dtype=bool), prompt_ids), flips,
                          seed)


def _probe_level_p(inside: np.ndarray, sides: list[tuple[np.ndarray, np.ndarray]], flips: int,
                   seed: int) -> float | None:
    if not sides:
        return None
    diffs = np.array([inside[ma].mean() - inside[mb].mean() for ma, mb in sides], dtype=float)
    return _sign_flip_p(diffs, flips, seed)


def cluster_tests(
    labels: Sequence[int], is_a: Sequence[bool], *, correction: str = "holm", alpha: float = 0.05,
    prompt_ids: Sequence[str] | None = None, by: str = "answers", seed: int = 0,
) -> list[ClusterTest]:
    """Per cluster: Fisher's exact test (in cluster vs. rest, A vs. B) and, with `prompt_ids`,
    the prompt-level sign-flip test; both corrected over clusters. `by` says which one decides
    `significant`: "answers" (Fisher) or "prompts" (sign flips over probes)."""
    from scipy.stats import fisher_exact

    if by == "prompts" and prompt_ids is None:
        raise ValueError("a prompt-level test needs the prompt ids")
    labels_arr, a = np.asarray(labels), np.asarray(is_a, dtype=bool)
    total_a, total_b = int(a.sum()), int((~a).sum())
    rows = []
    for c in sorted(set(labels_arr.tolist())):
        inside = labels_arr == c
        n_a, n_b = int((inside & a).sum()), int((inside & ~a).sum())
        table = [[n_a, n_b], [total_a - n_a, total_b - n_b]]
        odds, p = fisher_exact(table) if total_a and total_b else (float("nan"), 1.0)
        rows.append((c, n_a, n_b, None if not np.isfinite(odds) else float(odds), float(p)))
    adjusted = adjust([r[4] for r in rows], correction)
    by_prompt: list[float | None] = [None] * len(rows)
    by_prompt_adj: list[float | None] = [None] * len(rows)
    if prompt_ids is not None:
        sides = probe_sides(a, prompt_ids)  # once for every cluster
        by_prompt = [_probe_level_p(labels_arr == r[0], sides, RANDOM_FLIPS, seed) for r in rows]
        known = [i for i, p in enumerate(by_prompt) if p is not None]
        for i, q in zip(known, adjust([by_prompt[i] for i in known], correction), strict=True):
            by_prompt_adj[i] = q
    decide = by_prompt_adj if by == "prompts" else adjusted
    expected = total_a / max(1, total_a + total_b)
    return [ClusterTest(id=c, size=n_a + n_b, n_a=n_a, n_b=n_b, share_a=n_a / (n_a + n_b),
                        share_b=n_b / (n_a + n_b), expected_share_a=expected, odds_ratio=odds,
                        p_value=p, p_adjusted=q, p_prompts=pp, p_prompts_adjusted=ppq,
                        significant=dq is not None and dq < alpha)
            for (c, n_a, n_b, odds, p), q, pp, ppq, dq in zip(
                rows, adjusted, by_prompt, by_prompt_adj, decide, strict=True)]


def embedding_distance(x: np.ndarray, is_a: Sequence[bool], prompt_ids: Sequence[str]) -> Estimate:
    """Mean over prompts of 1 - cos(centroid_A(prompt), centroid_B(prompt)), with a 95% CI
    over prompts. 0: on average both sides answer each prompt in the same place."""
    values = []
    for ma, mb in probe_sides(np.asarray(is_a, dtype=bool), prompt_ids):
        ca, cb = x[ma].mean(0), x[mb].mean(0)
        cos = float(ca @ cb / max(1e-12, np.linalg.norm(ca) * np.linalg.norm(cb)))
        values.append(1.0 - cos)
    return mean_ci(values)


class EnergyTest(BaseModel):
    """Energy distance between A's and B's answers, with a within-prompt permutation p-value."""

    distance: float
    p_value: float | None
    permutations: int


def _energy(d: np.ndarray, a: np.ndarray) -> float:
    na, nb = a.sum(), (~a).sum()
    return float(2 * d[a][:, ~a].mean() - d[a][:, a].sum() / (na * na)
                 - d[~a][:, ~a].sum() / (nb * nb))


def energy_distance(
    x: np.ndarray, is_a: Sequence[bool], strata: Sequence[str] | None = None, *,
    permutations: int = 999, seed: int = 0,
) -> EnergyTest:
    """Energy distance 2E|A-B| - E|A-A'| - E|B-B'| (Euclidean); p-value: share of label
    permutations (shuffled within each stratum, i.e. prompt) at least as large, (1+r)/(1+n)."""
    a = np.asarray(is_a, dtype=bool)
    if a.all() or not a.any():
        return EnergyTest(distance=float("nan"), p_value=None, permutations=0)
    sq = np.maximum(0.0, (x * x).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * x @ x.T)
    d = np.sqrt(sq)
    observed = _energy(d, a)
    if permutations <= 0:
        return EnergyTest(distance=observed, p_value=None, permutations=0)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(np.asarray(strata) == s) for s in dict.fromkeys(strata)] \
        if strata is not None else [np.arange(len(a))]
    hits = 0
    for _ in range(permutations):
        perm = a.copy()
        for g in groups:
            perm[g] = rng.permutation(a[g])
        hits += _energy(d, perm) >= observed - 1e-12
    return EnergyTest(distance=observed, p_value=(1 + hits) / (1 + permutations),
                      permutations=permutations)
