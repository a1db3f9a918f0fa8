"""What `scai bench run` leaves behind: results.json, answers.jsonl, and the report page
(`scai.report.bench.bench_page`: report.md and the bar chart bench_accuracy.png), written once
by `scai.report.export.write_files`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from scai.report.bench import bench_page
from scai.report.export import write_files
from scai.supervise.bench.answer import ItemAnswer
from scai.supervise.bench.items import BenchItem
from scai.supervise.bench.result import BenchResult


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
    write_files(bench_page(result), folder, markdown="report.md")
