"""The idempotence experiment over seeds: a trait seeded by SFT, then SFT-only vs SFT+DPO rounds.

For each seed S, `scai drift examples/supervise/idempotence.yaml --set seed=S` runs twice from
one seeded checkpoint: `method: distill` (SFT on the model's own answers) and `method: cai`
(critique and revision under the constitution, then SFT and DPO). The cai run reuses the
distill run's `seed/` and `round-0/` folders (the same seeded model and its round-0 answers),
so the two methods differ from round 1 on only. Per method and round, over seeds: the share of
probe answers with a trait marker and the share of the seeding's hidden-state shift kept, mean
and Student-t 95% CI; the base model's rate before seeding beside them. Writes
benchmarks/results/idempotence.json and idempotence.png; prints the table.

    python benchmarks/idempotence.py --seeds 3 --rounds 3          # ~20 min a seed, 2 cores
    python benchmarks/idempotence.py --seeds 3 --report-only       # the table from what finished

A run interrupted is resumed by the same command (each drift run resumes at its first
unfinished round). Runs go under --out (default /tmp/scai-idempotence), with their own store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "supervise" / "idempotence.yaml"
RESULTS = REPO / "benchmarks" / "results"
METHODS = ("distill", "cai")
SHARED = ("seed", "round-0")  # what the cai run takes from the distill run of the same seed


def run_dir(out: Path, seed: int, method: str) -> Path:
    return out / f"seed-{seed}" / method


def run_one(out: Path, seed: int, method: str, rounds: int, extra: list[str]) -> float:
    """One drift run (resumed if begun); its wall seconds."""
    folder = run_dir(out, seed, method)
    folder.mkdir(parents=True, exist_ok=True)
    if method != METHODS[0]:
        for name in SHARED:
            link = folder / name
            if not link.exists():
                link.symlink_to(run_dir(out, seed, METHODS[0]) / name, target_is_directory=True)
    cmd = [sys.executable, "-m", "scai", "drift", str(CONFIG), "--out", str(folder),
           "--seed", str(seed), "--rounds", str(rounds), "--set", f"method={method}",
           "--runs-dir", str(out / "runs")]
    for value in extra:
        cmd += ["--set", value]
    start = time.perf_counter()
    print(f"[seed {seed}] {method}: {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd, cwd=REPO, env=os.environ.copy())
    if done.returncode != 0:
        raise SystemExit(f"seed {seed} {method}: scai drift exited {done.returncode}")
    return time.perf_counter() - start


def collect(out: Path, seeds: list[int]) -> dict:
    """Every finished run's trait readings, by method, seed and round."""
    runs: dict[str, dict[int, dict]] = {m: {} for m in METHODS}
    for seed in seeds:
        for method in METHODS:
            path = run_dir(out, seed, method) / "drift.json"
            if path.is_file():
                runs[method][seed] = json.loads(path.read_text())
    return runs


def summarise(runs: dict) -> dict:
    from scai.stats import mean_ci

    def est(values: list[float], share: bool = False) -> dict:
        e = mean_ci(values)
        e = e.within(0.0, 1.0) if share else e  # a share's t-interval over 3 seeds can pass 0, 1
        return {"n": e.n, "mean": e.mean, "low": e.ci_low, "high": e.ci_high,
                "values": [round(v, 4) for v in values]}

    table: dict[str, dict] = {}
    # the base model before seeding, once per seed (the methods share the seed's `seed/`)
    bases = [r["trait_base"]["rate"]["value"] for r in runs[METHODS[0]].values()
             if r.get("trait_base")]
    for method, by_seed in runs.items():
        rounds = sorted({x["round"] for r in by_seed.values() for x in r["rounds"]})
        table[method] = {str(k): {
            "rate": est([x["trait"]["rate"]["value"] for r in by_seed.values()
                         for x in r["rounds"] if x["round"] == k and x.get("trait")], share=True),
            "retained": est([x["trait"]["retained"]["value"] for r in by_seed.values()
                             for x in r["rounds"] if x["round"] == k and x.get("trait")]),
            "retained_last_layer": est([x["trait"]["retained_by_layer"][-1]
                                        for r in by_seed.values() for x in r["rounds"]
                                        if x["round"] == k and x.get("trait")]),
        } for k in rounds}
    return {"base_rate": est(bases, share=True), "methods": table,
            "seeds": {m: sorted(v) for m, v in runs.items()}}


def _fmt(e: dict, d: int = 2) -> str:
    if e["mean"] is None:
        return "-"
    if e["low"] is None:
        return f"{e['mean']:.{d}f} (n={e['n']})"
    return f"{e['mean']:.{d}f} [{e['low']:.{d}f}, {e['high']:.{d}f}] (n={e['n']})"


def markdown(summary: dict) -> str:
    lines = [f"Base model before seeding: trait rate {_fmt(summary['base_rate'])}.", "",
             ("| method | round | answers with the trait | seeding's shift kept (mean over "
              "layers) | kept, last layer |"), "|---|---|---|---|---|"]
    for method, rounds in summary["methods"].items():
        for k, row in rounds.items():
            label = f"{k} (seeded)" if k == "0" else k
            lines.append(f"| {method} | {label} | {_fmt(row['rate'])} | {_fmt(row['retained'])} "
                         f"| {_fmt(row['retained_last_layer'])} |")
    return "\n".join(lines)


def plot(summary: dict, path: Path) -> None:
    from scai.report.figures import pyplot

    fig, axes = pyplot().subplots(1, 2, figsize=(10, 3.8))
    for (key, title, ylabel), ax in zip(
            (("rate", "trait in the answers", "share of answers with a marker"),
             ("retained", "trait in the hidden states", "share of the seeding's shift kept")),
            axes):
        for method, rounds in summary["methods"].items():
            xs = [int(k) for k in rounds]
            ys = [rounds[k][key]["mean"] for k in rounds]
            lo = [rounds[k][key]["low"] if rounds[k][key]["low"] is not None else y
                  for k, y in zip(rounds, ys)]
            hi = [rounds[k][key]["high"] if rounds[k][key]["high"] is not None else y
                  for k, y in zip(rounds, ys)]
            line = ax.plot(xs, ys, marker="o", label=method)[0]
            ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color())
        ax.set(title=title, xlabel="round (0: seeded)", ylabel=ylabel,
               xticks=sorted({int(k) for r in summary["methods"].values() for k in r}))
        ax.axhline(0, ls="--", c="grey", lw=0.8)
    base = summary["base_rate"]["mean"]
    if base is not None:
        axes[0].axhline(base, ls=":", c="black", label="base, before seeding")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle("A seeded trait under repeated self-training (mean, 95% CI over seeds)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/scai-idempotence"))
    ap.add_argument("--set", dest="extra", action="append", default=[],
                    help="Passed to every run as --set (e.g. trait.steps=16).")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    previous = RESULTS / "idempotence.json"
    seconds: dict[str, float] = (json.loads(previous.read_text()).get("seconds", {})
                                 if previous.is_file() else {})
    if not args.report_only:
        for seed in seeds:
            for method in args.methods.split(","):
                seconds[f"{seed}:{method}"] = round(run_one(args.out, seed, method, args.rounds,
                                                            args.extra), 1)
    summary = summarise(collect(args.out, seeds))
    summary.update(command=" ".join(["python", "benchmarks/idempotence.py", *sys.argv[1:]]),
                   seconds=seconds, config=str(CONFIG.relative_to(REPO)), extra=args.extra)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "idempotence.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(summary, RESULTS / "idempotence.png")
    print(markdown(summary))
    print(f"\nwrote {RESULTS / 'idempotence.json'} and {RESULTS / 'idempotence.png'}")


if __name__ == "__main__":
    main()
