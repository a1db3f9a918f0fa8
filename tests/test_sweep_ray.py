"""Sweeps on a real local Ray (2 CPUs, shared by these tests) with the embedded model."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from scai.kinds import load_config
from scai.sweep import SweepDir, run_sweep
from tests.conftest import REPO, scai

pytestmark = pytest.mark.ray

CONTRACT = REPO / "examples" / "contract" / "ultimatum.yaml"
# One game per run, no learning: a run is one or two short calls to the embedded model.
TINY = ('set: [epochs=1, "task.pairs={mixed: 1}", task.messages=false, learner.type=none, '
        "params.max_tokens=16]\n")


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray with 2 CPUs for the whole module (starting Ray takes 10-20 s)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def sweep_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"kind: sweep\nname: t\nbase: {CONTRACT}\n{TINY}{body}")
    return path


@pytest.mark.model
def test_each_worker_loads_the_embedded_model_once(tmp_path, ray_cluster):
    cfg = load_config(sweep_file(tmp_path, "grid: {params.temperature: [0.2, 1.0]}\nseeds: 2\n"))
    s = run_sweep(cfg, tmp_path / "sw", max_parallel=2, progress=False)
    assert len(s.done) == 4 and not s.failed and s.workers == 2
    records = SweepDir(tmp_path / "sw").records()
    assert [r.status for r in records] == ["done"] * 4
    loads, runs = defaultdict(list), defaultdict(int)
    for r in records:
        loads[r.pid] += r.model_loads
        runs[r.pid] += 1
        assert r.metrics["games"] == 1 and "acceptance" in r.metrics
        assert r.tokens["calls"] >= 1
    # Four runs on two long-lived worker processes; each loaded the model exactly once.
    assert len(loads) == 2 and sum(runs.values()) == 4
    assert all(v == ["SmolLM2-135M-Instruct.Q4_1.gguf:ctx4096"] for v in loads.values()), loads
    # Each run has its own folder with its own store and outputs.
    one = tmp_path / "sw" / "runs" / "temperature=0.2_seed=0"
    assert (one / "store" / "scai.sqlite").is_file() and (one / "out" / "metrics.json").is_file()
    assert "temperature: 0.2" in (one / "config.yaml").read_text()


@pytest.mark.model
def test_a_failing_run_is_retried_then_reported_and_the_others_finish(tmp_path, ray_cluster):
    cfg = load_config(sweep_file(tmp_path, "variants: [{model.model: local}, "
                                           "{model.model: 'local:/nowhere/x.gguf'}]\nretries: 2\n"))
    s = run_sweep(cfg, tmp_path / "sw", max_parallel=2, progress=False)
    assert len(s.done) == 1 and len(s.failed) == 1
    bad = s.failed[0]
    assert bad.attempts == 3 and "model file not found: /nowhere/x.gguf" in bad.error
    failed = json.loads((tmp_path / "sw" / "runs" / bad.name / "failed.json").read_text())
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert not (tmp_path / "sw" / "runs" / bad.name / "done.json").exists()
    # Run again: the finished run is skipped, the failed one tried again (and fails again).
    again = run_sweep(cfg, tmp_path / "sw", max_parallel=2, progress=False)
    assert again.already_done == 1 and len(again.failed) == 1 and not again.done


def _wait_for(path_glob, root: Path, proc: subprocess.Popen, timeout: float = 150) -> list[Path]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list(root.glob(path_glob))
        if found:
            return found
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    raise AssertionError(f"nothing matched {path_glob} in {timeout} s")


@pytest.mark.model
def test_killed_sweep_resumes_only_the_missing_runs_and_reports(tmp_path, ray_cluster):
    path = sweep_file(tmp_path, "grid: {params.temperature: [0.2, 1.0]}\nseeds: [0]\n")
    out = tmp_path / "sw"
    # Join the tests' cluster, one worker: the runs go one after the other.
    proc = subprocess.Popen(
        [sys.executable, "-m", "scai.cli", "sweep", str(path), "--out", str(out), "--ray",
         ray_cluster, "--max-parallel", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    first = _wait_for("runs/*/done.json", out, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(first) == 1
    done_first = first[0].read_text()
    names = {p.name for p in (out / "runs").iterdir()}
    # Resume on a fresh local Ray of its own (no --ray): only the missing run executes.
    r = scai("sweep", str(path), "--out", str(out), "--max-parallel", "1")
    assert r.returncode == 0, r.stderr
    assert "2 runs, 1 already done, 1 run now" in r.stdout and "1 finished, 0 failed" in r.stdout
    assert first[0].read_text() == done_first  # the finished run was not run again
    done = sorted(p.parent.name for p in out.glob("runs/*/done.json"))
    assert done == ["temperature=0.2_seed=0", "temperature=1.0_seed=0"] and names <= set(done)

    r = scai("sweep-report", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / "report" / "results.csv")))
    assert [(row["params.temperature"], row["seed"], row["status"]) for row in rows] == [
        ("0.2", "0", "done"), ("1.0", "0", "done")]
    assert all(row["games"] == "1.0" and row["acceptance"] != "" for row in rows)
    assert (out / "report" / "acceptance.png").stat().st_size > 5000
    assert "| 0.2 | 1 |" in (out / "report" / "results.md").read_text()


def _server_sweep(tmp_path: Path, url: str, limit: str, out: str):
    base = tmp_path / "batch.yaml"
    base.write_text(f"kind: batch\nmodel: {{model: 'openai-compat:{url}#fault-model', "
                    "concurrency: 8}\nparams: {seed: 0, max_tokens: 8}\n"
                    "prompts: [a, b, c, d, e, f]\n")
    path = tmp_path / f"{out}.yaml"
    path.write_text(f"kind: sweep\nname: {out}\nbase: {base}\nseeds: 4\nruns_per_worker: 2\n"
                    f"cache: false\n{limit}")
    return run_sweep(load_config(path), tmp_path / out, max_parallel=2, progress=False)


def test_a_server_gets_at_most_max_concurrency_requests_from_the_whole_sweep(
        tmp_path, ray_cluster):
    from tests.faultserver import FaultServer

    # 4 runs x 6 prompts, each run willing to send 8 at once, on 2 workers x 2 runs each.
    with FaultServer(delay=0.25) as server:
        s = _server_sweep(tmp_path, server.url, "max_concurrency: 3\n", "limited")
        assert len(s.done) == 4 and server.max_in_flight == 3  # the limit, and kept full
        assert all(r.metrics["calls_made"] == 6 for r in s.done)
        assert len(server.requests) == 24
        server.max_in_flight = 0
        s = _server_sweep(tmp_path, server.url, "", "unlimited")
        assert len(s.done) == 4 and server.max_in_flight > 3  # what the limit prevented


@pytest.mark.model
def test_ctrl_c_stops_the_sweep_cleanly_and_keeps_finished_runs(tmp_path, ray_cluster):
    path = sweep_file(tmp_path, "grid: {params.temperature: [0.2, 0.6, 1.0]}\ncache: false\n")
    out = tmp_path / "sw"
    # Ctrl-C reaches Python as KeyboardInterrupt even where this test runs with SIGINT ignored.
    boot = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = ['scai', *sys.argv[1:]]; runpy.run_module('scai.cli', run_name='__main__')")
    proc = subprocess.Popen(
        [sys.executable, "-c", boot, "sweep", str(path), "--out", str(out), "--ray",
         ray_cluster, "--max-parallel", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    _wait_for("runs/*/done.json", out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted; finished runs are kept" in err and "Traceback" not in err
    done = list(out.glob("runs/*/done.json"))
    assert 1 <= len(done) < 3
    assert json.loads(done[0].read_text())["status"] == "done"
