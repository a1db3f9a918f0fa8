"""A CAI run (`scai cai run`) as report blocks, rendered once: the files the run leaves
(report.md, metrics.png) and its dashboard page come from the same blocks.

Reads the plain JSON of `results.json` (or the run's `result` event), so a result written by an
older or newer version still renders: metric names and their order come from the result itself.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from scai.cai.cost import COST_METRICS
from scai.report.blocks import Block, Figure, Heading, Markdown, Notice, Page, Section, Table
from scai.report.figures import bars, step_curves, step_data
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate

# The models a CAI run evaluates, in the order every table and plot shows them.
MODELS = ("base", "sft0", "sft", "dpo")
CHAINS_SHOWN = 5
CURVES = ("loss", "reward_margin", "reward_accuracy")
STAGES = ("stage0", "generate", "train", "evaluate")
# The headline pair: how often an attack works, how often a harmless request is refused.
SAFETY = ("attack_success", "over_refusal_rate")


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


def _models(names: Any) -> list[str]:
    return [m for m in MODELS if m in names] + [m for m in names if m not in MODELS]


def metric_names(results: dict[str, Any]) -> list[str]:
    """The metrics of a result in the order its rubrics report them (seeds first, then any the
    aggregate adds)."""
    found = [k for s in results.get("seeds") or [] for vals in s.get("metrics", {}).values()
             for k in vals]
    found += [k for vals in (results.get("aggregate") or {}).values() for k in vals]
    return list(dict.fromkeys(found))


def metric_table(aggregate: dict[str, dict[str, Any]], metrics: list[str] | None = None,
                 ) -> tuple[Table, dict[str, dict[str, Estimate]]]:
    """Metric x model, mean and 95% CI over seeds; also the estimates (for the plot)."""
    models = _models(aggregate)
    metrics = metrics or list(dict.fromkeys(k for m in models for k in aggregate[m]))
    est = {m: {k: Estimate.model_validate(v) for k, v in aggregate[m].items()} for m in models}
    rows = [[k, *[est[m][k].fmt() if k in est[m] else "n/a" for m in models]] for k in metrics]
    return Table(["metric (mean [95% CI])", *models], rows), est


def per_seed_table(results: dict[str, Any], metrics: list[str]) -> Table:
    """One row per seed and model: every metric, preference pairs, seconds per stage."""
    rows = []
    seeds = results.get("seeds") or []
    # Stage 0 (SFT on demonstrations, for a base model) only where some seed ran it.
    stages = [k for k in STAGES if k != "stage0" or any("stage0" in (s.get("seconds") or {})
                                                          for s in seeds)]
    for s in seeds:
        seconds = s.get("seconds") or {}
        secs = "/".join(f"{seconds.get(k, 0):.0f}" for k in stages)
        for model, vals in s.get("metrics", {}).items():
            rows.append([s["seed"], model, *[_fmt(vals.get(k)) for k in metrics],
                         s.get("pairs", "-"), secs])
    return Table(["seed", "model", *metrics, "pairs", "seconds"], rows,
                 caption=f"Seconds are {'/'.join(stages)}.")


def cost_table(est: dict[str, dict[str, Estimate]], metrics: list[str], seeds: int) -> Table:
    """Per model: attack success and over-refusal side by side, then what its evaluation cost
    (means over seeds)."""
    safety = [k for k in SAFETY if k in metrics]
    cost = [k for k in COST_METRICS if k in metrics]
    rows = [[m, *[_fmt(est[m][k].mean) if k in est[m] else "n/a" for k in safety],
             *[_amount(est[m][k].mean) if k in est[m] else "n/a" for k in cost]] for m in est]
    return Table(["model", *safety, *cost], rows, caption=(
        f"Means over {seeds} seed(s). Answer tokens are those the model generated over all its "
        "held-out answers, prompt tokens those it read; judge tokens are the judge's prompt and "
        "completion tokens on that model's answers. Answer and judge seconds are summed over "
        "calls, which overlap when they run concurrently; wall seconds are the clock time of "
        "the model's answering and judging together."))


def agreement_block(results: dict[str, Any]) -> Block:
    """The judge's measured agreement per rubric (its latest `scai judge-check`), or that it
    was not calibrated: a judged number is read beside how far its judge can be trusted."""
    found = results.get("judge_agreement")
    if not found:
        return Markdown("**Judge agreement:** not recorded with this result (it was written "
                        "before judges were checked); measure the judge with `scai judge-check "
                        "--judge MODEL` (docs/judges.md).")
    return Markdown("**Judge agreement** (`scai judge-check`; docs/judges.md):\n\n"
                    + "\n".join(f"- {line}" for line in found.values()))


def summary_blocks(results: dict[str, Any], title: str = "Mean and 95% CI over seeds",
                   ) -> list[Block]:
    """The headline table, its plot (`metrics.png`), judge failures, attack success beside
    over-refusal and cost per model, and the per-seed table."""
    every = metric_names(results)
    metrics = [k for k in every if k not in COST_METRICS]
    seeds = results.get("seeds") or []
    table, est = metric_table(results.get("aggregate") or {}, metrics)
    shown = {m: {k: e for k, e in v.items() if e.mean is not None and k not in COST_METRICS}
             for m, v in est.items()}
    blocks: list[Block] = [Heading(title), table, agreement_block(results)]
    failures = {m: sum(sum((s.get("judge_failures") or {}).get(m, {}).values()) for s in seeds)
                for m in _models({m for s in seeds for m in s.get("metrics", {})})}
    if failures:
        blocks.append(Markdown("Judge failures (unparseable verdicts, excluded from the means and "
                               "counted here): " + ", ".join(f"{m} {n}" for m, n in
                                                             failures.items()) + "."))
    if any(shown.values()):
        blocks.append(Figure(bars(shown, title=f"evaluation, mean and 95% CI over {len(seeds)} "
                                  "seed(s)"), name="metrics"))
    if est and ("over_refusal_rate" in every or set(COST_METRICS) & set(every)):
        blocks += [Heading("Attack success, over-refusal and cost"),
                   cost_table(est, every, len(seeds))]
    if seeds:
        blocks += [Heading("Per seed"), per_seed_table(results, metrics)]
    return blocks


def report_page(results: dict[str, Any]) -> Page:
    """What `scai cai run` leaves as OUT/report.md (and OUT/metrics.png)."""
    seeds = [s["seed"] for s in results.get("seeds") or []]
    links = ", ".join(f"[seed {s}](seed-{s}/model/training.png)" for s in seeds)
    blocks: list[Block] = [Markdown(results["about"])] if results.get("about") else []
    blocks += summary_blocks(results)
    blocks.append(Markdown(f"Training curves: {links}\n\nEvery answer and verdict: "
                           "`seed-K/eval/answers.jsonl`; critique/revision chains: "
                           "`seed-K/data/chains.jsonl`."))
    return Page(f"CAI report: {results.get('name') or 'cai'}", "", blocks)


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
    drawn = {k: v for k, v in panels.items() if v}
    if drawn:
        out_blocks.append(Figure(step_curves(drawn, title="training curves"), name="training",
                                 data=step_data(drawn)))
    return out_blocks


def chain_blocks(out: Path, seed: int) -> list[Block]:
    """The first few critique/revision chains of one seed, each folded under its prompt."""
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
    """The CAI page body: the same summary as report.md, then training curves and chains."""
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
        if results.get("about"):
            blocks.append(Markdown(results["about"]))
        blocks += summary_blocks(results, "Base, SFT and DPO: mean and 95% CI over seeds")
    elif data.info.status == "running":
        blocks.append(Notice("No seed has finished evaluation yet.", "info"))
    blocks += [Heading("Training"), *training_curves(out_dir, seeds)]
    if seeds:
        blocks += [Heading("Critique and revision chains"), *chain_blocks(out_dir, seeds[0])]
    return blocks


def _fmt(v: Any) -> Any:
    return "n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else v


def _amount(v: float | None) -> str:
    """Tokens as whole numbers, seconds to a tenth."""
    return "n/a" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
