# ruff: noqa: F811  (pytest fixtures imported from tests.ui_store are parameters here)
"""Every dashboard page, driven by Streamlit's own app tester over a store of real runs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from scai.report.reader import StoreReader
from tests.ui_store import ui_env, ui_store  # noqa: F401  (fixtures)

APP = "src/scai/ui/app.py"
# the shared store is made by real runs of the embedded model (slow on a busy machine)
pytestmark = [pytest.mark.model, pytest.mark.timeout(1800)]


def page(run: str | None = None) -> AppTest:
    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / APP), default_timeout=90)
    if run:
        at.query_params["run"] = run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything a reader sees as text on the page."""
    parts = [m.value for m in at.markdown] + [t.value for t in at.title]
    parts += [c.value for c in at.caption] + [c.value for c in at.code]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [h.value for h in at.header] + [s.value for s in at.subheader]
    parts += [x.label for x in at.expander]
    return "\n".join(parts)


def table_text(at: AppTest) -> str:
    return "\n".join(d.value.to_csv() for d in at.dataframe)


def test_runs_page_lists_every_run_with_tokens_and_filters(ui_env):
    at = page()
    assert at.title[0].value == "Runs"
    table = at.dataframe[0].value
    assert set(ui_env.contract) | {ui_env.converse, ui_env.cai} <= set(table["id"])
    assert {"kind", "status", "started", "tokens", "cost_usd", "page"} <= set(table.columns)
    row = table[table["id"] == ui_env.converse].iloc[0]
    assert row["tokens"] > 0 and row["page"] == f"?run={ui_env.converse}"
    at.multiselect[0].select("converse").run()
    kinds = set(at.dataframe[0].value["kind"])
    assert kinds == {"converse"}


def test_contract_page_shows_constitutions_diffs_curves_and_episodes(ui_env):
    run = ui_env.contract[1]
    at = page(run)
    shown = texts(at)
    c0 = StoreReader(ui_env.root).load(run).of("constitution")[0].payload["principles"][0]
    assert c0 in shown  # the epoch-0 constitution as a user reads it
    assert "Epoch 1 · rewrite" in shown and "Diff to the previous constitution" in shown
    assert "one of 2 runs of the same invocation" in shown
    assert len(at.image) >= 3  # offered share, acceptance, income (mean and CI over seeds)
    assert any(label.startswith("epoch 0") for label in [t.label for t in at.tabs])
    assert "Assistant" in shown  # an episode's lines name the assistant


def test_converse_page_shows_chat_agent_views_and_judge(ui_env):
    at = page(ui_env.converse)
    speakers = {m.name for m in at.chat_message}
    assert speakers and speakers <= {"Interpretability", "Oversight", "Skeptic", "moderator"}
    assert {t.label for t in at.tabs} >= {"Interpretability", "Oversight", "Skeptic"}
    shown = texts(at)
    assert "could see" in shown and "The exact prompt of" in shown
    assert "disagreement" in table_text(at)  # the judge's scores
    assert "Model calls" in [h.value for h in at.header]  # evaluated vs reused prompt tokens
    usage = next(d.value for d in at.dataframe if "reuse rate" in d.value.columns).iloc[0]
    assert usage["model calls"] > 0 and usage["reuse rate"].endswith("%")
    assert usage["reused"] + usage["evaluated"] == usage["prompt tokens"]
    assert len(at.image) >= 1


def test_cai_page_shows_metric_table_curves_and_chains(ui_env):
    at = page(ui_env.cai)
    shown = texts(at)
    assert "Base, SFT and DPO" in shown and "Critique and revision chains" in shown
    metrics = table_text(at)
    assert "attack_success" in metrics and "(n=2)" in metrics  # mean and CI over two seeds
    assert len(at.image) >= 2  # the metric bars and the training curves
    assert any("First answer" in m.value for m in at.markdown)


@pytest.mark.parametrize("which, message", [
    ("garbled", "could not be read (garbled or truncated JSON)"),
    ("no_transcript", "is missing; showing the statements from the run's step events"),
    ("unknown", "Unknown run kind 'mystery'"),
    ("interrupted", "Interrupted: the run stopped before finishing"),
])
def test_broken_runs_say_what_is_wrong_instead_of_crashing(ui_env, which, message):
    at = page(getattr(ui_env, which))
    assert message in texts(at)


def test_garbled_run_still_shows_what_is_readable(ui_env):
    at = page(ui_env.garbled)
    shown = texts(at)
    assert "Epoch 0 · prior" in shown  # c0 is intact; c1 was truncated and is left out
    assert "Epoch 1 · rewrite" not in shown


def test_supervise_results_render_as_tables_curves_and_images(ui_env):
    at = page(ui_env.diff)
    assert "refuses politely" in table_text(at) and "-0.50 [-0.70, -0.30]" in table_text(at)
    assert "short vs long" in texts(at)
    assert len(at.image) >= 1  # the map_png named in the result
    at = page(ui_env.bench)
    assert "value_stability" in table_text(at) and len(at.image) >= 1
    at = page(ui_env.drift)
    assert "Drift by round" in texts(at) and len(at.image) >= 1  # one figure: distance, shift, bench


def test_a_kind_without_its_own_page_gets_the_generic_one(ui_env):
    at = page(ui_env.unknown)
    assert "answer" in table_text(at) and "42" in table_text(at)  # the result event as a table
    assert "knob" in texts(at)  # its config


def test_running_run_offers_live_refresh(ui_env):
    at = page(ui_env.running)
    assert at.toggle and at.toggle[0].value is True
    assert "Running:" in texts(at)


def test_missing_run_and_missing_store_are_one_clear_message(ui_env, tmp_path, monkeypatch):
    at = page("no-such-run")
    assert "no run 'no-such-run'" in texts(at)
    monkeypatch.setenv("SCAI_RUNS_DIR", str(tmp_path / "empty"))
    at = page()
    assert "no run store at" in texts(at)


def test_dashboard_never_writes_to_the_store(ui_env):
    db = ui_env.root / "scai.sqlite"
    before = (db.stat().st_mtime_ns, db.stat().st_size)
    page()
    page(ui_env.contract[0])
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before
    reader = StoreReader(ui_env.root)
    with pytest.raises(Exception, match="readonly"):
        reader.store._db.execute("DELETE FROM runs")
    with pytest.raises(Exception, match="read-only"):
        reader.store.create_run("contract", {})
