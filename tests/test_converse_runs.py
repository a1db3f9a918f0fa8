"""Converse runs end to end: files written, aggregates, resume after a kill, the real model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scai.converse import run_converse
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.converse_script import AgentScript
from tests.faultserver import FaultServer
from tests.killable import events_of_first_run, run_and_kill

SCENARIO = """\
kind: converse
name: tiny
model: {{model: "{model}", concurrency: 2}}
params: {{max_tokens: 16}}
rounds: {rounds}
agents:
  - {{name: A, persona: First.}}
  - {{name: B, persona: Second.}}
{judges}
"""
JUDGES = """\
judges:
  - name: j
    metrics:
      - {name: disagreement, description: how much they disagreed, min: 1, max: 5}
"""


def write(tmp_path, model="local", rounds=2, judges=JUDGES) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO.format(model=model, rounds=rounds, judges=judges))
    return path


def test_many_runs_write_transcripts_judgements_aggregate_and_plot(tmp_path):
    config = load_config(write(tmp_path))
    result = run_converse(config, RunStore(), runs=3, out_dir=tmp_path / "out", progress=False,
                          backend=AgentScript())
    assert [r.seed for r in result.runs] == [0, 1, 2]
    for i in range(3):
        run_dir = tmp_path / "out" / f"run-{i}"
        text = (run_dir / "transcript.md").read_text()
        assert "### Round 2" in text and "**B**" in text and "## Judge: j" in text
        assert json.loads((run_dir / "judgement.json").read_text())[0]["scores"] == {"disagreement": 5}
    agg = json.loads((tmp_path / "out" / "aggregate.json").read_text())
    assert agg["aggregate"]["j.disagreement"]["n"] == 3 and agg["judge_failures"] == {"j": 0}
    png = tmp_path / "out" / "aggregate.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    runs = RunStore().list_runs(kind="converse")
    assert len(runs) == 3 and all(r.status == "completed" for r in runs)


def test_judge_failures_are_counted_not_defaulted(tmp_path):
    result = run_converse(load_config(write(tmp_path)), RunStore(), runs=2,
                          out_dir=tmp_path / "out", progress=False,
                          backend=AgentScript(judge="the vibes were a 4"))
    assert result.judge_failures == {"j": 2}
    assert result.aggregate["j.disagreement"].n == 0 and result.aggregate["j.disagreement"].mean is None
    assert "Scores could not be parsed" in (tmp_path / "out/run-0/transcript.md").read_text()


def test_killed_conversation_resumes_without_redoing_steps(tmp_path):
    with FaultServer(delay=0.15) as server:
        path = write(tmp_path, model=f"openai-compat:{server.url}#m", rounds=10, judges="")
        store = RunStore()
        run_and_kill([sys.executable, "-m", "scai.cli", "converse", str(path), "--no-cache"],
                     events_of_first_run(store, "step"), at=5)
        run = store.list_runs()[0]
        before = len(store.events(run.id, "step"))
        assert 5 <= before < 20 and store.get(run.id).status == "interrupted"
        requests_before = len(server.requests)
        result = scai("converse", str(path), "--resume", run.id[:20], "--no-cache")
        assert result.returncode == 0, result.stderr
        info = store.get(run.id)
        assert info.status == "completed" and info.summary["statements"] == 20
        assert info.summary["replayed_steps"] == before
        assert len(server.requests) - requests_before == 20 - before
        keys = [e.key for e in store.events(run.id, "step")]
        assert len(keys) == len(set(keys)) == 20


@pytest.mark.model
def test_shipped_negotiation_runs_on_the_real_model_and_replays_identically(tmp_path):
    scenario = REPO / "examples" / "converse" / "negotiation.yaml"
    args = ["converse", str(scenario), "--set", "rounds=1", "--set", "params.max_tokens=40",
            "--seed", "5"]
    first = scai(*args, "--out", str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    assert "judged scores" in first.stdout
    second = scai(*args, "--out", str(tmp_path / "two"))
    assert second.returncode == 0, second.stderr
    one = json.loads((tmp_path / "one" / "transcript.json").read_text())
    two = json.loads((tmp_path / "two" / "transcript.json").read_text())
    assert [s["content"] for s in one["statements"]] == [s["content"] for s in two["statements"]]
    assert len(one["statements"]) == 2 and all(s["content"] for s in one["statements"])
    seller = [s for s in one["statements"] if s["speaker"] == "Seller"][0]
    assert seller["visible_to"] is None
    md = (tmp_path / "one" / "transcript.md").read_text()
    assert "### Round 1" in md and "**Seller**" in md and "## Judge: analyst" in md
    # the second run made no model calls: everything came from the cache
    calls = [e for r in RunStore().list_runs() for e in RunStore().events(r.id, "model_call")]
    cached = [e.payload["completion"]["cached"] for e in calls]
    assert cached.count(True) == len(cached) // 2


def test_cli_errors_for_unreachable_model_and_wrong_resume(tmp_path):
    from tests.conftest import free_port

    path = write(tmp_path, judges="")
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = scai("converse", str(path), "--model", f"openai-compat:{url}#m")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot reach {url}" in result.stderr
    assert RunStore().list_runs()[0].status == "failed"
    batch = tmp_path / "b.yaml"
    with FaultServer() as server:  # any batch run will do; this one needs no real model
        batch.write_text(f"kind: batch\nmodel: {{model: 'openai-compat:{server.url}#m'}}\n"
                         "prompts: [hi]\nparams: {max_tokens: 4, seed: 0}\n")
        assert scai("batch", str(batch)).returncode == 0
    wrong = scai("converse", str(path), "--resume", RunStore().list_runs(kind="batch")[0].id)
    assert wrong.returncode == 2 and "is a batch run, not converse" in wrong.stderr


# Every YAML under examples/ is a config, except data files kept in a `constitutions/` folder.
CONFIGS = sorted(p for p in (REPO / "examples").rglob("*.yaml") if "constitutions" not in p.parts)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    result = scai("validate", str(path))
    assert result.returncode == 0, result.stderr


def test_two_judges_on_one_metric_report_their_agreement(tmp_path):
    from scai.converse.judge import Judgement
    from scai.converse.result import ConverseRun, jury_alpha

    def run(i: int, j: int, k: int) -> ConverseRun:
        return ConverseRun(run_id=f"r{i}", seed=i, stop_reason="rounds", rounds_run=1,
                           statements=2, tokens=1, model_calls=1, replayed_steps=0,
                           judge_parse_failures=0, out_dir="", judgements=[
                               Judgement(judge="j", scores={"disagreement": j, "solo": 1}),
                               Judgement(judge="k", scores={"disagreement": k})])

    agreeing = [run(0, 1, 1), run(1, 3, 3), run(2, 5, 5)]
    assert jury_alpha(agreeing) == {"disagreement": 1.0}  # "solo" has one judge: no alpha
    crossed = [run(0, 1, 5), run(1, 5, 1), run(2, 3, 3)]
    assert jury_alpha(crossed)["disagreement"] < 0
    two = JUDGES + """\
  - name: k
    metrics:
      - {name: disagreement, description: how much they disagreed, min: 1, max: 5}
"""
    result = run_converse(load_config(write(tmp_path, judges=two)), RunStore(), runs=2,
                          out_dir=tmp_path / "out", progress=False, backend=AgentScript())
    # The scripted judges both give 5 every time: nothing varies, so alpha is undefined.
    assert result.jury_alpha == {"disagreement": None}
    assert json.loads((tmp_path / "out" / "aggregate.json").read_text())["jury_alpha"] == {
        "disagreement": None}
