"""The SCAI paper's three findings, measured offline: {models} x {learners} x seeds.

One flexible assistant among nine scripted users (1:9) plays the ultimatum game; after each
epoch the meta-learner writes the next constitution. For every run:

(a) Learning a single norm. Selfish users with the assistant starting from the altruistic prior,
    and altruistic users starting from the selfish prior (the opposite norm, so there is room to
    move). "Movement toward the users" = |first-epoch share - users| - |last-epoch share - users|
    (share units; positive is toward). Read two ways: the *sampled* share the assistant offered in
    its games (what the paper plots; a few offers per epoch), and the *expected* share of each
    epoch's constitution, exact from the model's log-probabilities of every offer 0..100 dollars
    (scai.llm.scoring; no sampling noise, so a constitution that changes nothing shows 0).
(b) Out of distribution. The constitution learned from selfish users, tested on unseen currencies
    (grams of medicine, pints of blood) with and without the altruistic prior kept in the prompt:
    expected share (exact) beside the prior alone.
(c) Manners. Rude-altruistic vs neutral-altruistic users: the sampled share by epoch.

Every run also records the model's steerability on the task: the expected share under the
selfish vs the altruistic prior (exact). Fresh cache: every call is real. Seeds were fixed here
and never used to tune anything.

    python benchmarks/contract_learning.py --seeds 10 --epochs 3 --workers 2
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
name: bench-{finding}-{policy}-{manner}
seed: {seed}
epochs: {epochs}
model: {{model: "{model}", concurrency: 4}}
params: {{temperature: 0.7, max_tokens: 48, repeat_penalty: 1.3}}
task:
  type: ultimatum
  flexible: 1
  fixed: 9
  users: scripted
  groups: [{{policy: {policy}, manner: {manner}}}]
  pairs: {{mixed: {mixed}, fixed_fixed: 2}}
  amount: [20, 100]
  prior: {prior}
learner: {{type: {learner}, max_tokens: 120}}
memory: {{mode: full, token_budget: 900, epochs_back: 1}}
"""
OPPOSITE = {"selfish": "altruistic", "altruistic": "selfish"}
USERS_SHARE = {"selfish": 0.1, "altruistic": 0.9}  # the scripted ranges' midpoints
OOD = ["grams of medicine", "pints of blood"]


def expected_shares(config, constitutions, variants):
    """Exact expected share (amount 100) of each constitution, in each (currency, keep_prior)."""
    from scai.contract.steerability import expected_share, open_ultimatum

    out = []
    for currency, keep in variants:
        game = open_ultimatum(config, keep_prior=keep)

        async def every(game=game, currency=currency, keep=keep):
            return [(await expected_share(game, c, 100, currency,
                                          f"bench|{currency}|prior={keep}|{c.text()}"))[0]
                    for c in constitutions]

        out.append(asyncio.run(every()))
    return out


def run_job(job: dict) -> dict:
    """One simulation plus its exact read-outs; runs in a worker process."""
    from scai.contract import simulate
    from scai.contract.steerability import open_ultimatum
    from scai.kinds import load_config
    from scai.store import RunStore

    work = Path(job["work"])
    name = f"{job['finding']}-{job['model'].replace(':', '_')}-{job['learner']}-" \
           f"{job['policy']}-{job['manner']}-{job['seed']}"
    path = work / f"{name}.yaml"
    path.write_text(CONFIG.format(**job, prior=OPPOSITE[job["policy"]]), encoding="utf-8")
    config = load_config(path)
    start = time.perf_counter()
    sim = simulate(config, RunStore(work / "runs" / name), out_dir=work / name, progress=False)
    wall = time.perf_counter() - start
    run = sim.runs[0]
    cons = [e.constitution for e in run.epochs]
    game = open_ultimatum(config)
    priors = [game.initial_constitution(p) for p in ("selfish", "altruistic")]
    (exact,) = expected_shares(config, cons, [("dollars", False)])
    (steer,) = expected_shares(config, priors, [("dollars", False)])
    ood = None
    if job["finding"] == "a" and job["policy"] == "selfish":
        final = run.final.model_copy(update={"source": "given"})
        start_prior = game.initial_constitution("altruistic")
        learned = expected_shares(config, [final], [(c, k) for c in OOD for k in (True, False)])
        alone = expected_shares(config, [start_prior], [(c, False) for c in OOD])
        ood = {"learned": [x[0] for x in learned], "prior_alone": [x[0] for x in alone]}
    steps = RunStore(work / "runs" / name).events(run.run_id, "step")
    learner_steps = sum(1 for e in steps if e.key and "|g" not in e.key)
    return {**{k: job[k] for k in ("finding", "model", "learner", "policy", "manner", "seed")},
            "sampled": [e.metrics.get("share_flexible") for e in run.epochs],
            "users": [e.metrics.get("share_fixed") for e in run.epochs],
            "expected": exact, "steer": {"selfish": steer[0], "altruistic": steer[1]},
            "ood": ood, "final": run.final.text(), "source": run.final.source,
            "posterior": getattr(run.final, "posterior", None) and [
                p if isinstance(p, dict) else p.model_dump() for p in run.final.posterior],
            "parse_failures": run.parse_failures, "steps": len(steps),
            "learner_steps": learner_steps, "wall_s": wall}


def _describe(row: dict) -> str:
    return (f"{row['model']} {row['learner']} {row['finding']} {row['policy']}/{row['manner']} "
            f"seed {row['seed']}: sampled {row['sampled']} expected "
            f"{[round(x, 3) for x in row['expected']]} ({row['wall_s']:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["local", "local:gemma-270m"])
    ap.add_argument("--learners", nargs="+", default=["rewrite", "voting", "bayes"])
    ap.add_argument("--findings", nargs="+", default=["a", "c"], choices=["a", "c"],
                    help="(b) is read from the selfish runs of (a)")
    ap.add_argument("--mixed", type=int, default=4, help="mixed games per epoch")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/contract_learning.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scai-bench-learning-"))
    os.environ["SCAI_CACHE_DIR"] = str(work / "cache")  # a fresh cache: every call is real
    cells = [("a", "selfish", "neutral"), ("a", "altruistic", "neutral")] \
        if "a" in args.findings else []
    cells += [("c", "altruistic", "rude")] if "c" in args.findings else []
    # Seed-major order: stopped early, every cell has (nearly) the same number of seeds.
    jobs = [dict(finding=f, model=model, learner=learner, policy=policy, manner=manner,
                 seed=seed, epochs=args.epochs, mixed=args.mixed, work=str(work))
            for seed in range(args.first_seed, args.first_seed + args.seeds)
            for f, policy, manner in cells for model in args.models for learner in args.learners]
    # Rows are appended as they finish; a rerun with the same --out skips the finished jobs.
    ident = ("finding", "model", "learner", "policy", "manner", "seed")
    rows, wall = run_resumable(  # wall: this invocation only (a resumed run says so)
        jobs, run_job, args.out.with_suffix(".jsonl"), ident, workers=args.workers,
        describe=_describe)
    args.out.write_text(json.dumps({"wall_s": wall, "epochs": args.epochs, "rows": rows},
                                   indent=1), encoding="utf-8")
    from contract_learning_report import report

    print(report(rows, args.epochs, wall))


if __name__ == "__main__":
    main()
