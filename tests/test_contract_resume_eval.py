"""A killed simulation resumes exactly; a learned constitution is tested out of distribution."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scai.contract import simulate
from scai.contract.evaluate import evaluate_constitution
from scai.errors import ConfigError
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.contract_script import ContractScript
from tests.killable import events_of_first_run, run_and_kill

CONFIG = """\
kind: contract
name: killable
epochs: 3
task:
  type: ultimatum
  fixed: 4
  users: scripted
  groups: [{policy: selfish}]
  pairs: {mixed: 6, flexible_flexible: 2}
"""


def test_killed_simulation_resumes_playing_exactly_the_missing_episodes(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text(CONFIG)
    store = RunStore()
    run_and_kill([sys.executable, "-m", "tests.contract_killable", str(path)],
                 events_of_first_run(store, "episode"), at=10, poll=0.05)
    run = store.list_runs()[0]
    before = {e.key for e in store.events(run.id, "episode")}
    assert 10 <= len(before) < 24 and store.get(run.id).status == "interrupted"
    result = subprocess.run([sys.executable, "-m", "tests.contract_killable", str(path), run.id],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    played = int(result.stdout.split("played=")[1].split()[0])
    replayed = int(result.stdout.split("replayed=")[1].split()[0])
    assert played == 24 - len(before) and replayed == len(before)
    keys = [e.key for e in store.events(run.id, "episode")]
    assert len(keys) == len(set(keys)) == 24
    assert len(store.events(run.id, "constitution")) == 3
    assert store.get(run.id).status == "completed"


def _learn(tmp_path):
    path = tmp_path / "learn.yaml"
    path.write_text(CONFIG.replace("epochs: 3", "epochs: 2"))
    backend = ContractScript(offer_share=0.1, principles=["Keep the most for yourself."])
    return simulate(load_config(path), out_dir=tmp_path / "l", progress=False, backend=backend)


def test_evaluate_constitution_runs_four_variants_with_the_learned_principle(tmp_path):
    sim = _learn(tmp_path)
    ood = load_config(REPO / "examples" / "contract" / "ood-medicine.yaml")
    backend = ContractScript(offer_share=0.6)
    result = evaluate_constitution(sim.runs[0].run_id, ood, runs=2, out_dir=tmp_path / "e",
                                   backend=backend)
    assert result.constitution == "Keep the most for yourself."
    assert [v.name for v in result.variants] == [
        "with prior, no reason", "with prior, with reason", "without prior, no reason",
        "without prior, with reason"]
    assert all(v.share.n == 2 and v.share.mean == pytest.approx(0.6, abs=0.03)
               for v in result.variants)
    systems = [m[0].content for m, p in backend.calls]
    assert all("Keep the most for yourself." in s for s in systems)
    assert sum("Your own inclination" in s for s in systems) == len(systems) // 2
    reasons = [p for m, p in backend.calls if "reason" in p.json_schema["properties"]]
    assert len(reasons) == len(backend.calls) // 2
    assert any(good in backend.calls[0][0][1].content for good in ("medicine", "blood", "formula"))
    assert (tmp_path / "e" / "summary.md").exists()


@pytest.mark.model
def test_evaluate_constitution_on_the_embedded_model_from_the_cli(tmp_path):
    sim = _learn(tmp_path)
    result = scai("evaluate-constitution", sim.runs[0].run_id[:24], "--task",
                  str(REPO / "examples" / "contract" / "ood-medicine.yaml"),
                  "--set", "task.pairs={mixed: 2}", "--out", str(tmp_path / "e"))
    assert result.returncode == 0, result.stderr
    assert "with prior, with reason" in result.stdout
    assert "Keep the most for yourself." in result.stdout
    bad = scai("evaluate-constitution", "nope", "--task",
               str(REPO / "examples" / "contract" / "ood-medicine.yaml"))
    assert bad.returncode == 1 and "no run 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_evaluate_constitution_refuses_a_task_without_variants_and_a_run_of_another_kind(tmp_path):
    sim = _learn(tmp_path)
    path = tmp_path / "a.yaml"
    path.write_text("kind: contract\ntask: {type: assistance}\n")
    with pytest.raises(ConfigError, match="must be an ultimatum task"):
        evaluate_constitution(sim.runs[0].run_id, load_config(path), out_dir=tmp_path / "e")
    other = RunStore().create_run("converse", {"kind": "converse"})
    ood = load_config(REPO / "examples" / "contract" / "ood-medicine.yaml")
    with pytest.raises(ConfigError, match=r"is a converse run, not a Social Contract"):
        evaluate_constitution(other.id, ood, out_dir=tmp_path / "e")
