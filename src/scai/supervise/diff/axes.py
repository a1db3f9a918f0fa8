"""Behaviour axes: proposed from paired answers, judged in both orders, then a classifier.

For a pair (A's and B's answer to the same prompt, same sample index) the judge says which
response shows more of each axis, once with A shown first and once with B first. The pair's
score on an axis is +1 (A more), -1 (B more) or 0 (same) when both orders agree, and 0 when
they disagree (position bias cancels instead of adding noise). A logistic regression without
intercept on these scores predicts which side wrote the first answer of a pair (each pair
enters as x with label A-first and as -x with label B-first); its held-out accuracy, with folds
grouped by prompt, is the separability of A and B along the axes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from scai.stats import mean_ci
from scai.supervise.diff.config import AxisSpec
from scai.supervise.diff.result import AxisRow, Separability

VERDICTS = ["1", "2", "same"]


def slug(name: str) -> str:
    """An axis name as a JSON key: lower-case words joined by underscores (at most 40 chars)."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "_".join(words)[:40].strip("_") or "axis"


def proposal_schema(n: int) -> dict:
    """The JSON schema of a reply proposing up to `n` axes."""
    # "axis" sorts before "meaning": the embedded backend writes keys in sorted order.
    item = {"type": "object", "additionalProperties": False, "required": ["axis", "meaning"],
            "properties": {"axis": {"type": "string", "minLength": 2, "maxLength": 40},
                           "meaning": {"type": "string", "maxLength": 160}}}
    return {"type": "object", "additionalProperties": False, "required": ["axes"],
            "properties": {"axes": {"type": "array", "items": item, "minItems": 1,
                                    "maxItems": max(1, n)}}}


# Proposed "axes" that only name a side or a response say nothing about behaviour.
_NOT_AXES = re.compile(r"^(model|response|answer|assistant)(_?[a-z0-9])?$|"
                       r"^(a|b|axis|none|name|short_name|quality)$")


def merge_proposals(fixed: Sequence[AxisSpec], proposals: Sequence[list[dict]], n: int
                    ) -> list[AxisSpec]:
    """Fixed axes first, then up to `n` proposed ones (`{"axis", "meaning"}` items): distinct
    names, the most often proposed first (ties: first proposed); names of a side are dropped."""
    axes = list(fixed)
    taken = {slug(a.name) for a in axes}
    counts: dict[str, int] = {}
    first: dict[str, AxisSpec] = {}
    for batch in proposals:
        for item in batch:
            key = slug(item["axis"])
            if key in taken or _NOT_AXES.match(key):
                continue
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, AxisSpec(name=item["axis"].strip()[:60],
                                           description=item.get("meaning", "").strip()[:400]))
    ranked = sorted(first, key=lambda k: -counts[k])  # sorted() is stable: ties keep order
    return axes + [first[k] for k in ranked[:n]]


def judge_schema(axes: Sequence[AxisSpec]) -> dict:
    """The JSON schema of a judge's reply: one verdict per axis, keyed by its slug."""
    keys = [slug(a.name) for a in axes]
    return {"type": "object", "additionalProperties": False, "required": keys,
            "properties": {k: {"enum": VERDICTS} for k in keys}}


def axes_text(axes: Sequence[AxisSpec]) -> str:
    """The axes as the judge prompt lists them (slug and description)."""
    return "\n".join(f'- "{slug(a.name)}": {a.description or a.name}' for a in axes)


def combine_orders(a_first: str, b_first: str) -> tuple[int, bool]:
    """One axis, one pair: (score, disagreed). `a_first` is the verdict with A shown as
    response 1, `b_first` with B shown as response 1. +1: A shows more; -1: B; 0: same or the
    two orders disagree."""
    s1 = {"1": 1, "2": -1, "same": 0}[a_first]
    s2 = {"1": -1, "2": 1, "same": 0}[b_first]  # response 1 is B here
    return (s1, False) if s1 == s2 else (0, True)


class PairScores(BaseModel):
    """Both-order scores of one answer pair on every axis (keys: axis slugs)."""

    prompt_id: str
    sample: int
    scores: dict[str, int]
    disagreed: dict[str, bool]


def score_pair(prompt_id: str, sample: int, axes: Sequence[AxisSpec], a_first: dict,
               b_first: dict) -> PairScores:
    """Combine the judge's two parsed replies for one pair."""
    scores, disagreed = {}, {}
    for axis in axes:
        k = slug(axis.name)
        scores[k], disagreed[k] = combine_orders(a_first[k], b_first[k])
    return PairScores(prompt_id=prompt_id, sample=sample, scores=scores, disagreed=disagreed)


def _pair_accuracy(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per pair: 1 if the model says 'A first' for x (and so 'B first' for -x), 0 if it says
    the opposite, 0.5 when it cannot tell (w.x == 0)."""
    z = x @ w
    return np.where(np.abs(z) < 1e-12, 0.5, (z > 0).astype(float))


def _fit(x: np.ndarray, c: float = 1.0, iters: int = 30) -> np.ndarray:
    """L2-penalised logistic regression without intercept on the mirrored rows (x: label 1,
    -x: label 0), i.e. minimise 2 * sum log(1 + exp(-w.x)) + |w|^2 / (2c), by Newton steps
    (the same optimum as scikit-learn's LogisticRegression(C=c, fit_intercept=False))."""
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        z = x @ w
        p = 1.0 / (1.0 + np.exp(np.clip(z, -30, 30)))  # sigmoid(-z)
        grad = -2.0 * x.T @ p + w / c
        hess = 2.0 * (x.T * (p * (1 - p))) @ x + np.eye(len(w)) / c
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def _folds(groups: Sequence[str], k: int, seed: int) -> list[np.ndarray]:
    uniq = list(dict.fromkeys(groups))
    rng = np.random.default_rng(seed)
    order = [uniq[i] for i in rng.permutation(len(uniq))]
    k = min(k, len(uniq))
    g = np.asarray(groups)
    return [np.isin(g, order[i::k]) for i in range(k)]


def _cv(x: np.ndarray, folds: list[np.ndarray]) -> list[float]:
    accs = []
    for test in folds:
        if test.all() or not test.any():
            continue
        accs.append(float(_pair_accuracy(_fit(x[~test]), x[test]).mean()))
    return accs


def separability(
    x: np.ndarray, groups: Sequence[str], names: Sequence[str], *, folds: int = 5,
    permutations: int = 199, seed: int = 0, features: str = "axes",
) -> Separability:
    """Cross-validated accuracy (folds grouped by prompt) of predicting which side wrote the
    first answer of each pair from signed pair features `x` (positive: A shows more); the
    p-value flips each pair's sign at random (no difference => symmetric) and refits."""
    x = np.asarray(x, dtype=float)
    if len(x) < 4 or len(set(groups)) < 2 or x.shape[1] == 0:
        return Separability(features=features, accuracy=None, folds=[], ci=None, n=len(x))
    fold_masks = _folds(groups, folds, seed)
    accs = _cv(x, fold_masks)
    weights = np.array([m.sum() for m in fold_masks if m.any() and not m.all()], dtype=float)
    accuracy = float(np.average(accs, weights=weights)) if accs else None
    p = None
    if permutations > 0 and accuracy is not None:
        rng = np.random.default_rng(seed + 1)
        hits = 0
        for _ in range(permutations):
            flipped = x * rng.choice([-1.0, 1.0], size=(len(x), 1))
            hits += np.average(_cv(flipped, fold_masks), weights=weights) >= accuracy - 1e-12
        p = (1 + hits) / (1 + permutations)
    coef = _fit(x)
    return Separability(
        features=features, accuracy=accuracy, folds=[round(a, 4) for a in accs],
        ci=mean_ci(accs), p_value=p, permutations=permutations if p is not None else 0,
        n=len(x), coefficients={n: round(float(c), 4) for n, c in zip(names, coef, strict=True)},
    )


def axis_rows(axes: Sequence[AxisSpec], pairs: Sequence[PairScores], sep: Separability,
              n_fixed: int = 0) -> list[AxisRow]:
    """One report row per axis: the share of pairs each side shows more, the mean signed score
    with its 95% CI, and the classifier's weight; the first `n_fixed` axes are the fixed ones."""
    rows = []
    for i, axis in enumerate(axes):
        k = slug(axis.name)
        s = [p.scores[k] for p in pairs]
        n = len(s)
        rows.append(AxisRow(
            name=axis.name, description=axis.description,
            mean_score_a=sum(v > 0 for v in s) / n if n else None,
            mean_score_b=sum(v < 0 for v in s) / n if n else None,
            mean_score=mean_ci(s), coefficient=sep.coefficients.get(k),
            disagreements=sum(p.disagreed[k] for p in pairs), judged=n,
            source="fixed" if i < n_fixed else "proposed",
        ))
    return rows
