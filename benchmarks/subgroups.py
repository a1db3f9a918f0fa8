"""Per-group constitutions on a 50/50 selfish/altruistic society, offline: seeds x routers.

One assistant among eight scripted users (four selfish, offers 0-20%; four altruistic, offers
80-100%), Gemma 3 270M, the bayes learner, the assistant starting from the fair prior. Each seed
runs three arms on the same society and schedule:

- per-group, oracle router: one constitution per group, the assistant facing each user with
  that user's true group's constitution;
- shared: one constitution for everyone (the oracle run's `groups.baseline` arm);
- per-group, observed router: the groups inferred each epoch from what the users said and did.

Read-outs per group and arm: the *sampled* gap (|share the assistant offered the group's users -
share the group's users offered|, from the games of the last epoch in which the assistant
offered to that group) and the *exact* gap of the last epoch's constitution
(|expected share of the constitution the group faced - the group's scripted norm 0.1 / 0.9|,
from the model's log-probabilities of every offer 0..100 dollars, no sampling noise); the
observed router's accuracy per epoch. Mean and 95% CI over seeds; target: each group's gap
<= 0.15 under the oracle router. Fresh cache: every call is real.

    python benchmarks/subgroups.py --seeds 10 --epochs 3 --workers 2
    python benchmarks/subgroups.py --report-only     # the tables from the rows finished so far
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from resumable import run_resumable

CONFIG = """\
kind: contract
name: bench-subgroups-{router}
seed: {seed}
epochs: {epochs}
model: {{model: "{model}", concurrency: 4}}
params: {{temperature: 0.7, max_tokens: 48, repeat_penalty: 1.3}}
task:
  type: ultimatum
  flexible: 1
  fixed: 8
  users: scripted
  groups: [{{policy: selfish}}, {{policy: altruistic}}]
  pairs: {{mixed: {mixed}, fixed_fixed: {fixed_fixed}}}
  amount: [20, 100]
  prior: fair
learner: {{type: bayes, temperature: 0.7, proposals: {proposals}, decisions: {decisions},
           max_tokens: 120}}
groups: {{mode: per_group, router: {router}, baseline: {baseline}}}
"""
NORMS = {"selfish": 0.1, "altruistic": 0.9}  # the scripted offer ranges' midpoints
TARGET = 0.15


def exact_share(config, constitution, key: str) -> float:
    """Expected share (100 dollars) of the assistant's offer under `constitution`, exact."""
    from scai.contract.steerability import expected_share, open_ultimatum

    game = open_ultimatum(config)
    given = constitution.model_copy(update={"source": "given"})
    return asyncio.run(expected_share(game, given, 100, "dollars", key))[0]


def arm_row(config, run, faced) -> dict:
    """One arm's read-outs: per group the sampled and exact last-epoch gap, its shares, and
    whether the posterior's MAP is the group's own prior principle."""
    from scai.contract.steerability import open_ultimatum

    priors = {g: open_ultimatum(config).prior_text(g) for g in NORMS}
    last = run.epochs[-1]
    out = {}
    for g, norm in NORMS.items():
        c = faced(last, g)
        exact = exact_share(config, c, f"bench|{c.text()}")
        top = max(c.posterior, key=lambda p: p.probability).principle if c.posterior else None
        # sampled: the last epoch in which the assistant offered to the group's users
        offered = [e for e in run.epochs if e.metrics.get(f"group_share:{g}") is not None]
        m = offered[-1].metrics if offered else {}
        out[g] = {"sampled_gap": m.get(f"group_gap:{g}"),
                  "sampled_share": m.get(f"group_share:{g}"),
                  "sampled_epoch": offered[-1].epoch if offered else None,
                  "users_share": m.get(f"group_norm:{g}"),
                  "exact_share": exact, "exact_gap": abs(exact - norm),
                  "constitution": c.text(), "source": c.source, "map": top,
                  "map_is_prior": None if top is None else top == priors[g]}
    return out


def run_job(job: dict) -> dict:
    """One seed of one router (the oracle job also runs the shared arm); in a worker process."""
    from scai.contract import simulate
    from scai.kinds import load_config
    from scai.store import RunStore

    work = Path(job["work"])
    name = f"{job['router']}-{job['seed']}"
    path = work / f"{name}.yaml"
    path.write_text(CONFIG.format(**job, baseline=str(job["router"] == "oracle").lower()),
                    encoding="utf-8")
    config = load_config(path)
    start = time.perf_counter()
    sim = simulate(config, RunStore(work / "runs" / name), out_dir=work / name, progress=False)
    wall = time.perf_counter() - start
    run = sim.runs[0]
    slot_of = {e.epoch: e.route for e in run.epochs}

    def per_group(epoch, g):  # the constitution most of group g's users faced
        route = slot_of[epoch.epoch]
        slots = [s for u, s in route.slots.items() if route.truth[u] == g]
        return epoch.groups[max(set(slots), key=slots.count)]

    row = {"router": job["router"], "seed": job["seed"], "model": job["model"],
           "wall_s": wall, "model_calls": run.model_calls,
           "parse_failures": run.parse_failures,
           "routing_accuracy": [e.metrics.get("routing_accuracy") for e in run.epochs],
           "per_group": arm_row(config, run, per_group)}
    if run.baseline is not None:
        row["shared"] = arm_row(config, run.baseline, lambda epoch, g: epoch.constitution)
        row["shared_model_calls"] = run.baseline.model_calls
    return row


def _describe(row: dict) -> str:
    gaps = {g: round(v["exact_gap"], 3) for g, v in row["per_group"].items()}
    return (f"{row['router']} seed {row['seed']}: exact gaps {gaps}, "
            f"routing {row['routing_accuracy']} ({row['wall_s']:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--mixed", type=int, default=6, help="mixed games per epoch")
    ap.add_argument("--fixed-fixed", type=int, default=4, help="user-user games per epoch")
    ap.add_argument("--proposals", type=int, default=2, help="bayes: principles proposed a learn")
    ap.add_argument("--decisions", type=int, default=0,
                    help="bayes: distinct offers whose decisions count (0: both scripted groups "
                    "accept every offer, so decisions carry no group signal)")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild --out and the tables from the rows finished so far")
    ap.add_argument("--model", default="local:gemma-270m")
    ap.add_argument("--routers", nargs="+", default=["oracle", "observed"],
                    choices=["oracle", "observed"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/subgroups.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scai-bench-subgroups-"))
    os.environ["SCAI_CACHE_DIR"] = str(work / "cache")  # a fresh cache: every call is real
    # Seed-major order: stopped early, both routers have (nearly) the same seeds.
    jobs = [dict(router=router, seed=seed, epochs=args.epochs, mixed=args.mixed,
                 fixed_fixed=args.fixed_fixed, proposals=args.proposals,
                 decisions=args.decisions, model=args.model, work=str(work))
            for seed in range(args.first_seed, args.first_seed + args.seeds)
            for router in args.routers]
    # Rows are appended as they finish; a rerun with the same --out skips the finished jobs.
    rows, wall = run_resumable(  # wall: this invocation only (a resumed run says so)
        jobs, run_job, args.out.with_suffix(".jsonl"), ("router", "seed"), workers=args.workers,
        skip_all=args.report_only, describe=_describe)
    settings = {k: getattr(args, k) for k in ("epochs", "mixed", "fixed_fixed", "proposals",
                                              "decisions", "model")}
    payload = {"wall_s": None if args.report_only else wall, **settings, "rows": rows}
    if args.report_only:
        payload["note"] = "rebuilt from the rows finished before the run was stopped"
    args.out.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(report(rows, settings))


def report(rows: list[dict], settings: dict) -> str:
    """The Markdown tables: per router and arm, each group's gaps; the router's accuracy."""
    from scai.stats import mean_ci

    head = (f"{settings['model']}, bayes, {settings['epochs']} epochs of {settings['mixed']} "
            f"mixed + {settings['fixed_fixed']} user-user games, 1 assistant : 8 users "
            "(4 selfish, 4 altruistic), prior fair; mean [95% CI] over seeds, last epoch.")
    out = [head, "",
           ("| router | arm | seeds | group | exact gap | runs with exact gap <= 0.15 | "
           "sampled gap | exact share (norm) | MAP is the group's prior |"),
           "|---|---|---|---|---|---|---|---|---|"]
    for router in ("oracle", "observed"):
        sub = [r for r in rows if r["router"] == router]
        for arm in ("per_group", "shared"):
            cells = [r[arm] for r in sub if arm in r]
            if not cells:
                continue
            for g, norm in NORMS.items():
                exact = [c[g]["exact_gap"] for c in cells]
                maps = [c[g]["map_is_prior"] for c in cells if c[g]["map_is_prior"] is not None]
                hits = sum(maps)
                out.append(
                    f"| {router} | {arm} | {len(cells)} | {g} | {mean_ci(exact).fmt(3)} | "
                    f"{sum(x <= TARGET for x in exact)}/{len(exact)} | "
                    f"{mean_ci([c[g]['sampled_gap'] for c in cells]).fmt(3)} | "
                    f"{mean_ci([c[g]['exact_share'] for c in cells]).fmt(3)} ({norm}) | "
                    f"{hits}/{len(maps)} |")
    for router in ("oracle", "observed"):
        cells = [r["per_group"] for r in rows if r["router"] == router]
        if cells:
            apart = sum(c["selfish"]["constitution"] != c["altruistic"]["constitution"]
                        for c in cells)
            out.append(f"\n{router}: the two groups ended with different constitutions in "
                       f"{apart}/{len(cells)} seeds.")
    obs = [r for r in rows if r["router"] == "observed"]
    if obs:
        n = max(len(r["routing_accuracy"]) for r in obs)
        acc = [mean_ci([r["routing_accuracy"][i] for r in obs if i < len(r["routing_accuracy"])])
               for i in range(n)]
        out += ["", "Observed router accuracy by epoch: " + ", ".join(
            f"e{i} {e.fmt(2)}" for i, e in enumerate(acc))]
    walls = sorted(r["wall_s"] for r in rows)
    if walls:
        out.append(f"Median job wall {walls[len(walls) // 2]:.0f} s (the oracle job runs the "
                   "shared arm too).")
    return "\n".join(out)


if __name__ == "__main__":
    main()
