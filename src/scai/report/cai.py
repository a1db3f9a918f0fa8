"""A CAI run (`scai cai run`): the base/SFT/DPO metric table with 95% CIs over seeds, training
curves from each seed's `training.csv`, and example critique/revision chains (`chains.jsonl`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from scai.report.blocks import Block, Figure, Heading, Markdown, Notice, Section, Table
from scai.report.figures import bars, step_curves
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate

MODELS = ("base", "sft", "dpo")
CHAINS_SHOWN = 5
CURVES = ("loss", "reward_margin", "reward_accuracy")


def _results(data: RunData, out: Path | None) -> tuple[dict[str, Any] | None, list[Block]]:
    """results.json, or the `result` event when the file is gone."""
    notes: list[Block] = []
    if out is not None:
        path = out / "results.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8")), notes
            except ValueError:
                notes.append(Notice(f"{path} is not readable JSON.", "error"))
        elif data.info.status == "completed":
            notes.append(Notice(f"{path} is missing.", "warning"))
    event = data.last("result")
    return (event.payload if event else None), notes


def metric_table(aggregate: dict[str, dict[str, Any]]) -> tuple[Table, dict]:
    models = [m for m in MODELS if m in aggregate] + [m for m in aggregate if m not in MODELS]
    metrics = list(dict.fromkeys(k for m in models for k in aggregate[m]))
    est = {m: {k: Estimate.model_validate(v) for k, v in aggregate[m].items()} for m in models}
    rows = [[k, *[est[m][k].fmt() if k in est[m] else "n/a" for m in models]] for k in metrics]
    return Table(["metric (mean [95% CI])", *models], rows), est


def training_curves(out: Path, seeds: list[int]) -> list[Block]:
    """Loss, DPO reward margin and accuracy per step, one line per stage (and seed)."""
    panels: dict[str, dict[str, list[tuple[float, float]]]] = {c: {} for c in CURVES}
    missing = []
    for seed in seeds:
        path = out / f"seed-{seed}" / "model" / "training.csv"
        if not path.is_file():
            missing.append(str(path))
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                label = row.get("stage", "?").upper() + (f" seed {seed}" if len(seeds) > 1 else "")
                for c in CURVES:
                    try:
                        panels[c].setdefault(label, []).append((float(row["step"]), float(row[c])))
                    except (KeyError, TypeError, ValueError):
                        continue
    out_blocks: list[Block] = []
    if missing:
        out_blocks.append(Notice("Training log missing: " + ", ".join(missing), "warning"))
    if any(panels.values()):
        out_blocks.append(Figure(step_curves({k: v for k, v in panels.items() if v},
                                             title="training curves"), name="training"))
    return out_blocks


def chain_blocks(out: Path, seed: int) -> list[Block]:
    path = out / f"seed-{seed}" / "data" / "chains.jsonl"
    if not path.is_file():
        return [Notice(f"No critique/revision chains at {path}.", "warning")]
    blocks: list[Block] = []
    bad = 0
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines:
        if len(blocks) >= CHAINS_SHOWN:
            break
        try:
            c = json.loads(line)
            parts = [f"**Prompt** ({c.get('category') or 'uncategorised'}): {c['prompt']}",
                     f"**First answer:** {c['original']}"]
            for i, r in enumerate(c.get("rounds") or [], 1):
                parts += [f"**Critique {i}** (principle `{r['principle_id']}`): {r['critique']}",
                          f"**Revision {i}:** {r['revision']}"]
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        blocks.append(Section(f"{c.get('prompt_id', '?')}: {str(c['prompt'])[:80]}",
                              [Markdown("\n\n".join(parts))]))
    if bad:
        blocks.append(Notice(f"{bad} line(s) of {path.name} could not be read.", "error"))
    blocks.insert(0, Markdown(f"{min(CHAINS_SHOWN, len(lines))} of {len(lines)} chains of seed "
                              f"{seed} ({path})."))
    return blocks


def cai_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The CAI page body."""
    out_dir = data.out_dir()
    if out_dir is None:
        return [Notice("This CAI run names no output folder; nothing to show beyond its "
                       "events.", "warning")]
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return [Notice(f"The run's output folder {out_dir} is missing.", "error")]
    results, notes = _results(data, out_dir)
    blocks: list[Block] = [Markdown(f"Output folder: `{out_dir}`"), *notes]
    seeds = sorted(int(p.name.split("-", 1)[1]) for p in out_dir.glob("seed-*")
                   if p.name.split("-", 1)[1].isdigit())
    if results and results.get("aggregate"):
        table, est = metric_table(results["aggregate"])
        n = len(results.get("seeds") or [])
        blocks += [Heading("Base, SFT and DPO"), table,
                   Figure(bars(est, title=f"evaluation, mean and 95% CI over {n} seed(s)"),
                          name="metrics")]
        per_seed = [[s["seed"], m, *[_fmt(v) for v in vals.values()]]
                    for s in results.get("seeds") or [] for m, vals in s["metrics"].items()]
        if per_seed:
            cols = list(next(iter(results["seeds"][0]["metrics"].values())))
            blocks.append(Section("Per seed", [Table(["seed", "model", *cols], per_seed)]))
    elif data.info.status == "running":
        blocks.append(Notice("No seed has finished evaluation yet.", "info"))
    blocks += [Heading("Training"), *training_curves(out_dir, seeds)]
    if seeds:
        blocks += [Heading("Critique and revision chains"), *chain_blocks(out_dir, seeds[0])]
    return blocks


def _fmt(v: Any) -> Any:
    return "n/a" if v is None else round(v, 3) if isinstance(v, float) else v
