"""The Contract loop end to end: scripted models for exact checks, the embedded model for real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scai.contract import simulate
from scai.contract.constitution import generality_problem
from scai.contract.tasks.ultimatum import Ultimatum
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.contract_script import ContractScript

BASE = """\
kind: contract
name: tiny
seed: 3
epochs: {epochs}
task:
  type: ultimatum
  flexible: 1
  fixed: 4
  users: scripted
  groups: [{{policy: altruistic}}]
  pairs: {{fixed_fixed: 2, mixed: 3, flexible_flexible: 1}}
  amount: [20, 40]
learner: {{type: {learner}}}
memory: {{mode: full, token_budget: 5000}}
"""


def config(tmp_path: Path, epochs: int = 3, learner: str = "rewrite", extra: str = ""):
    path = tmp_path / "tiny.yaml"
    path.write_text(BASE.format(epochs=epochs, learner=learner) + extra)
    return load_config(path)


def test_scripted_loop_learns_records_and_reports(tmp_path):
    backend = ContractScript(offer_share=0.25, principles=["Give others most of what you have."])
    sim = simulate(config(tmp_path), runs=2, out_dir=tmp_path / "out", progress=False,
                   backend=backend)
    assert len(sim.runs) == 2 and [r.seed for r in sim.runs] == [3, 4]
    r = sim.runs[0]
    assert [e.constitution.source for e in r.epochs][1:] == ["rewrite", "rewrite"]
    assert r.epochs[1].constitution.principles == ["Give others most of what you have."]
    assert r.epochs[1].constitution.rationale == "The people give more."
    for e in r.epochs:
        assert e.metrics["games"] == 6 and e.metrics["parse_failures"] == 0
        assert 0.8 <= e.metrics["share_fixed"] <= 1.0  # scripted altruists: offers in [0.8, 1]
        assert e.metrics["share_flexible"] == pytest.approx(0.25, abs=0.03)
    share = sim.aggregate["share_flexible"]
    assert len(share) == 3 and share[0].n == 2
    out = tmp_path / "out"
    for f in ["summary.md", "aggregate.json", "offered_share.png", "run-0/constitutions.md",
              "run-0/constitutions.json", "run-1/metrics.json"]:
        assert (out / f).exists(), f
    assert "Give others most" in (out / "run-0" / "constitutions.md").read_text()
    store = RunStore()
    info = store.get(r.run_id)
    assert info.status == "completed" and info.summary["episodes_run"] == 18
    assert len(store.events(r.run_id, "episode")) == 18
    assert len(store.events(r.run_id, "constitution")) == 3


def test_meta_prompt_attributes_each_game_to_its_own_episode_across_epochs(tmp_path):
    backend = ContractScript(offer_share=0.25)
    cfg = config(tmp_path, epochs=3)
    cfg = cfg.model_copy(update={"memory": cfg.memory.model_copy(update={"epochs_back": 2})})
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    store = RunStore()
    episodes = {e.key: e.payload for e in store.events(sim.runs[0].run_id, "episode")}
    prompts = backend.meta_prompts()
    assert len(prompts) == 2
    for epoch, prompt in enumerate(prompts):
        blocks = re.findall(r"\[(e\d+-g\d+)\]\n((?:  .*\n?)+)", prompt)
        seen_epochs = {int(gid[1:].split("-")[0]) for gid, _ in blocks}
        assert seen_epochs == set(range(max(0, epoch - 1), epoch + 1))
        for gid, body in blocks:
            expected = [m["text"] for m in episodes[gid]["messages"]]
            assert [ln.strip() for ln in body.strip("\n").splitlines()] == expected, gid


def test_unparseable_offers_are_counted_and_the_run_goes_on(tmp_path):
    backend = ContractScript(bad_offers=True)
    sim = simulate(config(tmp_path, epochs=2), out_dir=tmp_path / "o", progress=False,
                   backend=backend)
    r = sim.runs[0]
    # one mixed game in two has the assistant proposing; the flexible-flexible game always does
    flex_props = sum(1 for e in RunStore().events(r.run_id, "episode")
                     if e.payload["data"]["proposer"]["kind"] == "flexible")
    assert flex_props >= 1 and r.parse_failures == flex_props
    assert all(e.metrics["share_flexible"] is None for e in r.epochs)
    assert r.epochs[0].metrics["share_fixed"] is not None
    fails = [e for e in RunStore().events(r.run_id, "step") if e.payload.get("error")]
    assert len(fails) == flex_props and "schema" in fails[0].payload["error"]


def test_a_principle_that_is_not_general_is_refused_and_the_old_one_kept(tmp_path):
    backend = ContractScript(
        principles=["Offer 90 apples to every partner."] * 3 + ["Be kind in the game."] * 3)
    sim = simulate(config(tmp_path, epochs=3), out_dir=tmp_path / "o", progress=False,
                   backend=backend)
    first, second = sim.runs[0].epochs[1].constitution, sim.runs[0].epochs[2].constitution
    assert first.source == "kept" and "mentions a number" in first.rationale
    assert first.principles == sim.runs[0].epochs[0].constitution.principles
    assert second.source == "kept" and "'game'" in second.rationale


def test_voting_learner_keeps_principles_that_predict_the_users_choices(tmp_path):
    cfg = config(tmp_path, epochs=2, learner="voting")
    cfg = cfg.model_copy(update={"learner": cfg.learner.model_copy(
        update={"proposals": 2, "votes": 5, "keep": 2})})
    backend = ContractScript(offer_share=0.2)
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    learned = sim.runs[0].epochs[1].constitution
    # altruistic users always give the larger share: "generous" agrees with every vote
    assert learned.source == "voting" and learned.principles == ["Be generous to others."]
    assert "accuracy 1.00" in learned.rationale and "performance 1.00" in learned.rationale


def test_assistance_task_rates_answers_and_reports_utilities(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("kind: contract\nepochs: 2\ntask: {type: assistance, users: 3, "
                    "requests_per_epoch: 5, user_kind: llm, objective: min}\n")
    backend = ContractScript(rating=6)
    sim = simulate(load_config(path), out_dir=tmp_path / "o", progress=False, backend=backend)
    m = sim.runs[0].epochs[0].metrics
    assert m["utility_mean"] == 6 and m["utility_min"] == 6 and m["utility_gini"] == 0
    assert sum(1 for k in m if k.startswith("persona:")) >= 1
    assert "least satisfied" in backend.meta_prompts()[0]


def test_assistance_run_where_every_rating_fails_counts_each_and_learns_from_none(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("kind: contract\nepochs: 2\ntask: {type: assistance, users: 3, "
                    "requests_per_epoch: 4, user_kind: llm}\n")
    backend = ContractScript(bad_ratings=True)
    sim = simulate(load_config(path), out_dir=tmp_path / "o", progress=False, backend=backend)
    r = sim.runs[0]
    for e in r.epochs:
        assert e.metrics["episodes"] == 4 and e.metrics["parse_failures"] == 4
        assert e.metrics["utility_mean"] is None and e.metrics["utility_min"] is None
    assert r.parse_failures == 8
    assert "(no ratings)" in backend.meta_prompts()[0]
    failed = [e for e in RunStore().events(r.run_id, "step") if e.payload.get("error")]
    assert len(failed) == 8 and {e.payload["kind"] for e in failed} == {"rating"}


def test_llm_users_offer_what_the_model_says_and_every_failure_is_counted(tmp_path):
    cfg = config(tmp_path, epochs=1, learner="none")
    cfg = cfg.model_copy(update={"task": cfg.task.model_copy(update={"users": "llm"})})
    sim = simulate(cfg, out_dir=tmp_path / "ok", progress=False, cache=False,
                   backend=ContractScript(offer_share=0.4))
    m = sim.runs[0].epochs[0].metrics
    # amounts in [20, 40]: round(0.4 * amount) / amount is within 0.025 of 0.4
    assert m["share_fixed"] == pytest.approx(0.4, abs=0.025) and m["acceptance"] == 1
    assert m["games"] == 6 and m["parse_failures"] == 0
    sim = simulate(cfg, out_dir=tmp_path / "bad", progress=False, cache=False,
                   backend=ContractScript(bad_offers=True))
    m = sim.runs[0].epochs[0].metrics
    assert m["share_fixed"] is None and m["share_flexible"] is None and m["acceptance"] is None
    assert m["parse_failures"] == 6  # every game's offer, users' and the assistant's


@pytest.mark.model
def test_default_example_runs_on_the_embedded_model_end_to_end(tmp_path):
    example = REPO / "examples" / "contract" / "ultimatum.yaml"
    result = scai("simulate", str(example), "--set", "epochs=2", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert "learned constitution" in result.stdout and "offered_share.png" in result.stdout
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert len(metrics) == 2 and all(m["games"] == 8 for m in metrics)
    assert all(m["share_fixed"] is not None for m in metrics)
    summary = (tmp_path / "o" / "summary.md").read_text()
    assert "Beside the paper (1:9 altruistic)" in summary and "0.983" in summary
    store = RunStore()
    run = store.list_runs(kind="contract")[0]
    calls = store.events(run.id, "model_call")
    assert calls and all(c.payload["model"] == "local" for c in calls)


@pytest.mark.model
@pytest.mark.embedder
def test_embedded_model_plays_voting_with_principles_merged_by_meaning(tmp_path):
    cfg = load_config(REPO / "examples" / "contract" / "voting.yaml",
                      ["epochs=2", "task.pairs={mixed: 2, fixed_fixed: 2}",
                       "learner.proposals=2", "learner.votes=2", "learner.merge=embeddings"])
    sim = simulate(cfg, out_dir=tmp_path / "v", progress=False)
    first, learned = (e.constitution for e in sim.runs[0].epochs)
    steps = RunStore().events(sim.runs[0].run_id, "step")
    assert sum(e.payload["kind"] == "propose" for e in steps) == 2
    votes = [e for e in steps if e.payload["kind"] == "vote"]
    assert votes and all(e.key.startswith("e0|vote|") for e in votes)
    if learned.source == "voting":  # what it kept passed the generality check and was scored
        assert 1 <= len(learned.principles) <= 2 and "performance" in learned.rationale
        assert all(generality_problem(p, list(Ultimatum.game_words)) is None
                   for p in learned.principles)
    else:
        assert learned.source == "kept" and learned.principles == first.principles
        assert learned.rationale.startswith("no principle predicted the users' choices")


@pytest.mark.model
def test_embedded_model_plays_assistance(tmp_path):
    cfg = load_config(REPO / "examples" / "contract" / "assistance.yaml",
                      ["epochs=1", "task.requests_per_epoch=2", "task.answer_tokens=24"])
    sim = simulate(cfg, out_dir=tmp_path / "a", progress=False)
    m = sim.runs[0].epochs[0].metrics
    episodes = RunStore().events(sim.runs[0].run_id, "episode")
    rated = [e for e in episodes if e.payload["data"]["rating"] is not None]
    assert m["episodes"] == 2 and m["parse_failures"] == 2 - len(rated)
    assert (m["utility_mean"] is None) == (not rated)
    assert all(e.payload["data"]["answer"] for e in rated)  # the answer each rating is about


@pytest.mark.model
def test_llm_users_play_with_persona_hidden_policy_and_manner(tmp_path):
    cfg = load_config(REPO / "examples" / "contract" / "paper" / "manner-altruistic-rude.yaml",
                      ["epochs=1", "task.pairs={fixed_fixed: 2, mixed: 1}", "learner.type=none"])
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False)
    m = sim.runs[0].epochs[0].metrics
    assert m["games"] == 3
    games = [e.payload for e in RunStore().events(sim.runs[0].run_id, "episode")]
    users_offers = [g for g in games if g["data"]["proposer"]["kind"] == "fixed"
                    and g["data"]["offer"] is not None]
    assert (m["share_fixed"] is None) == (not users_offers)
    assert m["parse_failures"] == sum(len(g["failures"]) for g in games)
    calls = RunStore().events(sim.runs[0].run_id, "model_call")
    systems = [c.payload["messages"][0]["content"] for c in calls]
    users = [s for s in systems if "Hidden rule" in s]
    assert users and all("rudely" in s and "altruistic" in s for s in users)
    assert any("Follow this principle" in s for s in systems)


def test_scripted_users_speak_in_their_manner(tmp_path):
    backend = ContractScript()
    cfg = config(tmp_path, epochs=1, learner="none")
    task = cfg.task.model_copy(update={"groups": [cfg.task.groups[0].model_copy(
        update={"manner": "sycophantic"})]})
    sim = simulate(cfg.model_copy(update={"task": task}), out_dir=tmp_path / "o",
                   progress=False, backend=backend)
    lines = [m["text"] for e in RunStore().events(sim.runs[0].run_id, "episode")
             for m in e.payload["messages"] if m["role"] == "proposer"]
    assert any("wonderful, brilliant partner" in ln for ln in lines)
    prompts = [m[-1].content for m, p in backend.calls if "decision" in p.json_schema["properties"]]
    assert prompts and any("wonderful, brilliant partner" in p for p in prompts)
