"""Merge a sweep's runs into one table and plot every metric against every swept parameter.

`report/results.csv` has one row per run (parameters, seed, status, every scalar metric);
`report/results.md` adds the mean and 95% CI over seeds per grid point; `report/<metric>.png`
plots the metric against each swept parameter (one line per setting of the other parameters),
with Student-t 95% CIs over seeds (scai.stats.mean_ci).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.stats import mean_ci
from scai.sweep.layout import RunRecord, SweepDir

MAX_LINES = 6  # more settings of the other parameters than this: pool them into one line


class SweepReport(BaseModel):
    """What `write_report` wrote."""

    runs: int
    failed: int
    missing: int
    metrics: list[str]
    csv: str
    markdown: str
    plots: list[str]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def _full(value: float | None) -> str:
    return "" if value is None else repr(value)


def _param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_report(folder: Path | str) -> SweepReport:
    """Write `report/` inside a sweep folder from every finished run found there."""
    sweep = SweepDir(folder)
    plan = sweep.load_plan()
    records = sweep.records()
    done = [r for r in records if r.status == "done"]
    metrics = sorted({m for r in done for m in r.metrics})
    out = sweep.root / "report"
    out.mkdir(parents=True, exist_ok=True)
    header = ["run", "status", *plan.params, "seed", *metrics, "error"]
    rows = [[r.name, r.status, *(_param(r.params.get(p)) for p in plan.params), str(r.seed),
             *(_full(r.metrics.get(m)) for m in metrics), r.error or ""] for r in records]
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    md_path = out / "results.md"
    md_path.write_text(_markdown(plan.name, plan.params, metrics, records, done,
                                 len(plan.runs)), encoding="utf-8")
    plots = [str(p) for m in metrics if (p := _plot(m, plan.params, done, out)) is not None]
    return SweepReport(runs=len(records), failed=len(records) - len(done),
                       missing=len(plan.runs) - len(records), metrics=metrics, csv=str(csv_path),
                       markdown=str(md_path), plots=plots)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|") for c in row] for row in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in esc)]


def _markdown(name: str, params: list[str], metrics: list[str], records: list[RunRecord],
              done: list[RunRecord], planned: int) -> str:
    lines = [f"# Sweep {name}", "",
             f"{len(done)} of {planned} runs finished, {len(records) - len(done)} failed.", ""]
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for r in done:
        groups[json.dumps([r.params.get(p) for p in params])].append(r)
    if groups:
        lines += ["## Mean and 95% CI over seeds", ""]
        rows = []
        for key, runs in groups.items():
            values = json.loads(key)
            rows.append([*(_param(v) for v in values), str(len(runs)),
                         *(mean_ci([r.metrics.get(m) for r in runs]).fmt(3) for m in metrics)])
        lines += _table([*params, "seeds", *metrics], rows) + [""]
    lines += ["## Every run", ""]
    rows = [[r.name, r.status, *(_param(r.params.get(p)) for p in params), str(r.seed),
             *(_cell(r.metrics.get(m)) for m in metrics), (r.error or "")[:120]]
            for r in records]
    lines += _table(["run", "status", *params, "seed", *metrics, "error"], rows)
    return "\n".join(lines) + "\n"


def _plot(metric: str, params: list[str], done: list[RunRecord], out: Path) -> Path | None:
    if not params or not any(metric in r.metrics for r in done):
        return None
    from scai.report.figures import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.4), squeeze=False)
    for ax, param in zip(axes[0], params, strict=True):
        others = [p for p in params if p != param]
        # by their JSON: a swept value may be a list or a mapping (task.currencies, task.groups)
        xs = list({json.dumps(r.params.get(param)): r.params.get(param) for r in done}.values())
        numeric = all(_is_number(x) for x in xs)
        xs = sorted(xs) if numeric else xs
        lines: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        settings = {json.dumps([r.params.get(p) for p in others]) for r in done}
        pooled = len(settings) > MAX_LINES
        for r in done:
            value = r.metrics.get(metric)
            if value is None:
                continue
            label = ("all" if pooled or not others else
                     ", ".join(f"{p.split('.')[-1]}={_param(r.params.get(p))}" for p in others))
            lines[label][json.dumps(r.params.get(param))].append(value)
        for i, (label, by_x) in enumerate(sorted(lines.items())):
            pts = [(x, mean_ci(by_x[json.dumps(x)])) for x in xs if json.dumps(x) in by_x]
            pos = [x if numeric else xs.index(x) for x, _ in pts]
            # Nudge lines sideways a little so their error bars do not hide each other.
            shift = 0 if numeric else (i - (len(lines) - 1) / 2) * 0.06
            means = [e.mean for _, e in pts]
            low = [e.mean - e.ci_low if e.ci_low is not None else 0 for _, e in pts]
            high = [e.ci_high - e.mean if e.ci_high is not None else 0 for _, e in pts]
            ax.errorbar([p + shift for p in pos], means, yerr=[low, high], marker="o",
                        capsize=3, label=label if label != "all" else None)
        if not numeric:
            ax.set_xticks(range(len(xs)), [_param(x) for x in xs], rotation=20)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if any(label != "all" for label in lines) and len(lines) > 1:
            ax.legend(fontsize=7)
    fig.suptitle(f"{metric} (mean and 95% CI over seeds)", fontsize=10)
    fig.tight_layout()
    path = out / f"{re.sub(r'[^A-Za-z0-9.=_-]+', '_', metric)}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
