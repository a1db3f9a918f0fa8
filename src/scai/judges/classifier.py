"""A refusal classifier on sentence embeddings: L2-regularised logistic regression on the
all-MiniLM-L6-v2 vectors of replies (scai.embed), fitted on the calibration set's dev split.

The regularisation strength is chosen by 5-fold cross-validation on the dev split alone, so the
test split is never seen before it is scored. Fitting is Newton's method (a few hundred items of
384 dimensions: milliseconds); no scikit-learn needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

STRENGTHS = (0.01, 0.1, 1.0, 10.0)  # L2 penalties tried by cross-validation
FOLDS = 5


def reply_text(prompt: str, reply: str) -> str:
    """What the classifier reads: the reply (refusal is in the reply, not the request)."""
    return reply.strip() or "(empty reply)"


def _fit(x: np.ndarray, y: np.ndarray, strength: float, steps: int = 50) -> np.ndarray:
    """Logistic regression weights (bias last) by Newton's method with an L2 penalty."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], strength)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def _proba(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ w[:-1] + w[-1])))


def _cv_accuracy(x: np.ndarray, y: np.ndarray, strength: float, seed: int) -> float:
    order = np.random.default_rng(seed).permutation(len(y))
    folds = np.array_split(order, min(FOLDS, len(y)))
    right = 0
    for held in folds:
        train = np.setdiff1d(order, held)
        if len(set(y[train].tolist())) < 2:
            right += int(((y[train].mean() >= 0.5) == y[held]).sum())
            continue
        w = _fit(x[train], y[train], strength)
        right += int(((_proba(x[held], w) >= 0.5) == y[held]).sum())
    return right / len(y)


class EmbeddingClassifier(BaseModel):
    """A fitted binary classifier: its weights, the chosen penalty and its CV accuracy on dev."""

    label: str
    weights: list[float]
    strength: float
    cv_accuracy: float
    trained_on: int

    @classmethod
    def fit(cls, label: str, vectors: np.ndarray, labels: Sequence[int], *, seed: int = 0
            ) -> EmbeddingClassifier:
        """Choose the penalty by cross-validation on these items, then fit on all of them."""
        y = np.asarray(labels, dtype=float)
        if len(set(y.tolist())) < 2:
            raise ValueError(f"{label}: the training items all have the same label")
        scored = {s: _cv_accuracy(vectors, y, s, seed) for s in STRENGTHS}
        best = max(STRENGTHS, key=lambda s: (scored[s], s))  # ties: the stronger penalty
        return cls(label=label, weights=_fit(vectors, y, best).tolist(), strength=best,
                   cv_accuracy=scored[best], trained_on=len(y))

    def probabilities(self, vectors: np.ndarray) -> list[float]:
        """P(label = 1) for each row."""
        return _proba(vectors, np.asarray(self.weights)).tolist()
