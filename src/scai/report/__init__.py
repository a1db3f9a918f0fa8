"""Render once: results and stored runs as pages of blocks, and pages as files or dashboard views.

The path every report takes:
  a feature returns its result -> `report/<kind>.py` turns it into blocks (a `Page`) ->
  `write_files(page, out_dir, markdown="summary.md", html="report.html")` leaves the files a
  command leaves (a `Figure(fig, name="offered_share")` becomes `offered_share.png` beside the
  Markdown), `write_report(page, path)` writes `scai report -o FILE`, and `scai.ui` draws the same
  page with Streamlit. `figures.pyplot()` is the only matplotlib set-up in scai (Agg backend);
  `markdown_to_html(text)` the only Markdown-to-HTML converter.

Modules: `blocks` (block types, `Renderers`), `as_html` / `as_markdown` (one renderer per
block type per output), `export` (files), `figures` (plots), `reader` (the read-only store view),
`generic` (what every run shows), `pages` (a run's page: its kind's blocks, then the generic ones).

Layer policy for `report/<kind>.py` (report sits above the features, below the CLI and ui):
- it may import a feature's data types (result and record models, e.g. `scai.contract.result`),
  never its algorithms (runners, engines, training, model calls), and never `scai.cli`;
- it validates stored payloads through those models; a payload that fails to validate (older or
  newer version, damaged record) is counted, left out, and shown as one `Notice` naming the count;
  it never takes the page down (`pages.run_page` turns a builder's exception into a notice too);
- a page builder takes `(reader, data)` and returns blocks; it is named by the kind's record
  (`Kind.page` in the feature's `kind.py`), not in a list here.
"""

from scai.report.as_html import markdown_to_html, to_html
from scai.report.blocks import Figure, Page
from scai.report.export import write_files, write_report
from scai.report.figures import pyplot
from scai.report.pages import run_page, runs_page, runs_rows
from scai.report.reader import RunData, StoreReader

__all__ = ["Figure", "Page", "RunData", "StoreReader", "markdown_to_html", "pyplot", "run_page",
           "runs_page", "runs_rows", "to_html", "write_files", "write_report"]
