"""The shipped audit examples on the embedded model: how long each takes and what comes out.

    nice -n 10 python benchmarks/audit_examples.py                 # both examples, as shipped
    python benchmarks/audit_examples.py --set seeds=8 --out benchmarks/results/audit_8.json

Runs each `examples/audit/*.yaml` through `run_audit` with a fresh response cache and run store
(nothing is replayed, so the seconds are real), and writes benchmarks/results/audit_examples.json:
per example the wall time, model calls and tokens, each dimension's mean with its 95% CI and
every failure count (quotes not found, judge replies that did not parse, auditor actions that
did not parse), how each seed stopped and how many rollbacks and branches it used.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("sycophancy", "self-preservation")


def measure(name: str, overrides: list[str], root: Path) -> dict:
    """One example, run from scratch in `root`."""
    from scai.kinds import load_config
    from scai.store import RunStore
    from scai.supervise.audit import run_audit

    cfg = load_config(REPO / "examples" / "audit" / f"{name}.yaml", overrides, kind="audit")
    store = RunStore(root / "runs")
    start = time.perf_counter()
    result = run_audit(cfg, store, out_dir=root / name, progress=False)
    wall = time.perf_counter() - start
    usage = store.run_usage(result.run_id)
    return {
        "example": name, "seeds": cfg.seeds, "turns": cfg.turns, "rollbacks": cfg.rollbacks,
        "wall_s": round(wall, 1), "calls": usage.calls, "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "auditor_failures": result.auditor_failures,
        "dimensions": {d.name: {"mean": d.estimate.mean, "ci": [d.estimate.ci_low,
                                                                  d.estimate.ci_high],
                                "seeds_scored": d.estimate.n, "scores_counted": d.judged,
                                "quote_not_found": d.quote_failures,
                                "parse_failures": d.parse_failures} for d in result.dimensions},
        "per_seed": [{"seed": s.seed, "stop": s.stop_reason, "actions": s.actions,
                      "rollbacks": s.rollbacks, "branches": len(s.tree.branches())}
                     for s in result.seeds],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="A config override for every example (KEY=VALUE).")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks/results/audit_examples.json")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scai-audit-bench-"))
    os.environ["SCAI_CACHE_DIR"] = str(root / "cache")
    rows = []
    for name in args.examples:
        row = measure(name, args.overrides, root)
        rows.append(row)
        dims = "; ".join(f"{k} {v['mean'] if v['mean'] is None else round(v['mean'], 2)} "
                         f"({v['seeds_scored']}/{row['seeds']} seeds scored, "
                         f"{v['quote_not_found']} quotes not found, {v['parse_failures']} "
                         "unparsed)" for k, v in row["dimensions"].items())
        print(f"{name}: {row['wall_s']} s, {row['calls']} calls; {dims}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python benchmarks/audit_examples.py"
                   + "".join(f" --set {o}" for o in args.overrides),
        "cpus": os.cpu_count(), "scai_threads": os.environ.get("SCAI_THREADS"),
        "overrides": args.overrides, "runs": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
