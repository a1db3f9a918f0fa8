# ruff: noqa: F811  (pytest fixtures imported from tests.ui_store are parameters here)
"""`scai report RUN -o FILE`: self-contained HTML and Markdown from real runs; clear errors."""

from __future__ import annotations

import re

import pytest

from scai.report import StoreReader, run_page, to_html
from scai.report.blocks import close_figures
from tests.conftest import scai
from tests.ui_store import ui_env, ui_store  # noqa: F401  (fixtures)

# the shared store is made by real runs of the embedded model (slow on a busy machine)
pytestmark = [pytest.mark.model, pytest.mark.timeout(1800)]


def test_html_report_is_self_contained_with_the_figures_inlined(ui_env, tmp_path):
    run = ui_env.contract[0]
    # a unique prefix of the id is enough (several runs start in the same minute here)
    done = scai("report", run[:-2], "-o", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "r.html").read_text()
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 3  # offered share, acceptance, income
    assert not re.search(r'(src|href)="(https?:|/|\.)', html)  # nothing fetched from elsewhere
    c0 = StoreReader(ui_env.root).load(run).of("constitution")[0].payload["principles"][0]
    assert c0 in html.replace("&#x27;", "'") and "Constitution by epoch" in html


def test_markdown_report_writes_its_pngs_beside_it(ui_env, tmp_path):
    done = scai("report", ui_env.converse, "-o", str(tmp_path / "out" / "talk.md"))
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "out" / "talk.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
    assert linked and all((tmp_path / "out" / name).read_bytes()[:4] == b"\x89PNG"
                          for name in linked)
    assert "**Oversight**" in md or "**Skeptic**" in md or "**Interpretability**" in md
    assert "disagreement" in md


def test_missing_run_or_bad_file_type_is_one_line_and_non_zero(ui_env, tmp_path):
    done = scai("report", "no-such-run", "-o", str(tmp_path / "x.html"))
    assert done.returncode != 0 and "no run 'no-such-run'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    bad = scai("report", ui_env.converse, "-o", str(tmp_path / "x.pdf"))
    assert bad.returncode != 0 and "must end in .html or .md" in bad.stderr
    assert not (tmp_path / "x.html").exists()


def test_every_page_of_the_store_renders_to_html(ui_env):
    """The same pages the dashboard draws: CAI, broken and unknown runs included."""
    reader = StoreReader(ui_env.root)
    expected = {ui_env.cai: "attack_success", ui_env.garbled: "could not be read",
                ui_env.unknown: "Unknown run kind", ui_env.diff: "refuses politely",
                ui_env.no_transcript: "transcript file"}
    for run in reader.list_runs():
        page = run_page(reader, run.id)
        html = to_html(page)
        close_figures(page.blocks)
        assert run.id in html
        if run.id in expected:
            assert expected[run.id] in html, run.id
