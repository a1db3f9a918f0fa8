"""Per-epoch metrics: offered shares, acceptance and incomes (ultimatum); utilities (assistance)."""

from __future__ import annotations

from collections import defaultdict

from scai.contract.episode import Episode


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def ultimatum_metrics(games: list[Episode]) -> dict[str, float | None]:
    """Share offered to the responder by flexible vs fixed proposers, acceptance, incomes, gap."""
    share = {"flexible": [], "fixed": []}
    income = {"flexible": [], "fixed": []}
    decided, accepted, failures = 0, 0, 0
    for g in games:
        d = g.data
        failures += len(g.failures)
        if d.get("offer") is None:
            continue
        share[d["proposer"]["kind"]].append(d["share"])
        if d.get("decision") is None:
            continue
        decided += 1
        accepted += d["decision"] == "accept"
        income[d["proposer"]["kind"]].append(d["payoff_proposer"] / d["amount"])
        income[d["responder"]["kind"]].append(d["payoff_responder"] / d["amount"])
    flex, fixed = _mean(share["flexible"]), _mean(share["fixed"])
    return {
        "share_flexible": flex,
        "share_fixed": fixed,
        "gap": abs(flex - fixed) if flex is not None and fixed is not None else None,
        "acceptance": accepted / decided if decided else None,
        "income_flexible": _mean(income["flexible"]),
        "income_fixed": _mean(income["fixed"]),
        "games": float(len(games)),
        "parse_failures": float(failures),
    }


def gini(values: list[float]) -> float:
    """Gini coefficient of non-negative values: 0 is perfect equality."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    cum = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * cum) / (n * total) - (n + 1) / n


def utility_metrics(ratings: dict[str, list[float]]) -> dict[str, float | None]:
    """From each persona's ratings: mean utility, the worst-off persona (Rawlsian minimum), Gini,
    and each persona's own mean (`persona:NAME`)."""
    per = {name: sum(r) / len(r) for name, r in ratings.items() if r}
    if not per:
        return {"utility_mean": None, "utility_min": None, "utility_gini": None}
    out: dict[str, float | None] = {
        "utility_mean": sum(per.values()) / len(per),
        "utility_min": min(per.values()),
        "utility_gini": gini(list(per.values())),
    }
    out.update({f"persona:{k}": v for k, v in sorted(per.items())})
    return out


def assistance_metrics(episodes: list[Episode]) -> dict[str, float | None]:
    ratings: dict[str, list[float]] = defaultdict(list)
    failures = 0
    for e in episodes:
        failures += len(e.failures)
        if e.data.get("rating") is not None:
            ratings[e.data["persona"]].append(float(e.data["rating"]))
    return {**utility_metrics(ratings), "episodes": float(len(episodes)),
            "parse_failures": float(failures)}


def objective_score(metrics: dict[str, float | None], objective: str) -> float | None:
    """The number an assistance learner is asked to raise."""
    if objective == "gini":
        g = metrics.get("utility_gini")
        return None if g is None else 1 - g
    return metrics.get(f"utility_{objective}")
