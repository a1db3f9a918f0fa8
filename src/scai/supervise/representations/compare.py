"""Two models' representations compared per layer: linear CKA on a probe set, and the cosine
between each concept's direction in the one and in the other.

Noise floors. A forward pass is deterministic, so the only noise on the CKA side is numerical:
the floor is 1 − CKA between model A's states computed in batches and one text at a time
(padding changes the arithmetic, not the model). Which probes were chosen is covered by a
bootstrap over probes (95% interval). On the concept side the direction is estimated from a
handful of pairs: the floor is how far A's direction moves against itself when the pairs are
resampled (cosine between two independent bootstrap resamples), and A against B is resampled the
same way; a layer drifts when A-vs-B's mean cosine lies below A-vs-A's 2.5th percentile.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 200


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment between (n, d1) and (n, d2) (Kornblith et al. 2019):
    1 for representations equal up to rotation and isotropic scaling."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    k, l_ = x @ x.T, y @ y.T
    num = float((k * l_).sum())
    den = float(np.sqrt((k * k).sum() * (l_ * l_).sum()))
    return 1.0 if den == 0 else num / den


def cka_interval(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of CKA over the probes (rows)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    values = [linear_cka(x[idx], y[idx]) for idx in (rng.integers(0, n, n)
                                                     for _ in range(BOOTSTRAP))]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def direction(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """The unit mean difference positive − negative over pairs (rows)."""
    d = (pos - neg).mean(0)
    norm = float(np.linalg.norm(d))
    return d / norm if norm > 0 else d


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))


def direction_drift(pos_a: np.ndarray, neg_a: np.ndarray, pos_b: np.ndarray, neg_b: np.ndarray,
                    seed: int = 0) -> dict[str, float | bool]:
    """One layer, one concept: cosine of A's and B's directions on all pairs, and the resampled
    A-vs-B and A-vs-A (floor) cosines with the drift call."""
    rng = np.random.default_rng(seed)
    n = len(pos_a)
    ab, aa = [], []
    for _ in range(BOOTSTRAP):
        i, j = rng.integers(0, n, n), rng.integers(0, n, n)
        da = direction(pos_a[i], neg_a[i])
        ab.append(_cos(da, direction(pos_b[j], neg_b[j])))
        aa.append(_cos(da, direction(pos_a[j], neg_a[j])))
    floor = float(np.percentile(aa, 2.5))
    return {"cosine": _cos(direction(pos_a, neg_a), direction(pos_b, neg_b)),
            "resampled": float(np.mean(ab)), "floor_mean": float(np.mean(aa)),
            "floor_low": floor, "drift": bool(np.mean(ab) < floor)}
