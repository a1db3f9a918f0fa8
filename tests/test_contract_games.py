"""The dictator and public-goods games through the task protocol, and the assistance task's utility
plot: scripted users give exact numbers, bad values are one-line config errors, the plots exist
after a run and on the dashboard page, and each game runs on the embedded model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scai.contract import simulate
from scai.contract.metrics import gini
from scai.errors import ConfigError
from scai.kinds import load_config
from scai.report import StoreReader, run_page
from scai.report.blocks import Figure, close_figures
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.contract_script import ContractScript
from tests.scripted import ScriptedBackend, ScriptedScorer, point_mass

PUBLIC_GOODS = """\
kind: contract
name: pg
epochs: {epochs}
task:
  type: public_goods
  flexible: 1
  fixed: 3
  groups: {groups}
  endowment: 10
  multiplier: 1.6
  rounds: 4
learner: {{type: {learner}}}
"""


def public_goods(tmp_path: Path, groups: str, epochs: int = 1, learner: str = "none",
                 overrides: list[str] | None = None):
    path = tmp_path / "pg.yaml"
    path.write_text(PUBLIC_GOODS.format(groups=groups, epochs=epochs, learner=learner))
    return load_config(path, overrides or [])


def contributes(n: int) -> ScriptedBackend:
    """The assistant puts `n` into the pot every round."""
    return ScriptedBackend(by_schema={"contribution": lambda m, p: {"contribution": n}})


def test_free_riders_with_a_free_riding_assistant_put_in_nothing_and_keep_their_endowment(
        tmp_path):
    cfg = public_goods(tmp_path, "[{policy: free_rider}]")
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=contributes(0))
    m = sim.runs[0].epochs[0].metrics
    assert m["contribution_mean"] == 0 and m["contribution_assistant"] == 0
    assert m["contribution_users"] == 0 and all(m[f"round:{r}"] == 0 for r in range(1, 5))
    # nobody gives: each ends every round with exactly its endowment, all equal
    assert m["welfare"] == 1 and m["payoff_assistant"] == 1 and m["payoff_gini"] == 0
    assert sorted(k for k in m if k.startswith("payoff:")) and all(
        v == 1 for k, v in m.items() if k.startswith("payoff:"))
    assert m["games"] == 1 and m["rounds"] == 4 and m["parse_failures"] == 0


def test_conditional_cooperator_matches_last_rounds_mean_and_payoffs_follow_the_pot(tmp_path):
    cfg = public_goods(tmp_path, "[{policy: free_rider}, {policy: conditional}, "
                                 "{policy: cooperator}]")
    backend = contributes(10)
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    (ep,) = RunStore().events(sim.runs[0].run_id, "episode")
    players = {p["id"]: p for p in ep.payload["data"]["players"]}
    rounds = ep.payload["data"]["rounds"]
    by_policy = {players[pid]["policy"] or "assistant": [r["contributions"][pid] for r in rounds]
                 for pid in players}
    # conditional: half the endowment first, then last round's mean rounded half up
    # (0+5+10+10)/4 = 6.25 -> 6; (0+6+10+10)/4 = 6.5 -> 7; (0+7+10+10)/4 = 6.75 -> 7
    assert by_policy == {"assistant": [10] * 4, "free_rider": [0] * 4,
                         "conditional": [5, 6, 7, 7], "cooperator": [10] * 4}
    first = {players[pid]["policy"] or "assistant": v for pid, v in rounds[0]["payoffs"].items()}
    share = 1.6 * 25 / 4  # the pot, multiplied, shared by all four
    assert first == pytest.approx({"assistant": share, "free_rider": 10 + share,
                                   "conditional": 5 + share, "cooperator": share})
    m = sim.runs[0].epochs[0].metrics
    assert not [k for k in m if k.startswith("group_")]  # a shared pot: no offer to a group
    assert m["contribution_assistant"] == 1 and m["contribution_users"] == pytest.approx(
        (0 + 25 + 40) / 120)
    assert [m[f"round:{r}"] for r in range(1, 5)] == pytest.approx([0.625, 0.65, 0.675, 0.675])
    pots = [25, 26, 27, 27]
    per = {players[pid]["policy"] or "assistant": sum(
        rounds[r]["payoffs"][pid] for r in range(4)) / 40 for pid in players}
    assert per["free_rider"] == pytest.approx(sum(10 + 0.4 * p for p in pots) / 40)
    assert m["payoff_gini"] == pytest.approx(gini(list(per.values())))
    assert m["welfare"] == pytest.approx(sum(per.values()) / 4)
    # the assistant saw the last round before it chose
    prompts = [msgs[-1].content for msgs, p in backend.calls]
    assert "This is the first round." in prompts[0]
    assert "Last round the people put in 10, 0, 5, 10 (mean 6.2)" in prompts[1]
    assert "you put in 10" in prompts[1]


def test_a_finished_public_goods_run_resumes_with_no_model_call(tmp_path):
    cfg = public_goods(tmp_path, "[{policy: conditional}]", epochs=2, learner="rewrite")
    plays = ScriptedBackend(by_schema={
        "contribution": lambda m, p: {"contribution": 7},
        "critique": lambda m, p: {"critique": "It gives less.", "principle": "Share generously "
                                  "with everyone around you."}})
    first = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=plays)
    assert first.runs[0].epochs[1].constitution.source == "rewrite"
    again = contributes(9)
    sim = simulate(cfg, resume=first.runs[0].run_id, out_dir=tmp_path / "r", progress=False,
                   backend=again)
    assert again.calls == [] and sim.runs[0].episodes_replayed == 2
    assert [e.metrics for e in sim.runs[0].epochs] == [e.metrics for e in first.runs[0].epochs]


def test_a_contribution_that_fails_its_schema_ends_the_game_at_that_round(tmp_path):
    cfg = public_goods(tmp_path, "[{policy: cooperator}]")
    replies = [{"contribution": 3}]  # then only replies that are no number
    backend = ScriptedBackend(by_schema={
        "contribution": lambda m, p: replies.pop() if replies else "no number"})
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    m = sim.runs[0].epochs[0].metrics
    (ep,) = RunStore().events(sim.runs[0].run_id, "episode")
    assert ep.payload["data"]["stopped"] == 1 and len(ep.payload["data"]["rounds"]) == 1
    assert m["rounds"] == 1 and m["parse_failures"] >= 1 and m["contribution_assistant"] == 0.3


@pytest.mark.parametrize(("override", "message"), [
    ("task.multiplier=4", r"task.public_goods: multiplier: need 1 < multiplier < players \(4\)"),
    ("task.multiplier=1", r"need 1 < multiplier < players \(4\), got 1$"),
    ("task.endowment=-5", r"task.public_goods.endowment: Input should be greater than or equal"),
    ("task.fixed=0", r"need at least 2 players"),
])
def test_bad_public_goods_values_are_config_errors(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        public_goods(tmp_path, "[{policy: cooperator}]", overrides=[override])


def test_a_bad_value_on_the_command_line_is_one_line_and_non_zero(tmp_path):
    done = scai("simulate", str(REPO / "examples" / "contract" / "public-goods.yaml"),
                "--set", "task.multiplier=9", timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "multiplier: need 1 < multiplier" in \
        done.stderr


def test_the_bayes_learner_refuses_the_public_goods_game_when_the_file_is_read(tmp_path):
    path = tmp_path / "pg.yaml"
    path.write_text(PUBLIC_GOODS.format(groups="[{policy: cooperator}]", epochs=2,
                                        learner="bayes"))
    with pytest.raises(ConfigError, match="learner bayes needs a game that gives") as err:
        load_config(path)
    assert "(task.type ultimatum or dictator), not 'public_goods'" in str(err.value)
    res = scai("simulate", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing started


# -- the dictator game ----------------------------------------------------------------------------
DICTATOR = """\
kind: contract
name: dictator
epochs: {epochs}
task:
  type: dictator
  fixed: 6
  groups: [{{policy: altruistic, weight: 2}}, {{policy: fair, weight: 1}}]
  scripted: {{offer_share: {{altruistic: [0.9, 0.9], fair: [0.5, 0.5]}}}}
  pairs: {{mixed: 4, fixed_fixed: 6}}
  amount: [50, 50]
  prior: selfish
learner: {learner}
"""


def dictator(tmp_path: Path, epochs: int = 1, learner: str = "{type: none}", overrides=()):
    path = tmp_path / "d.yaml"
    path.write_text(DICTATOR.format(epochs=epochs, learner=learner))
    return load_config(path, list(overrides))


def test_dictator_splits_are_final_and_measured_per_group(tmp_path):
    backend = ContractScript(offer_share=0.3)
    sim = simulate(dictator(tmp_path), out_dir=tmp_path / "o", progress=False, backend=backend)
    m = sim.runs[0].epochs[0].metrics
    assert m["share:altruistic"] == 0.9 and m["share:fair"] == 0.5
    assert m["gap:altruistic"] == pytest.approx(0.6) and m["gap:fair"] == pytest.approx(0.2)
    games = [e.payload["data"] for e in RunStore().events(sim.runs[0].run_id, "episode")]
    flex = [g for g in games if g["proposer"]["kind"] == "flexible"]
    assert flex and m["share_flexible"] == 0.3 and m["games"] == 10
    # no veto: every offer stands, the recipient gets it and nobody is asked to decide
    assert all(g["payoff_recipient"] == g["offer"] and g["payoff_proposer"] == 50 - g["offer"]
               for g in games)
    assert m["recipient_payoff"] == pytest.approx(sum(g["offer"] for g in games) / 500)
    # per group, as in the ultimatum game, a gift always standing: what the assistant gave the
    # altruists (0.3), what they gave (0.9), and what they got in games with the assistant
    assert m["group_share:altruistic"] == 0.3 and m["group_norm:altruistic"] == 0.9
    assert m["group_gap:altruistic"] == pytest.approx(0.6)
    with_assistant = [g for g in games if "flexible" in (g["proposer"]["kind"],
                                                          g["recipient"]["kind"])]
    got = [(g["payoff_proposer"] if g["proposer"]["kind"] == "fixed" else g["payoff_recipient"])
           / g["amount"] for g in with_assistant
           if "altruistic" in (g["proposer"].get("policy"), g["recipient"].get("policy"))]
    assert m["group_utility:altruistic"] == pytest.approx(sum(got) / len(got))
    assert not [p for _, p in backend.calls if "decision" in p.json_schema["properties"]]
    prompts = [msgs[-1].content for msgs, p in backend.calls]
    assert prompts and all("cannot refuse: what you decide is final" in p for p in prompts)
    assert "keep as much as you can" in sim.runs[0].epochs[0].constitution.text()
    out = tmp_path / "o"
    assert sim.plot == str(out / "offered_share.png")
    assert (out / "offered_share.png").read_bytes()[:4] == b"\x89PNG"
    assert "| epoch | share_flexible | share_fixed | gap | recipient_payoff |" in \
        (out / "summary.md").read_text()


def _offers_by_principle(messages, continuations):
    system = messages[0].content
    offer = 5 if "keep as much" in system else 25 if "evenly" in system else 45
    return point_mass(continuations, '{"offer": ' + str(offer))


def test_the_bayes_learner_reads_the_dictators_offers_and_finds_the_users_norm(tmp_path):
    backend = ScriptedScorer(scorer=_offers_by_principle, by_schema={
        "offer": lambda m, p: {"offer": 5, "message": "Here."}})
    cfg = dictator(tmp_path, epochs=2, learner="{type: bayes, proposals: 0, pick: map}",
                   overrides=["task.groups=[{policy: altruistic}]"])
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    learned = sim.runs[0].epochs[1].constitution
    assert learned.source == "bayes" and "as much as you can" in learned.text()
    assert learned.posterior[2].probability > 0.99  # the altruistic prior explains 45 of 50
    # only offers are evidence: no accept/reject distribution is ever scored
    assert backend.scored and all(c[0].startswith('{"offer": ') for _, c in backend.scored)


# -- the assistance task's utility plot -----------------------------------------------------------
def test_assistance_writes_utility_with_bands_and_the_dashboard_shows_it(tmp_path):
    ratings = iter(["3", "8", "5", "9", "4", "7"] * 4)
    backend = ScriptedBackend(rule=lambda m, p: "Some help for you.", by_schema={
        "rating": lambda m, p: {"reason": "ok", "rating": next(ratings)}})
    cfg = load_config(REPO / "examples" / "contract" / "assistance.yaml",
                      ["epochs=2", "task.requests_per_epoch=6", "learner.type=none"])
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=backend)
    m = sim.runs[0].epochs[0].metrics
    for name in ("utility_mean", "utility_gini"):
        assert m[f"{name}:ci_low"] < m[name] < m[f"{name}:ci_high"]
    assert m["utility_min:ci_low"] < m["utility_min:ci_high"]
    assert sim.plot == str(tmp_path / "o" / "utility.png")
    assert Path(sim.plot).stat().st_size > 5000
    equal = ScriptedBackend(rule=lambda m, p: "Some help for you.", by_schema={
        "rating": lambda m, p: {"reason": "ok", "rating": "6"}})
    again = simulate(cfg, out_dir=tmp_path / "o2", progress=False, cache=False, backend=equal)
    assert again.runs[0].epochs[0].metrics["utility_gini:ci_high"] == 0  # equal ratings: no band
    page = run_page(StoreReader(RunStore().root), sim.runs[0].run_id)
    names = {b.name for b in page.blocks if isinstance(b, Figure)}
    assert {"utility", "utility_per_persona"} <= names
    close_figures(page.blocks)


def test_each_new_game_draws_its_panels_on_the_dashboard(tmp_path):
    pg = simulate(public_goods(tmp_path, "[{policy: conditional}]"), out_dir=tmp_path / "p",
                  progress=False, backend=contributes(4))
    d = simulate(dictator(tmp_path), out_dir=tmp_path / "d", progress=False,
                 backend=ContractScript(offer_share=0.3))
    assert pg.plot == str(tmp_path / "p" / "contribution.png")
    reader = StoreReader(RunStore().root)
    for sim, want in ((pg, {"contribution", "contribution_by_round", "welfare",
                            "payoff_per_persona", "payoff_gini"}),
                      (d, {"offered_share", "share_by_group", "gap_by_group", "income"})):
        page = run_page(reader, sim.runs[0].run_id)
        assert want <= {b.name for b in page.blocks if isinstance(b, Figure)}
        close_figures(page.blocks)


# -- the embedded model ---------------------------------------------------------------------------
@pytest.mark.model
def test_embedded_model_plays_the_dictator_game_with_llm_users(tmp_path):
    cfg = load_config(REPO / "examples" / "contract" / "dictator.yaml", [
        "epochs=1", "task.users=llm", "task.pairs={mixed: 2, fixed_fixed: 1}",
        "task.messages=false", "learner.type=none"])
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False)
    m = sim.runs[0].epochs[0].metrics
    games = [e.payload for e in RunStore().events(sim.runs[0].run_id, "episode")]
    assert m["games"] == 3 and m["parse_failures"] == sum(len(g["failures"]) for g in games)
    given = [g["data"] for g in games if g["data"]["offer"] is not None]
    assert all(0 <= g["offer"] <= g["amount"] and g["payoff_recipient"] == g["offer"]
               for g in given)
    assert (m["share_flexible"] is None) == (not [g for g in given
                                                  if g["proposer"]["kind"] == "flexible"])
    assert (tmp_path / "o" / "offered_share.png").exists()


@pytest.mark.model
def test_embedded_model_plays_the_public_goods_game_with_an_llm_user(tmp_path):
    cfg = load_config(REPO / "examples" / "contract" / "public-goods.yaml", [
        "epochs=1", "task.users=llm", "task.fixed=1", "task.groups=[{policy: cooperator}]",
        "task.rounds=2", "learner.type=none"])
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False)
    m = sim.runs[0].epochs[0].metrics
    (ep,) = RunStore().events(sim.runs[0].run_id, "episode")
    rounds = ep.payload["data"]["rounds"]
    assert m["rounds"] == len(rounds) and m["parse_failures"] == len(ep.payload["failures"])
    assert all(0 <= c <= 10 for r in rounds for c in r["contributions"].values())
    for r in rounds:  # every payoff is the player's keep plus its share of the multiplied pot
        share = 1.6 * sum(r["contributions"].values()) / 2
        assert all(math.isclose(r["payoffs"][k], 10 - c + share)
                   for k, c in r["contributions"].items())
    calls = RunStore().events(sim.runs[0].run_id, "model_call")
    systems = [c.payload["messages"][0]["content"] for c in calls]
    assert any("cooperate fully" in s for s in systems)
    assert any("Follow this principle" in s for s in systems)
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())[0]["games"] == 1
