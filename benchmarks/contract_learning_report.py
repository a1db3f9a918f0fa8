"""Tables for benchmarks/contract_learning.py (also: `python benchmarks/contract_learning_report.py
benchmarks/results/contract_learning.json` re-renders a saved result)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scai.stats import mean_ci

USERS = {"selfish": 0.1, "altruistic": 0.9}


def _moved(first, last, users):
    if first is None or last is None:
        return None
    return abs(first - users) - abs(last - users)


def _cells(rows, finding):
    keys = []
    for r in rows:
        k = (r["model"], r["learner"], r["policy"], r["manner"])
        if r["finding"] == finding and k not in keys:
            keys.append(k)
    return keys


def learning_table(rows, epochs: int) -> list[str]:
    out = [("| model | learner | users (prior) | runs | moved toward users (sampled) | "
           "movement, sampled | movement, expected (exact) | first -> last sampled share | "
           "last-epoch gap | steerability: expected share selfish / altruistic prior | "
           "learner steps per epoch |"), "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, learner, policy, manner in _cells(rows, "a"):
        sub = [r for r in rows if r["finding"] == "a" and (r["model"], r["learner"], r["policy"],
                                                           r["manner"]) == (model, learner,
                                                                            policy, manner)]
        users = USERS[policy]
        ms = [_moved(r["sampled"][0], r["sampled"][-1], users) for r in sub]
        me = [_moved(r["expected"][0], r["expected"][-1], users) for r in sub]
        valid = [m for m in ms if m is not None]
        gaps = [abs(r["sampled"][-1] - users) for r in sub if r["sampled"][-1] is not None]
        steer_s = mean_ci([r["steer"]["selfish"] for r in sub]).mean
        steer_a = mean_ci([r["steer"]["altruistic"] for r in sub]).mean
        per_epoch = mean_ci([r["learner_steps"] / max(1, epochs - 1) for r in sub]).mean
        prior = "altruistic" if policy == "selfish" else "selfish"
        out.append(
            f"| {model} | {learner} | {policy} ({prior}) | {len(sub)} | "
            f"{sum(1 for m in valid if m > 0)}/{len(valid)} | {mean_ci(valid).fmt(3)} | "
            f"{mean_ci([m for m in me if m is not None]).fmt(3)} | "
            f"{mean_ci([r['sampled'][0] for r in sub]).fmt(2)} -> "
            f"{mean_ci([r['sampled'][-1] for r in sub]).fmt(2)} | {mean_ci(gaps).fmt(2)} | "
            f"{steer_s:.3f} / {steer_a:.3f} | {per_epoch:.1f} |")
    return out


def ood_table(rows) -> list[str]:
    out = [("| model | learner | runs | medicine, with prior | medicine, no prior | "
           "blood, with prior | blood, no prior | altruistic prior alone (medicine / blood) |"),
           "|---|---|---|---|---|---|---|---|"]
    seen = []
    for r in rows:
        if r.get("ood") and (r["model"], r["learner"]) not in seen:
            seen.append((r["model"], r["learner"]))
    for model, learner in seen:
        sub = [r["ood"] for r in rows if r.get("ood") and (r["model"], r["learner"]) ==
               (model, learner)]
        cols = [mean_ci([o["learned"][i] for o in sub]).fmt(3) for i in range(4)]
        alone = [mean_ci([o["prior_alone"][i] for o in sub]).fmt(3) for i in range(2)]
        out.append(f"| {model} | {learner} | {len(sub)} | " + " | ".join(cols)
                   + f" | {alone[0]} / {alone[1]} |")
    return out


def manners_table(rows, epochs: int) -> list[str]:
    head = " | ".join(f"epoch {e}" for e in range(epochs))
    out = [f"| model | learner | users | runs | {head} |",
           "|---|---|---|---|" + "---|" * epochs]
    for model, learner, _, manner in _cells(rows, "c"):
        for finding, m in (("a", "neutral"), ("c", manner)):
            sub = [r for r in rows if r["finding"] == finding and r["policy"] == "altruistic"
                   and r["manner"] == m and (r["model"], r["learner"]) == (model, learner)]
            cols = [mean_ci([r["sampled"][e] for r in sub if len(r["sampled"]) > e]).fmt(2)
                    for e in range(epochs)]
            out.append(f"| {model} | {learner} | {m}-altruistic | {len(sub)} | "
                       + " | ".join(cols) + " |")
    return out


def posterior_table(rows) -> list[str]:
    """Bayes runs: how concentrated the last posterior is, and whether its MAP is the users'
    own prior principle."""
    out = [("| model | users | runs | candidates (mean) | MAP probability (mean [95% CI]) | "
           "MAP is the users' prior | uniform would be |"), "|---|---|---|---|---|---|---|"]
    cells = []
    for r in rows:
        if r["learner"] == "bayes" and r.get("posterior") and (r["model"], r["policy"],
                                                                r["manner"]) not in cells:
            cells.append((r["model"], r["policy"], r["manner"]))
    for model, policy, manner in cells:
        sub = [r["posterior"] for r in rows if r["learner"] == "bayes" and r.get("posterior")
               and (r["model"], r["policy"], r["manner"]) == (model, policy, manner)]
        tops = [max(p, key=lambda c: c["probability"]) for p in sub]
        own = sum(1 for t in tops if t["source"] == f"prior:{policy}")
        k = sum(len(p) for p in sub) / len(sub)
        label = policy if manner == "neutral" else f"{manner}-{policy}"
        out.append(f"| {model} | {label} | {len(sub)} | {k:.1f} | "
                   f"{mean_ci([t['probability'] for t in tops]).fmt(2)} | {own}/{len(sub)} | "
                   f"{1 / k:.2f} |")
    return out


def report(rows, epochs: int, wall: float) -> str:
    lines = [f"{len(rows)} runs, {epochs} epochs each, {wall:.0f} s in all.", "",
             "(a) learning a single norm (share units; movement > 0 is toward the users)", "",
             *learning_table(rows, epochs), "", ("(b) OOD: the selfish-users constitution, "
             "expected share on unseen currencies (exact, amount 100)"), "", *ood_table(rows), "",
             "(c) manners: sampled share by epoch, altruistic users", "",
             *manners_table(rows, epochs), "", "The bayes learner's last posterior", "",
             *posterior_table(rows)]
    return "\n".join(lines)


if __name__ == "__main__":
    data = json.loads(Path(sys.argv[1]).read_text())
    print(report(data["rows"], data["epochs"], data["wall_s"]))
