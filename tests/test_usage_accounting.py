"""A run's call accounting (issue 16): calls made vs answered from the response cache, prompt
tokens reused from cached prefixes vs evaluated, time in the model, as `scai runs show`, the
dashboard, the export and a sweep read it. No model: the store is written by hand."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from scai.report import StoreReader
from scai.store import RunStore, RunUsage, export_run
from tests.conftest import scai


def call(prompt: int, completion: int, latency: float, reused: int | None = None, *,
         hit: bool = False, score: bool = False, cost: float | None = None) -> dict:
    """A `model_call` payload as the client's call logger writes it (`reused=None`: a call
    recorded before reuse was counted, without the field)."""
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "latency_s": latency,
             "cost_usd": cost}
    if reused is not None:
        usage["cached_tokens"] = reused
    return {"model": "local", "messages": [{"role": "user", "content": "hi"}], "params": {},
            "sample_index": 0, "tags": {"score": 2} if score else {},
            "completion": {"text": "ok", "usage": usage, "cached": hit}}


@pytest.fixture
def store(tmp_path) -> RunStore:
    """Two runs: `new` (reuse counted, a cache hit, a score, a failure, a garbled record) and
    `old` (recorded before reuse was counted)."""
    store = RunStore(tmp_path / "runs")
    new = store.create_run("batch", {}, run_id="new")
    new.log("model_call", call(30_000, 1_500, 20.0, 25_000), key="a")
    new.log("model_call", call(13_925, 570, 18.0, 10_580), key="b")
    new.log("model_call", call(30_000, 1_500, 20.0, 25_000, hit=True), key="a-again")
    new.log("model_call", call(2_000, 0, 0.25, 1_500, score=True), key="s")
    new.log("model_error", {"model": "local", "error": "timed out", "tags": {}})
    new.log("model_call", call(9, 9, 9.0, 9), key="garbled")
    new.log("metric", {"name": "x", "value": 1.0})
    new.finish("completed")
    old = store.create_run("batch", {}, run_id="old")
    old.log("model_call", call(400, 40, 1.5), key="a")
    old.log("model_call", call(600, 60, 2.5), key="b")
    old.finish("completed")
    store.create_run("batch", {}, run_id="idle").finish("completed")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE events SET payload = '{\"completion\": {\"us' WHERE key = 'garbled'")
    return store


NEW = RunUsage(calls=3, cache_hits=1, failures=1, unreadable=1, prompt_tokens=45_925,
               reused_tokens=37_080, completion_tokens=2_070, model_s=38.25, reuse_reported=3)
NEW_LINE = ("model calls 3 (+1 from cache), prompt 45,925 tokens (81% reused from cached "
            "prefixes), completion 2,070 tokens, 38.2 s of call time (summed over calls), 1 failed, 1 unreadable "
            "call record(s) left out")


def test_the_store_sums_calls_made_apart_from_cache_hits_and_skips_garbled_records(store):
    usage = store.usage()
    assert set(usage) == {"new", "old"}  # a run without model calls is absent
    assert usage["new"] == NEW
    assert NEW.evaluated_tokens == 8_845 and NEW.reuse_rate == pytest.approx(37_080 / 45_925)
    assert usage["old"] == RunUsage(calls=2, prompt_tokens=1_000, completion_tokens=100,
                                    model_s=4.0)
    assert usage["old"].reuse_rate is None  # unknown, not 0%
    assert store.run_usage("idle") == RunUsage()
    reader = StoreReader(store.root)  # the dashboard's read-only view reads the same
    assert reader.usage() == usage and reader.run_usage("new") == NEW


def test_the_one_line_summary_omits_reuse_where_no_call_reports_it(store):
    assert store.run_usage("new").line() == NEW_LINE
    assert store.run_usage("old").line() == ("model calls 2, prompt 1,000 tokens, completion "
                                             "100 tokens, 4.0 s of call time (summed over calls)")
    priced = RunUsage(calls=1, prompt_tokens=10, completion_tokens=2, model_s=0.5,
                      cost_usd=0.00123, reuse_reported=1)
    assert priced.line() == ("model calls 1, prompt 10 tokens (0% reused from cached prefixes), "
                             "completion 2 tokens, 0.5 s of call time (summed over calls), $0.0012")


def test_runs_show_prints_the_usage_line(store):
    shown = scai("runs", "show", "new", "--runs-dir", str(store.root), timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert NEW_LINE in shown.stdout.splitlines()
    assert "1 event(s) cannot be read and are left out: model_call #6 (garbled)" in shown.stdout
    old = scai("runs", "show", "old", "--runs-dir", str(store.root), timeout=120).stdout
    assert "model calls 2, prompt 1,000 tokens, completion 100 tokens" in old
    assert "reused" not in old
    idle = scai("runs", "show", "idle", "--runs-dir", str(store.root), timeout=120).stdout
    assert "model calls" not in idle


def test_the_run_page_shows_the_same_numbers(store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    monkeypatch.setenv("SCAI_RUNS_DIR", str(store.root))
    at = AppTest.from_file(str(REPO / "src/scai/ui/app.py"), default_timeout=60)
    at.query_params["run"] = "new"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Model calls" in [h.value for h in at.header]
    row = next(d.value for d in at.dataframe if "reuse rate" in d.value.columns).iloc[0]
    assert row.to_dict() == {
        "model calls": 3, "from response cache": 1, "prompt tokens": 45_925, "reused": 37_080,
        "evaluated": 8_845, "reuse rate": "81%", "completion tokens": 2_070, "model s": 38.2,
        "failed": 1}
    assert any("1 unreadable call record(s)" in c.value for c in at.caption)
    runs = AppTest.from_file(str(REPO / "src/scai/ui/app.py"), default_timeout=60).run()
    tokens = dict(zip(runs.dataframe[0].value["id"], runs.dataframe[0].value["tokens"]))
    assert tokens == {"new": 47_995, "old": 1_100, "idle": 0}  # the calls made, hits apart


def test_an_old_run_page_says_reuse_was_not_counted(store):
    from scai.report import run_page, to_html

    html = to_html(run_page(StoreReader(store.root), "old"))
    assert "do not report prompt-prefix reuse" in html and "81%" not in html
    assert "Model calls" not in to_html(run_page(StoreReader(store.root), "idle"))


def test_export_has_the_cached_tokens_column(store):
    with export_run(store, "old", "csv").open() as fh:
        assert [r["cached_tokens"] for r in csv.DictReader(fh)] == ["", ""]
    run = store.create_run("batch", {}, run_id="fresh")
    run.log("model_call", call(100, 5, 0.1, 64), key="a")
    with export_run(store, "fresh", "csv").open() as fh:
        (row,) = csv.DictReader(fh)
    assert row["prompt_tokens"] == "100" and row["cached_tokens"] == "64"


def test_a_sweep_run_reports_its_reused_tokens(store):
    from scai.sweep.work import _tokens

    assert _tokens(store) == {"prompt": 46_925, "reused": 37_080, "completion": 2_170,
                              "calls": 6, "cached_calls": 1}
