"""What `scai drift` leaves in its folder besides the rounds: report.md and drift.png (one page,
`scai.report.drift.drift_page`, written by `scai.report.export.write_files`) and drift.json."""

from __future__ import annotations

from pathlib import Path

from scai.report.drift import drift_page
from scai.report.export import write_files
from scai.supervise.drift.result import DriftResult


def write_outputs(result: DriftResult, out_dir: Path) -> None:
    """Write report.md and drift.png (none when there is nothing to draw), then drift.json;
    record the report's and the plot's paths in `result`."""
    out_dir = Path(out_dir)
    written = write_files(drift_page(result), out_dir, markdown="report.md")
    png = out_dir / "drift.png"
    result.report = str(out_dir / "report.md")
    result.plot = str(png) if png in written else None
    (out_dir / "drift.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
