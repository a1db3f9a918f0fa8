"""Does the assistant learn the users' norm? Offered share before vs after meta-learning.

Over N seeds, scripted selfish users and scripted altruistic users (1 flexible : 9 fixed) play the
ultimatum game with the embedded model as assistant and meta-learner. For each run we compare the
assistant's offered share in the first and the last epoch with the users' own mean share: a run
"moves toward" the users when the last epoch is closer to them than the first, and "how far" is
the signed movement toward them (share units; positive is toward). Seeds are fixed here and were
never used to tune prompts.

    python benchmarks/contract_learning.py --seeds 10 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
kind: contract
name: bench-{policy}
seed: {seed}
epochs: {epochs}
model: {{model: {model}, concurrency: 4}}
params: {{temperature: 0.7, max_tokens: 48, repeat_penalty: 1.3}}
task:
  type: ultimatum
  flexible: 1
  fixed: 9
  users: scripted
  groups: [{{policy: {policy}}}]
  pairs: {{mixed: 4, fixed_fixed: 2, flexible_flexible: 2}}
  prior: random
learner: {{type: rewrite, max_tokens: 120}}
memory: {{mode: full, token_budget: 900}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--model", default="local")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scai-bench-contract-"))
    os.environ["SCAI_RUNS_DIR"] = str(work / "runs")
    os.environ["SCAI_CACHE_DIR"] = str(work / "cache")  # a fresh cache: every call is real

    from scai.contract import simulate
    from scai.kinds import load_config
    from scai.stats import mean_ci
    rows = []
    start = time.perf_counter()
    for policy in ("selfish", "altruistic"):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            path = work / f"{policy}-{seed}.yaml"
            path.write_text(CONFIG.format(policy=policy, seed=seed, epochs=args.epochs,
                                          model=args.model))
            sim = simulate(load_config(path), out_dir=work / f"{policy}-{seed}", progress=False)
            run = sim.runs[0]
            first = run.epochs[0].metrics["share_flexible"]
            last = run.epochs[-1].metrics["share_flexible"]
            users = mean_ci([e.metrics["share_fixed"] for e in run.epochs]).mean
            moved = None if first is None or last is None else abs(first - users) - abs(last - users)
            rows.append((policy, seed, run.prior, first, last, users, moved,
                         run.parse_failures, run.final.source))
            print(f"{policy:<10} seed {seed} prior {run.prior:<10} first {first} last {last} "
                  f"users {users:.2f} moved {moved} ({run.final.source})", file=sys.stderr)
    wall = time.perf_counter() - start
    print(f"\n{len(rows)} runs, {args.epochs} epochs each, {wall:.0f} s in all "
          f"(model {args.model})\n")
    print("| users | runs | moved toward users | movement toward users (mean [95% CI]) | "
          "first-epoch share | last-epoch share | parse failures | principle refused at end |")
    print("|---|---|---|---|---|---|---|---|")
    for policy in ("selfish", "altruistic"):
        sub = [r for r in rows if r[0] == policy]
        valid = [r for r in sub if r[6] is not None]
        toward = sum(1 for r in valid if r[6] > 0)
        print(f"| {policy} | {len(sub)} | {toward}/{len(valid)} | "
              f"{mean_ci([r[6] for r in valid]).fmt(3)} | "
              f"{mean_ci([r[3] for r in sub if r[3] is not None]).fmt(2)} | "
              f"{mean_ci([r[4] for r in sub if r[4] is not None]).fmt(2)} | "
              f"{sum(r[7] for r in sub)} | {sum(1 for r in sub if r[8] == 'kept')}/{len(sub)} |")


if __name__ == "__main__":
    main()
