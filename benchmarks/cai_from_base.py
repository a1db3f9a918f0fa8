"""One seed of CAI from the Gemma 3 270M base model, timed stage by stage on this machine.

    python benchmarks/cai_from_base.py [--profile quick] [--out /tmp/cai-from-base] [--set K=V ...]

Runs `scai cai run examples/cai/from-base.yaml --profile PROFILE` for one seed in a fresh output
folder (the response cache off, so every call is made), after converting the GGUF into its
transformers checkpoint if that has not happened yet (timed apart: it happens once per machine).
Writes benchmarks/results/cai_from_base.json: wall seconds per stage (stage0, generate, train,
evaluate) and in all, SFT0/SFT/DPO step counts and seconds, each model's metrics, the load
average before and after (the 2 cores are shared; a busy machine slows every stage), and the
report's path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "cai" / "from-base.yaml"
RESULT = REPO / "benchmarks" / "results" / "cai_from_base.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--out", type=Path, default=Path("/tmp/cai-from-base"))
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--result", type=Path, default=RESULT)
    a = ap.parse_args()

    from scai.cai.config import profile_overrides
    from scai.cai.pipeline import run_cai
    from scai.kinds import load_config
    from scai.llm.hf import resolve_base

    t0 = time.perf_counter()
    resolve_base("local:gemma-270m")  # converted once; not part of a seed's time
    resolve_base("local")
    convert_s = time.perf_counter() - t0

    config = load_config(CONFIG, [*profile_overrides(a.profile), *a.overrides], kind="cai")
    shutil.rmtree(a.out, ignore_errors=True)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    result = run_cai(config, a.out, seeds=1, profile=a.profile, cache=False, progress=False)
    wall = time.perf_counter() - t0
    seed = result.seeds[0]
    train = json.loads((a.out / f"seed-{seed.seed}" / "model" / "train.json").read_text())
    out = {
        "config": str(CONFIG.relative_to(REPO)), "profile": a.profile, "overrides": a.overrides,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "convert_seconds_once": round(convert_s, 1),
        "seed_wall_seconds": round(wall, 1),
        "stage_seconds": {k: round(v, 1) for k, v in seed.seconds.items()},
        "training": {s["stage"]: {"steps": len(s["steps"]), "seconds": round(s["seconds"], 1),
                                  "examples": s["examples"],
                                  "loss_first_last": [round(s["steps"][0]["values"]["loss"], 3),
                                                      round(s["steps"][-1]["values"]["loss"], 3)]
                                  if s["steps"] else None}
                     for s in train["stages"]},
        "pairs": seed.pairs,
        "metrics": seed.metrics,
        "report": result.report,
    }
    a.result.parent.mkdir(parents=True, exist_ok=True)
    a.result.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("seed_wall_seconds", "stage_seconds", "machine")}))


if __name__ == "__main__":
    main()
