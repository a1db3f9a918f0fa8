"""Reading the run store: one resolution of run references, a read-only mode that never writes,
and damage listed rather than fatal for readers that ask for it."""

from __future__ import annotations

import sqlite3

import pytest

from scai.errors import StoreError
from scai.report import StoreReader
from scai.store import RunStore


def _store(tmp_path) -> tuple[RunStore, list[str]]:
    store = RunStore(tmp_path / "runs")
    ids = []
    for n in range(3):
        run = store.create_run("batch", {"kind": "batch", "n": n}, run_id=f"batch-2026-{n}{n}")
        run.log("item", {"n": n}, key=f"k{n}")
        run.finish("completed", summary={"n": n})
        ids.append(run.id)
    return store, ids


def test_references_resolve_the_same_for_the_store_and_the_dashboard(tmp_path):
    store, ids = _store(tmp_path)
    reader = StoreReader(tmp_path / "runs")
    for ref, expected in (("latest", ids[-1]), ("batch-2026-1", ids[1]), (ids[0], ids[0])):
        assert store.resolve(ref) == reader.resolve(ref) == expected
    for source in (store, reader):
        with pytest.raises(StoreError, match="matches 3 runs"):
            source.resolve("batch-")
        with pytest.raises(StoreError, match="no run 'nope'"):
            source.resolve("nope")


def test_read_only_store_refuses_writes_and_creates_nothing(tmp_path):
    with pytest.raises(StoreError, match="no run store at"):
        RunStore(tmp_path / "none", read_only=True)
    assert not (tmp_path / "none").exists()
    _, ids = _store(tmp_path)
    ro = RunStore(tmp_path / "runs", read_only=True)
    assert [r.id for r in ro.list_runs()] == ids[::-1]
    with pytest.raises(StoreError, match="read-only"):
        ro.create_run("batch", {})
    with pytest.raises(StoreError, match="read-only"):
        ro.open_run(ids[0]).log("item", {})
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro._db.execute("DELETE FROM runs")


def test_damage_is_listed_for_readers_and_an_error_for_writers(tmp_path):
    store, ids = _store(tmp_path)
    with sqlite3.connect(tmp_path / "runs" / "scai.sqlite") as db:
        db.execute("UPDATE runs SET summary = '{\"n\": ' WHERE id = ?", (ids[0],))
        db.execute("UPDATE events SET payload = '{\"n\"' WHERE run_id = ?", (ids[1],))
    info, problems = store.read_run(ids[0])
    assert info.summary is None and problems == ["its summary is not readable JSON"]
    with pytest.raises(StoreError, match="is damaged: its summary"):
        store.get(ids[0])
    events, bad = store.read_events(ids[1])
    assert events == [] and bad == ["item #2 (k1)"]
    with pytest.raises(StoreError, match="cannot be read"):
        store.events(ids[1])
    data = StoreReader(tmp_path / "runs").load(ids[1])
    assert "1 event(s) could not be read" in data.problems[0]
