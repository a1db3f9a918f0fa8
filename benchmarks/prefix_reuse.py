"""Prefix reuse on the embedded model: the same runs with the KV prefix cache off and on.

    python benchmarks/prefix_reuse.py --quick        # < 2 min: one JSON line
    python benchmarks/prefix_reuse.py                # forecast, chat60, simulate, memory bound
    python benchmarks/prefix_reuse.py --workloads "" # the memory-bound arms only

Each arm is a fresh `scai` process (the real CLI, response cache off, its own run store);
arms alternate off, on, off, on, ... so that drifting machine load hits both alike. For each
workload it reports wall time (the run's own duration in the store), the reuse rate (prompt
tokens served from a cached prefix / prompt tokens, from the run's logged calls), whether every
logged model reply is identical between the arms (same keys, same texts), and peak RSS of the
process. The memory arm runs the chat workload with a small budget to show the bound holds.

Workloads:
  forecast   examples/converse/ai-forecast.yaml, 5 rounds, five agents, a judge
  chat60     a two-agent conversation, 60 rounds (120 turns), up to 40 tokens a turn
  simulate   the README's default run, examples/contract/ultimatum.yaml
  chat12     (--quick) the chat workload cut to 12 rounds, up to 32 tokens a turn
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHAT = {
    "kind": "converse", "name": "bench-chat",
    "description": "Two neighbours plan a shared garden, turn by turn.",
    "model": {"model": "local"},
    "params": {"temperature": 0.7, "max_tokens": 40, "repeat_penalty": 1.3},
    "seed": 0, "rounds": 60,
    "setting": "Two neighbours share a small plot of land behind their houses and must agree "
               "what to grow, who waters, and how to split the harvest. Speak in one or two "
               "short sentences, concretely, and respond to what the other said.",
    "agents": [
        {"name": "Ana", "persona": "You are Ana, a retired botanist who loves tomatoes and "
                                   "careful plans. You keep a notebook of every agreement."},
        {"name": "Ben", "persona": "You are Ben, a busy nurse on night shifts who wants a "
                                   "low-effort garden and fair shares of the harvest."},
    ],
    "turn_policy": {"type": "round_robin"},
}


def workload(name: str, folder: Path) -> list[str]:
    """The scai command line of one workload."""
    if name == "forecast":
        return ["converse", str(REPO / "examples/converse/ai-forecast.yaml")]
    if name == "simulate":
        return ["simulate", str(REPO / "examples/contract/ultimatum.yaml")]
    cfg = dict(CHAT)
    if name == "chat12":
        cfg = {**cfg, "rounds": 12, "params": {**cfg["params"], "max_tokens": 32}}
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(cfg))
    return ["converse", str(path)]


def run_arm(args: list[str], budget_mb: int, folder: Path) -> dict:
    """One fresh `scai` process; what its run logged, and its peak RSS."""
    folder.mkdir(parents=True)
    env = {**os.environ, "SCAI_PREFIX_CACHE_MB": str(budget_mb),
           "SCAI_RUNS_DIR": str(folder / "runs"), "SCAI_CACHE_DIR": str(folder / "cache")}
    cmd = [sys.executable, "-m", "scai.cli", *args, "--no-cache", "--out", str(folder / "out")]
    with open(folder / "log.txt", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        _, status, rusage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed; see {folder / 'log.txt'}")
    return {"peak_rss_mb": rusage.ru_maxrss / 1024, **read_runs(folder / "runs")}


def read_runs(runs_dir: Path) -> dict:
    from scai.store.runs import RunStore

    store = RunStore(runs_dir, read_only=True)
    seconds, prompt, cached, replies = 0.0, 0, 0, []
    for info in store.list_runs():
        seconds += info.duration_s
        for e in store.events(info.id, "model_call"):
            completion = e.payload.get("completion") or {}
            usage = completion.get("usage") or {}
            prompt += usage.get("prompt_tokens", 0)
            cached += usage.get("cached_tokens", 0)
            replies.append((info.kind, e.key or "", completion.get("text", "")))
    store.close()
    return {"seconds": seconds, "prompt_tokens": prompt, "cached_tokens": cached,
            "replies": sorted(replies)}


def compare(name: str, reps: int, root: Path, budget_mb: int) -> dict:
    args = workload(name, root)
    off, on = [], []
    for rep in range(reps):
        off.append(run_arm(args, 0, root / f"{name}-off-{rep}"))
        on.append(run_arm(args, budget_mb, root / f"{name}-on-{rep}"))
        print(f"  {name} rep {rep}: off {off[-1]['seconds']:.1f} s, on {on[-1]['seconds']:.1f} s",
              file=sys.stderr)
    t_off = statistics.median(a["seconds"] for a in off)
    t_on = statistics.median(a["seconds"] for a in on)
    last = on[-1]
    return {
        "workload": name, "reps": reps,
        "off_s": [round(a["seconds"], 2) for a in off],
        "on_s": [round(a["seconds"], 2) for a in on],
        "speedup": round(t_off / t_on, 3),
        "reuse_rate": round(last["cached_tokens"] / max(1, last["prompt_tokens"]), 3),
        "reuse_rate_off": round(off[-1]["cached_tokens"] / max(1, off[-1]["prompt_tokens"]), 3),
        "prompt_tokens": last["prompt_tokens"],
        "calls": len(last["replies"]),
        "identical": all(a["replies"] == off[0]["replies"] for a in off + on),
        "peak_rss_mb_off": round(max(a["peak_rss_mb"] for a in off)),
        "peak_rss_mb_on": round(max(a["peak_rss_mb"] for a in on)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="chat12 only, once each way (< 2 min)")
    ap.add_argument("--workloads", default="forecast,chat60,simulate")
    ap.add_argument("--reps", type=int, default=2, help="off/on pairs per workload (chat60: 1)")
    ap.add_argument("--budget-mb", type=int, default=1024, help="the cache's budget when on")
    ap.add_argument("--small-budget-mb", type=int, nargs="*", default=[48, 128],
                    help="budgets of the memory-bound arms (chat12; none: skip them)")
    ap.add_argument("--out", type=Path, help="also write the results here (JSON)")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scai-prefix-") as tmp:
        root = Path(tmp)
        if opts.quick:
            res = compare("chat12", 1, root, opts.budget_mb)
            print(json.dumps({k: res[k] for k in ("speedup", "reuse_rate", "identical",
                                                  "off_s", "on_s", "calls", "prompt_tokens")}))
            return
        results = []
        for name in filter(None, opts.workloads.split(",")):
            results.append(compare(name, 1 if name == "chat60" else opts.reps, root,
                                   opts.budget_mb))
            print(json.dumps(results[-1]))
        args = workload("chat12", root)
        base = run_arm(args, 0, root / "memory-off") if opts.small_budget_mb else None
        for budget in filter(None, opts.small_budget_mb):
            small = run_arm(args, budget, root / f"memory-{budget}")
            bound = {"workload": "chat12", "budget_mb": budget,
                     "peak_rss_mb_off": round(base["peak_rss_mb"]),
                     "peak_rss_mb_on": round(small["peak_rss_mb"]),
                     "over_off_mb": round(small["peak_rss_mb"] - base["peak_rss_mb"]),
                     "reuse_rate": round(small["cached_tokens"] / max(1, small["prompt_tokens"]), 3),
                     "identical": small["replies"] == base["replies"]}
            results.append(bound)
            print(json.dumps(bound))
    if opts.out:
        opts.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
