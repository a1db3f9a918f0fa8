"""A benchmark run (`scai bench run`) as report blocks, rendered once: report.md and
bench_accuracy.png (written by the command) and the run's dashboard page come from `bench_page`.
"""

from __future__ import annotations

from scai.report.blocks import Block, Figure, Markdown, Page, Table
from scai.report.figures import pyplot
from scai.report.reader import RunData, StoreReader
from scai.report.supervise import result_blocks
from scai.supervise.bench.items import SUBTASK_TITLES
from scai.supervise.bench.result import BenchResult, Score


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _ci(lo: float | None, hi: float | None) -> str:
    return "n/a" if lo is None or hi is None else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def table_rows(result: BenchResult) -> list[tuple[str, Score]]:
    """(label, score) per subtask, then overall."""
    return [*result.per_subtask.items(), ("overall", result.overall)]


def score_table(result: BenchResult) -> Table:
    """Accuracy per subtask (and overall) with its Wilson interval, parse failures and chance."""
    return Table(["subtask", "items", "accuracy (failures wrong)", "95% CI (Wilson)",
                  "accuracy among parsed", "parse failures", "chance", "longest option"],
                 [[name, s.n, _pct(s.mean), _ci(s.ci_low, s.ci_high), _pct(s.parsed_mean),
                   f"{s.parse_failures}/{s.answers}", _pct(s.chance), _pct(s.longest_choice)]
                  for name, s in table_rows(result)])


def accuracy_figure(result: BenchResult):
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


def bench_page(result: BenchResult) -> Page:
    """report.md as a page: what was run, the table, how to read it, the chart."""
    r = result
    ran = (f"Dataset {r.dataset or '(in memory)'}: {r.overall.n} items, {r.samples} sample(s) "
           f"per item at temperature {r.temperature}, seed {r.seed}"
           + (f", run {r.run_id}" if r.run_id else "") + f"; {r.wall_s:.1f} s.")
    return Page(f"Reflectivity benchmark: {r.model}", "", [
        Markdown(ran), score_table(r),
        Markdown("Accuracy counts an unparseable answer as wrong; \"among parsed\" leaves it "
                 "out. Intervals are Wilson 95% score intervals over items. \"longest option\" "
                 "is the accuracy of always choosing the longest choice (multiple-choice items "
                 "only)."),
        Markdown("Subtasks: " + "; ".join(f"`{k}` = {v}" for k, v in SUBTASK_TITLES.items()
                                          if k in r.per_subtask) + "."),
        Markdown("Answers given (all subtasks): " + ", ".join(
            f"{k} {v}" for k, v in r.overall.answer_counts.items()) + "."),
        Figure(accuracy_figure(r), name="bench_accuracy", caption="accuracy per subtask")])


def bench_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The dashboard page of a bench run: the report's page, from its `result` event."""
    return result_blocks(data, BenchResult, bench_page)
