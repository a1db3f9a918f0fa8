"""Social-choice rules in the mediator learner, on scripted users whose utilities are known.

Nine scripted users in groups deliberate over the assistant's constitution (`learner.type:
mediator`). A user's utility for a principle is 1 - |generosity - ideal| (its ideal drawn once
from its group's scripted offer range; src/scai/contract/mediator_members.py), so every rule can
be scored exactly: each mediation evaluates all four rules on the *same* rankings and records
the mean and the minimum utility of what each would have elected. A run's value is its mean over
its mediations; intervals are Student-t 95% over seeds.

Two drafters: `ladder` (no model: candidates are rungs of the graded principle ladder nearest the
ideals of random groups of members; exact) and `model` (the embedded SmolLM2-135M drafts from
the members' opinions; users read a draft's generosity from its cue words). The games are
fixed-fixed only, so the assistant never plays and only the mediator calls a model.

Checks: Schulze and maximin never below plurality on minimum utility, per seed (paired) and on
the mean. Maximin over utilities cannot lose that check by construction; Schulze can.

    python benchmarks/mediator_rules.py --seeds 10                       # ladder, 3 societies
    python benchmarks/mediator_rules.py --seeds 10 --drafter model --societies mixed
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

CONFIG = """\
kind: contract
name: bench-mediator-{society}-{drafter}
seed: {seed}
epochs: {epochs}
params: {{temperature: 0.7, max_tokens: 48, repeat_penalty: 1.3}}
task:
  type: ultimatum
  fixed: 9
  users: scripted
  groups: {groups}
  pairs: {{fixed_fixed: 1}}
  prior: fair
learner: {{type: mediator, drafter: {drafter}, rule: schulze, candidates: {candidates},
          rounds: 1, retries: 1, max_tokens: 48}}
"""
SOCIETIES = {
    # 4 selfish, 2 fair, 3 altruistic: plurality's favourite is the selfish one
    "mixed": "[{policy: selfish, weight: 4}, {policy: fair, weight: 2}, "
             "{policy: altruistic, weight: 3}]",
    # 5 selfish, 4 altruistic: two camps, no one in between
    "polarised": "[{policy: selfish, weight: 5}, {policy: altruistic, weight: 4}]",
    # 3 of each
    "even": "[{policy: selfish}, {policy: fair}, {policy: altruistic}]",
}
RULES = ("schulze", "borda", "plurality", "maximin")


def run_cell(society: str, drafter: str, seeds: int, first: int, epochs: int,
             candidates: int) -> dict:
    """One society x drafter over `seeds` runs: per rule, mean and min utility (95% CI)."""
    from scai.contract import simulate
    from scai.contract.mediator_members import LADDER
    from scai.kinds import load_config
    from scai.report.mediation import run_mediations
    from scai.stats import mean_ci
    from scai.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(CONFIG.format(society=society, drafter=drafter, seed=first,
                                      epochs=epochs, groups=SOCIETIES[society],
                                      candidates=candidates))
        t0 = time.time()
        sim = simulate(load_config(path), RunStore(Path(tmp) / "runs"), runs=seeds,
                       out_dir=Path(tmp) / "out", cache=False, progress=True)
        wall = time.time() - t0
    per_run = run_mediations(sim.runs)

    def per_seed(value) -> list[float]:
        out = []
        for run in per_run:
            xs = [v for m in run if m.scripted and (v := value(m)) is not None]
            if xs:
                out.append(sum(xs) / len(xs))
        return out

    cell: dict = {"society": society, "drafter": drafter, "seeds": seeds, "first_seed": first,
                  "mediations": sum(len(r) for r in per_run), "wall_s": round(wall, 1),
                  "model_calls": sum(r.model_calls for r in sim.runs), "rules": {}}
    values = {}
    for rule in RULES:
        mean_u = per_seed(lambda m, r=rule: m.outcomes[r].mean_utility)
        min_u = per_seed(lambda m, r=rule: m.outcomes[r].min_utility)
        values[rule] = min_u
        cell["rules"][rule] = {"mean_utility": mean_ci(mean_u).model_dump(),
                               "min_utility": mean_ci(min_u).model_dump(),
                               "same_winner_as_schulze": sum(
                                   m.outcomes[rule].winner == m.outcomes["schulze"].winner
                                   for run in per_run for m in run)}
    cell["final"] = {"mean_utility": mean_ci(per_seed(lambda m: m.final_mean_utility)).model_dump(),
                     "min_utility": mean_ci(per_seed(lambda m: m.final_min_utility)).model_dump()}
    cell["condorcet_cases"] = sum(m.condorcet is not None for run in per_run for m in run)
    # steering (as the 2026 follow-up measured it): where the final text sits against the
    # members' hidden ideals, signed (positive: more generous than the members' mean ideal)
    cell["steer_from_mean_ideal"] = mean_ci(per_seed(lambda m: LADDER.generosity(m.final) - sum(
        v.ideal for v in m.members) / len(m.members))).model_dump()
    checks = {}
    for rule in ("schulze", "maximin"):
        diffs = [a - b for a, b in zip(values[rule], values["plurality"])]
        checks[f"{rule}_vs_plurality_min"] = {
            "seeds_below": sum(d < -1e-12 for d in diffs), "seeds": len(diffs),
            "paired_difference": mean_ci(diffs).model_dump(),
            "never_below": all(d >= -1e-12 for d in diffs)}
    cell["checks"] = checks
    return cell


def fmt(e: dict, digits: int = 3) -> str:
    if e["mean"] is None:
        return "n/a"
    if e["ci_low"] is None:
        return f"{e['mean']:.{digits}f}"
    return f"{e['mean']:.{digits}f} [{e['ci_low']:.{digits}f}, {e['ci_high']:.{digits}f}]"


def table(cells: list[dict]) -> str:
    """The docs' table: one row per society x drafter x rule."""
    lines = ["| society | drafter | rule | mean utility | min utility | same winner as Schulze |",
             "|---|---|---|---|---|---|"]
    for c in cells:
        for rule in RULES:
            r = c["rules"][rule]
            lines.append(f"| {c['society']} | {c['drafter']} | {rule} | {fmt(r['mean_utility'])} "
                         f"| {fmt(r['min_utility'])} | {r['same_winner_as_schulze']}/"
                         f"{c['mediations']} |")
        lines.append(f"| {c['society']} | {c['drafter']} | final text (Schulze, after one "
                     f"revision round) | {fmt(c['final']['mean_utility'])} | "
                     f"{fmt(c['final']['min_utility'])} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=2000)
    ap.add_argument("--drafter", choices=["ladder", "model"], default="ladder")
    ap.add_argument("--societies", default=",".join(SOCIETIES))
    ap.add_argument("--epochs", type=int, default=None,
                    help="default: 4 (ladder, 3 mediations a run), 2 (model, 1 mediation)")
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/mediator_rules.json"))
    args = ap.parse_args(argv)
    epochs = args.epochs or (4 if args.drafter == "ladder" else 2)
    cells = [run_cell(s, args.drafter, args.seeds, args.first_seed, epochs, args.candidates)
             for s in args.societies.split(",")]
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    kept = [c for c in old.get("cells", []) if (c["society"], c["drafter"]) not in
            {(n["society"], n["drafter"]) for n in cells}]
    result = {"benchmark": "mediator_rules", "command": "python " + " ".join(sys.argv),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "cells": kept + cells}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(table(cells))
    for c in cells:
        for name, chk in c["checks"].items():
            print(f"{c['society']}/{c['drafter']} {name}: {chk['seeds_below']}/{chk['seeds']} "
                  f"seeds below, paired difference {fmt(chk['paired_difference'])}")
    for c in cells:
        print(f"{c['society']}/{c['drafter']}: final text's generosity - members' mean ideal "
              f"{fmt(c['steer_from_mean_ideal'])}; {c['model_calls']} model calls, {c['wall_s']} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
