"""Fast checks of `scai ui` / `scai report` plumbing that need no model: errors, the Streamlit
command line, the read-only reader on a damaged store, and self-contained export."""

from __future__ import annotations

import sqlite3

from scai.report import StoreReader, run_page, to_html, write_report
from scai.store import RunStore
from scai.ui.server import streamlit_command
from tests.conftest import scai


def test_ui_and_report_without_a_store_are_one_line_errors(tmp_path):
    for args in (["ui", "--runs-dir", str(tmp_path / "none")],
                 ["report", "latest", "--runs-dir", str(tmp_path / "none")]):
        done = scai(*args, timeout=120)
        assert done.returncode != 0 and "no run store at" in done.stderr, args
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "none").exists()  # looking did not create a store


def test_streamlit_listens_on_localhost_headless_without_telemetry():
    cmd = streamlit_command(8600, "127.0.0.1")
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8600"
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"


def test_damaged_store_reads_what_it_can_and_reports_exports_it(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create_run("contract", {"kind": "contract", "name": "t"}, name="t")
    run.log("constitution", {"principles": ["Share fairly with everyone."], "epoch": 0}, key="c0")
    run.log("epoch", {"epoch": 0, "metrics": {"share_flexible": 0.5, "share_fixed": 0.9}},
            key="e0")
    run.log("episode", {"id": "e0-g0"}, key="e0-g0")
    run.finish("completed")
    with sqlite3.connect(tmp_path / "runs" / "scai.sqlite") as db:
        db.execute("UPDATE events SET payload = '{\"id\": \"e0' WHERE key = 'e0-g0'")
    reader = StoreReader(tmp_path / "runs")
    data = reader.load(run.id)
    assert [e.key for e in data.events] == ["c0", "e0"]
    assert "1 event(s) could not be read" in data.problems[0]
    page = run_page(reader, run.id)
    html = to_html(page)
    assert "Share fairly with everyone." in html and "could not be read" in html
    assert "data:image/png;base64," in html  # the offered-share curve, inlined
    files = write_report(run_page(reader, run.id), tmp_path / "r.md")
    assert files[0].read_text().count("](r-0") >= 1 and all(f.exists() for f in files)


def test_the_dashboard_draws_every_block_type():
    from scai.ui.render import streamlit_of

    assert streamlit_of.missing() == []


def test_kind_filter_and_page_titles_come_from_the_kind_records(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from scai.report.pages import kind_label
    from tests.conftest import REPO

    store = RunStore(tmp_path / "runs")
    for kind in ("mystery", "contract-eval", "converse"):
        store.create_run(kind, {"kind": kind}).finish("completed")
    monkeypatch.setenv("SCAI_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(REPO / "src/scai/ui/app.py"), default_timeout=60).run()
    assert not at.exception
    choices = at.multiselect[0].options
    assert choices == [kind_label("converse"), kind_label("contract-eval"), "mystery"]
    assert choices[1] == "Constitution evaluation (contract-eval)"
    at.multiselect[0].select("contract-eval").run()
    assert set(at.dataframe[0].value["kind"]) == {"contract-eval"}
    run = store.list_runs(kind="contract-eval")[0].id
    page = run_page(StoreReader(tmp_path / "runs"), run)
    assert page.title == f"Constitution evaluation run {run}"
    assert "Unknown run kind" not in to_html(page)


def test_a_page_view_that_cannot_load_is_a_notice_not_a_crash(tmp_path):
    from scai.report.pages import kind_blocks

    store = RunStore(tmp_path / "runs")
    store.create_run("contract", {"kind": "contract"}).finish("completed")
    data = StoreReader(tmp_path / "runs").load("latest")

    def missing():
        raise AttributeError("module 'scai.report.x' has no attribute 'x_blocks'")

    (notice,) = kind_blocks(missing, None, data)
    assert notice.level == "error" and "x_blocks" in notice.text and "generic view" in notice.text
