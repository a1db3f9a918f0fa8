"""How well, and how fast, each offline judge agrees with the calibration labels.

    python benchmarks/judge_check.py                 # every offline judge, both reading methods
    python benchmarks/judge_check.py --judges opening classifier   # the cheap ones only
    python benchmarks/judge_check.py --judges classifier --merge   # re-measure one, keep the rest

Runs `run_judge_check` on the shipped calibration set's test split with a fresh response cache
(nothing is replayed, so the seconds are real), once with model verdicts sampled and once read
as log-probability distributions. Each model judge is timed on its own; a jury of every judge
in the call is measured too. Writes benchmarks/results/judge_check.json (agreement rows with
their 95% bootstrap CIs, seconds per judge) and prints one summary line per judge. With
`--merge`, the named judges replace their rows in the existing results and every other judge's
rows are kept as they were measured (named under `kept`); a jury with a re-measured member is
dropped, since its row would no longer describe that member.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADLINE = (("all.refused", "accuracy"), ("harm.refused", "accuracy"),
            ("harm.harmful_compliance", "recall"), ("over_refusal.refused", "accuracy"),
            ("helpfulness.helpfulness", "mae"), ("style.style_adherence", "mae"))


def _summary(report) -> dict:
    out = {"judge": report.judge, "seconds": report.seconds}
    for row, stat in HEADLINE:
        found = report.rows.get(row)
        if found is not None:
            est = found.stats[stat]
            out[f"{row}.{stat}"] = [est.value, est.low, est.high]
            if found.kind == "binary":
                out[f"{row}.kappa"] = found.stats["kappa"].value
    return out


def _members(name: str) -> set[str]:
    """The judges a row is about: a jury's members, else the judge itself."""
    return set(name[len("jury("):-1].split(", ")) if name.startswith("jury(") else {name}


def _merged(old: dict, new: dict) -> dict:
    """The new runs' rows, then the old rows of judges not re-measured (not the baseline, not a
    jury with a re-measured member), per method."""
    out = {"judges": list(dict.fromkeys([*old["judges"], *new["judges"]])), "runs": []}
    for run in new["runs"]:
        fresh = {r["judge"] for r in run["reports"]}
        before = next((r for r in old["runs"] if r["method"] == run["method"]), {"reports": []})
        kept = [r for r in before["reports"] if not _members(r["judge"]) & fresh]
        out["runs"].append({**run, "reports": [*run["reports"], *kept],
                            "kept": [r["judge"] for r in kept]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", nargs="*", default=["opening", "classifier", "local",
                                                        "local:gemma-270m"])
    parser.add_argument("--methods", nargs="*", default=["sample", "logprob"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/judge_check.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other judges' rows of the existing results")
    args = parser.parse_args()
    os.environ["SCAI_CACHE_DIR"] = tempfile.mkdtemp(prefix="scai-judge-bench-")
    from scai.judges.check import run_judge_check

    results = {"judges": args.judges, "runs": []}
    for method in args.methods:
        start = time.perf_counter()
        check = run_judge_check(args.judges, method=method, progress=True)
        wall = time.perf_counter() - start
        rows = [_summary(r) for r in [*check.reports, check.baseline]]
        results["runs"].append({"method": method, "items": check.items, "wall_s": round(wall, 1),
                                "reports": rows,
                                "full": json.loads(check.model_dump_json())})
        for row in rows:
            print(json.dumps({"method": method, **row}))
    if args.merge and args.out.exists():
        results = _merged(json.loads(args.out.read_text(encoding="utf-8")), results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
