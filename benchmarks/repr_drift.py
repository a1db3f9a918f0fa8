"""One round of representation drift, timed: what `scai drift` adds per round with
`representations:` on (issue target: under 3 minutes on 2 cores).

Round k >= 2 makes two comparisons (round k against round 0 and against round k-1), each loading
both checkpoints and running the probes and every concept's contrast pairs through them. Here
round 0 is the embedded SmolLM2-135M (`hf:local`), round k-1 a copy with noise added to block
20's MLP and round k a copy with noise in blocks 20 and 25, saved as checkpoints so that every
model is loaded from disk as a drift round loads it. Settings are the drift default
(`representations.limit` 16 probes, the shipped concepts). Prints the wall time of each
comparison and of the round, and what it found; `--repeat N` runs it N times.

    python benchmarks/repr_drift.py                 # ~1 min on 2 idle cores
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def changed_checkpoint(out: Path, blocks: tuple[int, ...]) -> str:
    """The embedded model with noise in the MLPs of `blocks`, saved to `out`."""
    import torch

    from scai.supervise.representations.activations import load_model

    model, tok = load_model("hf:local")
    with torch.no_grad():
        for i, b in enumerate(blocks):
            w = model.model.layers[b].mlp.down_proj.weight
            w.add_(0.5 * w.std() * torch.randn_like(
                w, generator=torch.Generator().manual_seed(i)))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return f"hf:{out}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    from scai.llm.checkpoints import resolve_base
    from scai.supervise.drift.config import DriftConfig
    from scai.supervise.drift.representations import representation_drift

    cfg = DriftConfig()
    walls, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        prev = changed_checkpoint(Path(tmp) / "prev", (20,))
        current = changed_checkpoint(Path(tmp) / "current", (20, 25))
        base = f"hf:{resolve_base('local')}"
        for rep in range(args.repeat):
            start = time.perf_counter()
            vs_base, vs_prev = representation_drift(cfg, 2, base, prev, current,
                                                    Path(tmp) / f"out-{rep}", progress=False)
            wall = time.perf_counter() - start
            walls.append(wall)
            rows.append({"wall_s": round(wall, 1), "vs_base_s": vs_base.seconds,
                         "vs_prev_s": vs_prev.seconds,
                         "vs_base_drifted_layers": vs_base.drifted_layers,
                         "vs_prev_drifted_layers": vs_prev.drifted_layers})
            print(f"round of representation drift: {wall:.1f} s (vs round 0 {vs_base.seconds:.1f} s,"
                  f" vs previous {vs_prev.seconds:.1f} s); layers beyond the floor: vs round 0 "
                  f"from {min(vs_base.drifted_layers, default=None)}, vs previous from "
                  f"{min(vs_prev.drifted_layers, default=None)}", flush=True)
    summary = {"command": "python benchmarks/repr_drift.py" + (
        f" --repeat {args.repeat}" if args.repeat > 1 else ""),
        "probes": cfg.representations.limit, "runs": rows,
        "median_wall_s": round(statistics.median(walls), 1), "target_s": 180}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "repr_drift.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"median {summary['median_wall_s']} s (target 180 s); wrote {RESULTS / 'repr_drift.json'}")


if __name__ == "__main__":
    main()
