"""Utility statistics over people's ratings, shared by games that rate (each game's own metrics
live in its module under contract/tasks)."""

from __future__ import annotations


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


def utility_bands(rated: list[tuple[str, float]], *, resamples: int = 1000,
                  seed: int = 0) -> dict[str, float | None]:
    """95% percentile-bootstrap intervals of the mean, minimum and Gini of `utility_metrics`
    over (persona, rating) episodes: `utility_mean:ci_low`, `utility_mean:ci_high`, ... Episodes
    are resampled with replacement (seeded: the same episodes give the same bands); fewer than
    two episodes give no band."""
    import random

    names = ("utility_mean", "utility_min", "utility_gini")
    if len(rated) < 2:
        return {}
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(resamples):
        ratings: dict[str, list[float]] = {}
        for persona, r in rng.choices(rated, k=len(rated)):
            ratings.setdefault(persona, []).append(r)
        stats = utility_metrics(ratings)
        for n in names:
            draws[n].append(stats[n])  # type: ignore[arg-type]
    out: dict[str, float | None] = {}
    for n in names:
        xs = sorted(draws[n])
        out[f"{n}:ci_low"] = xs[round(0.025 * (resamples - 1))]
        out[f"{n}:ci_high"] = xs[round(0.975 * (resamples - 1))]
    return out
