"""What `scai bench run` leaves behind: results.json, answers.jsonl, and one page written by
`scai.report.export.write_files` (report.md and the bar chart bench_accuracy.png)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from scai.report.blocks import Figure, Markdown, Page
from scai.report.export import write_files
from scai.report.figures import pyplot
from scai.supervise.bench.answer import ItemAnswer
from scai.supervise.bench.items import SUBTASK_TITLES, BenchItem
from scai.supervise.bench.result import BenchResult, Score


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _ci(lo: float | None, hi: float | None) -> str:
    return "n/a" if lo is None else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def table_rows(result: BenchResult) -> list[tuple[str, Score]]:
    """(label, score) per subtask, then overall."""
    return [*result.per_subtask.items(), ("overall", result.overall)]


def markdown_table(result: BenchResult) -> str:
    """The per-subtask table of report.md (also printed in docs)."""
    head = ("| subtask | items | accuracy (failures wrong) | 95% CI (Wilson) | accuracy among "
            "parsed | parse failures | chance | longest option |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = [f"| {name} | {s.n} | {_pct(s.mean)} | {_ci(s.ci_low, s.ci_high)} | "
            f"{_pct(s.parsed_mean)} | {s.parse_failures}/{s.answers} | {_pct(s.chance)} | "
            f"{_pct(s.longest_choice)} |" for name, s in table_rows(result)]
    return head + "\n".join(rows) + "\n"


def plot(result: BenchResult):
    """Bar chart: accuracy per subtask with its 95% CI and the chance level marked."""
    plt = pyplot()
    rows = table_rows(result)
    names = [n for n, _ in rows]
    means = [s.mean or 0.0 for _, s in rows]
    err = [[(s.mean or 0) - (s.ci_low or 0) for _, s in rows],
           [(s.ci_high or 0) - (s.mean or 0) for _, s in rows]]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = range(len(rows))
    ax.bar(x, means, yerr=err, capsize=4, color=["#4c72b0"] * (len(rows) - 1) + ["#55a868"])
    for i, (_, s) in enumerate(rows):
        if s.chance is not None:
            ax.hlines(s.chance, i - 0.4, i + 0.4, colors="#c44e52", linestyles="--",
                      label="chance" if i == 0 else None)
    ax.set_xticks(list(x), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (parse failures = wrong)")
    ax.set_title(f"{result.model}: reflectivity benchmark, 95% Wilson CI "
                 f"({result.overall.n} items, {result.samples} sample(s))", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def report_page(result: BenchResult) -> Page:
    """report.md as a page: what was run, the table, how to read it, the chart."""
    r = result
    ran = (f"Dataset {r.dataset or '(in memory)'}: {r.overall.n} items, {r.samples} sample(s) "
           f"per item at temperature {r.temperature}, seed {r.seed}"
           + (f", run {r.run_id}" if r.run_id else "") + f"; {r.wall_s:.1f} s.")
    return Page(f"Reflectivity benchmark: {r.model}", "", [
        Markdown(ran), Markdown(markdown_table(r)),
        Markdown("Accuracy counts an unparseable answer as wrong; \"among parsed\" leaves it "
                 "out. Intervals are Wilson 95% score intervals over items. \"longest option\" "
                 "is the accuracy of always choosing the longest choice (multiple-choice items "
                 "only)."),
        Markdown("Subtasks: " + "; ".join(f"`{k}` = {v}" for k, v in SUBTASK_TITLES.items()
                                          if k in r.per_subtask) + "."),
        Markdown("Answers given (all subtasks): " + ", ".join(
            f"{k} {v}" for k, v in r.overall.answer_counts.items()) + "."),
        Figure(plot(r), name="bench_accuracy", caption="accuracy per subtask")])


def write_outputs(result: BenchResult, items: Sequence[BenchItem],
                  answers: Sequence[ItemAnswer], folder: Path) -> None:
    """Write results.json, answers.jsonl, and the page: report.md and bench_accuracy.png."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(
        json.dumps(result.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    order = {it.id: i for i, it in enumerate(items)}
    with (folder / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for a in sorted(answers, key=lambda a: (order.get(a.item_id, 1 << 30), a.sample)):
            fh.write(a.model_dump_json() + "\n")
    write_files(report_page(result), folder, markdown="report.md")
