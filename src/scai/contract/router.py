"""The router: which of the assistant's per-group constitutions it follows facing a user.

`oracle` reads the user's true group (an ablation: what per-group learning could reach with
perfect routing). `observed` sees only what the assistant could: each user's words so far (its
persona text and every message it said in earlier epochs, embedded with all-MiniLM-L6-v2) and its
past actions (mean share offered, share of offers accepted). Users are clustered into as many
slots as the society has groups (k-means, seeded restarts), and the clusters are matched to the
previous epoch's slots by largest overlap, so a slot keeps its constitution from epoch to epoch.
Accuracy is the share of users in the slot matched to their true group (best one-to-one matching
of slots to groups), 1.0 for the oracle. Each epoch's routing is a `route` event keyed `r{epoch}`;
a resumed run replays it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from scai.contract.episode import Episode, Player
from scai.steps import derive_seed


class Route(BaseModel):
    """One epoch's routing: each user's slot, its true group, and the accuracy."""

    epoch: int
    router: str
    slots: dict[str, str]  # user id -> slot (the constitution it is served)
    truth: dict[str, str]  # user id -> true group
    accuracy: float


def route_key(epoch: int) -> str:
    """The event key of the routing in force at `epoch`."""
    return f"r{epoch}"


def matching(slots: Sequence[str], truth: Sequence[str]) -> dict[str, str]:
    """The one-to-one slot -> group matching that agrees on the most users (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    names, groups = sorted(set(slots)), sorted(set(truth))
    agree = np.zeros((len(names), len(groups)))
    for s, g in zip(slots, truth):
        agree[names.index(s), groups.index(g)] += 1
    rows, cols = linear_sum_assignment(-agree)
    return {names[r]: groups[c] for r, c in zip(rows, cols)}


def accuracy(slots: dict[str, str], truth: dict[str, str]) -> float:
    """Share of users whose slot is matched to their true group (best one-to-one matching)."""
    users = sorted(truth)
    if not users:
        return 1.0
    match = matching([slots[u] for u in users], [truth[u] for u in users])
    return sum(match.get(slots[u]) == truth[u] for u in users) / len(users)


def oracle_route(epoch: int, truth: dict[str, str]) -> Route:
    """Every user to its true group's slot."""
    return Route(epoch=epoch, router="oracle", slots=dict(truth), truth=dict(truth), accuracy=1.0)


# -- the observed router --------------------------------------------------------------------------
def observed_features(users: Sequence[Player], episodes: Sequence[Episode]) -> dict[str, Any]:
    """What the assistant has seen of each user: its words, its offers, its decisions."""
    words: dict[str, list[str]] = {u.id: [u.persona] for u in users}
    shares: dict[str, list[float]] = {u.id: [] for u in users}
    accepts: dict[str, list[float]] = {u.id: [] for u in users}
    for ep in episodes:
        d: Any = ep.data
        proposer, responder = getattr(d, "proposer", None), getattr(d, "responder", None)
        if proposer is not None and proposer.id in words:
            if getattr(d, "message", None):
                words[proposer.id].append(d.message)
            if getattr(d, "share", None) is not None:
                shares[proposer.id].append(d.share)
        if responder is not None and responder.id in accepts and getattr(d, "decision", None):
            accepts[responder.id].append(float(d.decision == "accept"))
    return {"words": words, "shares": shares, "accepts": accepts}


def _imputed(values: dict[str, list[float]], users: Sequence[str]) -> np.ndarray:
    """Each user's mean; a user never seen acting gets everyone's mean (it pulls nowhere)."""
    means = {u: float(np.mean(v)) for u, v in values.items() if v}
    fill = float(np.mean(list(means.values()))) if means else 0.0
    return np.array([means.get(u, fill) for u in users])


def kmeans(x: np.ndarray, k: int, seed: int, restarts: int = 10, iters: int = 50) -> list[int]:
    """Labels of the best of `restarts` seeded k-means runs (lowest within-cluster squares)."""
    rng = random.Random(seed)
    best: tuple[float, list[int]] | None = None
    for _ in range(restarts):
        centres = x[rng.sample(range(len(x)), k)]
        for _ in range(iters):
            labels = ((x[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
            moved = np.array([x[labels == j].mean(0) if (labels == j).any() else centres[j]
                              for j in range(k)])
            if np.allclose(moved, centres):
                break
            centres = moved
        inertia = float(((x - centres[labels]) ** 2).sum())
        if best is None or inertia < best[0] - 1e-12:
            best = (inertia, [int(v) for v in labels])
    assert best is not None
    return best[1]


def observed_route(epoch: int, users: Sequence[Player], truth: dict[str, str],
                   episodes: Sequence[Episode], slots: Sequence[str], seed: int, *,
                   text_weight: float, previous: dict[str, str] | None = None) -> Route:
    """Cluster the users on what the assistant saw before `epoch`; keep slots stable."""
    from scai.embed import embed

    ids = [u.id for u in users]
    seen = observed_features(users, [e for e in episodes if e.epoch < epoch])
    text = embed([" ".join(seen["words"][u]) for u in ids]) * text_weight
    acts = np.stack([_imputed(seen["shares"], ids), _imputed(seen["accepts"], ids)], 1)
    k = min(len(slots), len(ids))
    labels = kmeans(np.concatenate([acts, text], 1), k, derive_seed(seed, f"e{epoch}|route"))
    if previous:  # cluster j takes the slot its users mostly had last epoch
        match = matching([str(v) for v in labels], [previous[u] for u in ids])
        free = [s for s in slots if s not in match.values()]
        names = {str(j): match.get(str(j)) or free.pop(0) for j in range(k)}
    else:
        names = {str(j): slots[j] for j in range(k)}
    assigned = {u: names[str(v)] for u, v in zip(ids, labels)}
    return Route(epoch=epoch, router="observed", slots=assigned, truth=dict(truth),
                 accuracy=accuracy(assigned, truth))
