"""Figures, tables and reports from the run store, shared by `scai report` and `scai ui`.

Pure functions from store data to `Page`s of blocks (`blocks.py`); `export.py` writes a page
as self-contained HTML or Markdown, `scai.ui` draws the same page with Streamlit.
"""

from scai.report.blocks import Page
from scai.report.export import to_html, write_report
from scai.report.pages import run_page, runs_page, runs_rows
from scai.report.reader import RunData, StoreReader

__all__ = ["Page", "RunData", "StoreReader", "run_page", "runs_page", "runs_rows", "to_html",
           "write_report"]
