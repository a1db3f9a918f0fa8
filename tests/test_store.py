"""The run store: persistence, resumption after a killed process, export, secrets."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from scai.errors import StoreError
from scai.store import RunStore, export_run
from tests.conftest import scai


def test_runs_and_events_persist_across_store_instances(tmp_path):
    store = RunStore(tmp_path / "s")
    run = store.create_run("batch", {"x": 1}, name="demo")
    run.log("note", {"text": "hello"})
    run.metric("accuracy", 0.5, step=1)
    run.log("model_call", {"model": "m"}, key="prompt=0/sample=0")
    run.log("model_call", {"model": "m", "again": True}, key="prompt=0/sample=0")  # idempotent
    run.finish("completed", summary={"ok": True})
    store.close()

    again = RunStore(tmp_path / "s")
    info = again.get(run.id[:12])  # a unique prefix is enough
    assert info.status == "completed" and info.name == "demo" and info.summary == {"ok": True}
    assert [e.type for e in again.events(run.id)] == ["note", "metric", "model_call"]
    assert again.open_run(run.id).done_keys("model_call") == {"prompt=0/sample=0"}
    assert again.get("latest").id == run.id
    with open(tmp_path / "s" / "scai.sqlite", "rb") as fh:
        assert fh.read(16).startswith(b"SQLite format 3")
    assert (tmp_path / "s" / "scai.sqlite-wal").exists() or True  # WAL may be checkpointed


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no run 'nope'"):
        RunStore(tmp_path).get("nope")


def test_export_formats_round_trip(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run("batch", {})
    run.log("model_call", {
        "model": "local", "messages": [{"role": "user", "content": "2+2?"}],
        "params": {"seed": 1, "temperature": 0.0}, "sample_index": 0, "tags": {"key": "k"},
        "completion": {"text": "4", "usage": {"prompt_tokens": 3, "completion_tokens": 1,
                                               "latency_s": 0.1}, "cached": False},
    }, key="k")
    run.metric("score", 3, step=0)
    run.metric("score", 2.5, step=1)
    jsonl = export_run(store, run.id, "jsonl")
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert rows[0]["prompt"] == "2+2?" and rows[0]["response"] == "4"
    assert rows[0]["completion_tokens"] == 1
    with export_run(store, run.id, "csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert table[0]["response"] == "4" and table[2]["value"] == "2.5"
    parquet = pq.read_table(export_run(store, run.id, "parquet")).to_pylist()
    assert parquet[0]["prompt"] == "2+2?" and [r["value"] for r in parquet[1:]] == [3, 2.5]


BATCH = """\
kind: batch
name: killme
model: {{model: local, concurrency: 1}}
params: {{temperature: 0.8, max_tokens: 48, seed: 11}}
prompts_file: {prompts}
samples: 2
"""


@pytest.mark.model
def test_killed_batch_keeps_its_work_and_resumes(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"Write one sentence about the number {i}." for i in range(8)))
    config = tmp_path / "batch.yaml"
    config.write_text(BATCH.format(prompts=prompts))
    env = {**os.environ, "SCAI_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scai.cli", "batch", str(config), "--no-cache"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    store = RunStore()
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 3:
        time.sleep(0.2)
        runs = store.list_runs()
        if runs:
            done = len(store.events(runs[0].id, "model_call"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = store.list_runs()[0]
    kept = store.events(run.id, "model_call")
    assert 3 <= len(kept) < 16, "the kill must land midway"
    assert store.get(run.id).status == "interrupted"  # its process is gone

    result = scai("batch", str(config), "--resume", run.id, "--no-cache")
    assert result.returncode == 0, result.stderr
    assert f"{16 - len(kept)} calls made, {len(kept)} already done" in result.stdout
    calls = store.events(run.id, "model_call")
    assert sorted(e.key for e in calls) == sorted(
        f"prompt={i}/sample={k}" for i in range(8) for k in range(2)
    )
    assert store.get(run.id).status == "completed"
    assert [e.payload["completion"]["text"] for e in calls[: len(kept)]] == [
        e.payload["completion"]["text"] for e in kept
    ]  # what was done before the kill is untouched
