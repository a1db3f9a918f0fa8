"""Contract parts: personas, config errors, memory attribution, metrics, learners' arithmetic."""

from __future__ import annotations

import json

import pytest

from scai.contract import Episode, Player, load_personas
from scai.contract.config import MemoryConfig
from scai.contract.constitution import generality_problem
from scai.contract.memory import recall, render_memory
from scai.contract.metalearn import merge_similar, vote_scores
from scai.contract.metrics import gini, utility_metrics
from scai.contract.tasks.ultimatum import Game, Ultimatum, UltimatumOutcome, ultimatum_metrics
from scai.errors import ConfigError
from scai.kinds import load_config
from tests.conftest import scai


def test_shipped_personas_are_many_diverse_and_complete():
    personas = load_personas()
    assert len(personas) >= 30
    assert len({p.name for p in personas}) == len(personas)
    assert all(p.background and p.values and p.manner and p.request for p in personas)
    assert {p.prefers for p in personas} == {"brief", "detailed"}


def test_extra_personas_load_from_yaml_and_jsonl_with_one_line_errors(tmp_path):
    (tmp_path / "p.yaml").write_text("- {name: Ada, background: a coder, values: truth}\n")
    (tmp_path / "p.jsonl").write_text('{"name": "Bo", "prefers": "detailed"}\n\n')
    assert load_personas(tmp_path / "p.yaml")[0].name == "Ada"
    assert load_personas(tmp_path / "p.jsonl")[0].prefers == "detailed"
    (tmp_path / "bad.jsonl").write_text('{"name": "Bo"}\n{"name": "Cy", "age": 3}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: age: unknown key"):
        load_personas(tmp_path / "bad.jsonl")


@pytest.mark.parametrize("body, message", [
    ("task: {type: ultimatum, groups: [{policy: greedy}]}", "task.ultimatum.groups.0.policy"),
    ("task: {type: ultimatum, amount: [50, 10]}", "amount"),
    ("epochs: 0", "epochs"),
    ("learner: {type: rewrite, colour: red}", "learner.colour: unknown key"),
    ("paper_reference: nonsense", "paper_reference"),
    ("task: {type: ultimatum, fixed: 1, pairs: {fixed_fixed: 2}}", "fixed_fixed"),
])
def test_config_errors_are_one_line_naming_file_and_field(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"kind: contract\n{body}\n")
    with pytest.raises(ConfigError, match="bad.yaml") as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    result = scai("simulate", str(path))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _episode(epoch: int, game: int) -> Episode:
    ep = Episode(id=f"e{epoch}-g{game}", epoch=epoch, task="ultimatum")
    ep.say("A", "proposer", f"offer-line of e{epoch}-g{game}")
    ep.say("B", "responder", f"decision-line of e{epoch}-g{game}")
    return ep


def test_memory_attributes_every_line_to_its_own_episode_across_epochs():
    episodes = [_episode(e, g) for e in range(4) for g in range(5)]
    config = MemoryConfig(mode="full", token_budget=10_000, epochs_back=3)
    seen = recall(episodes, config, epoch=3, seed=7)
    assert {e.epoch for e in seen} == {1, 2, 3}  # the window, not epoch 0
    assert [e.id for e in seen] != sorted(e.id for e in seen)  # shuffled
    current = None
    lines = render_memory(seen).splitlines()
    for line in lines:
        if line.startswith("["):
            current = line.strip("[]")
        else:
            assert line.strip().endswith(f"of {current}"), (current, line)
    assert sum(not ln.startswith("[") for ln in lines) == 2 * 15


def test_memory_budget_and_sample_modes_bound_what_is_seen():
    episodes = [_episode(0, g) for g in range(40)]
    small = recall(episodes, MemoryConfig(token_budget=100), epoch=0, seed=1)
    assert 1 <= len(small) < 10
    sampled = recall(episodes, MemoryConfig(mode="sample", sample=3, token_budget=10_000), 0, 1)
    assert len(sampled) == 3
    assert recall(episodes, MemoryConfig(), 0, 1) == recall(episodes, MemoryConfig(), 0, 1)


def test_ultimatum_metrics_separate_flexible_and_fixed_proposers():
    def player(kind):
        return Player(id=kind, name=kind, kind=kind)

    def game(kind_p, kind_r, offer, decision, amount=10):
        accepted = decision == "accept"
        return Game(id="x", epoch=0, task="ultimatum", data=UltimatumOutcome(
            amount=amount, currency="apples", offer=offer, share=offer / amount,
            decision=decision, proposer=player(kind_p), responder=player(kind_r),
            payoff_proposer=amount - offer if accepted else 0,
            payoff_responder=offer if accepted else 0))

    void = Game(id="v", epoch=0, task="ultimatum", failures=["offer"], data=UltimatumOutcome(
        amount=10, currency="apples", proposer=player("flexible"), responder=player("fixed")))
    m = ultimatum_metrics([game("flexible", "fixed", 2, "accept"),
                           game("fixed", "flexible", 8, "accept"),
                           game("fixed", "fixed", 6, "reject"), void])
    assert m["share_flexible"] == pytest.approx(0.2)
    assert m["share_fixed"] == pytest.approx(0.7)
    assert m["gap"] == pytest.approx(0.5)
    assert m["acceptance"] == pytest.approx(2 / 3)
    assert m["income_flexible"] == pytest.approx((0.8 + 0.8) / 2)
    assert m["parse_failures"] == 1


def test_an_episode_recorded_before_typed_data_loads_typed():
    # the payload shape runs recorded before episodes were typed (a dict `data`, a void game)
    old = {"id": "e0-g1", "epoch": 0, "task": "ultimatum", "messages": [], "failures": ["offer"],
           "data": {"amount": 30, "currency": "apples", "offer": None, "share": None,
                    "decision": None, "payoff_proposer": 0, "payoff_responder": 0,
                    "proposer": {"id": "flex0", "name": "Assistant", "kind": "flexible",
                                 "policy": None, "manner": "neutral", "persona": ""},
                    "responder": {"id": "user1", "name": "Ann", "kind": "fixed",
                                  "policy": "fair", "manner": "rude", "persona": "Ann"}}}
    ep = Ultimatum.episode(old)
    assert isinstance(ep.data, UltimatumOutcome) and ep.data.responder.policy == "fair"
    assert ep.data.offer is None and ep.data.message is None
    assert Ultimatum.headline(ep) == "Assistant offers None of 30 apples → no decision"


def test_utility_metrics_mean_rawlsian_minimum_gini_and_per_persona():
    m = utility_metrics({"ann": [8, 10], "bob": [2], "cy": [5, 5]})
    assert m["utility_mean"] == pytest.approx((9 + 2 + 5) / 3)
    assert m["utility_min"] == 2
    assert m["persona:ann"] == 9
    assert gini([1, 1, 1]) == 0
    assert gini([0, 0, 1]) == pytest.approx(2 / 3)
    assert m["utility_gini"] == pytest.approx(gini([9, 2, 5]))


def test_voting_formulas_follow_inverse_constitutional_ai():
    s = vote_scores(agree=6, disagree=2, total=10)
    assert s["accuracy"] == 0.75 and s["relevance"] == 0.8
    assert s["performance"] == pytest.approx((0.75 - 0.5) * 0.8 * 2)
    assert vote_scores(0, 0, 5)["performance"] == 0
    assert merge_similar(["Share generously with others.", "Always share generously with others.",
                          "Keep promises."]) == ["Share generously with others.", "Keep promises."]


@pytest.mark.parametrize("text, ok", [
    ("Give others as much as you can.", True),
    ("Offer 90% to others.", False),
    ("Give away more apples.", False),
    ("In the ultimatum game, be kind.", False),
    ("Share grams of medicine freely.", False),
    ('{ "d" = { }', False),
])
def test_a_general_principle_names_no_numbers_goods_or_game(text, ok):
    banned = [*Ultimatum.game_words, "dollars", "apples", "grams of medicine"]
    assert (generality_problem(text, banned) is None) == ok


def test_every_shipped_contract_example_validates():
    from pathlib import Path
    files = sorted((Path(__file__).parents[1] / "examples" / "contract").rglob("*.yaml"))
    assert len(files) >= 20
    for f in files:  # contract configs, and the ablations' sweeps over them
        cfg = load_config(f)
        assert cfg.kind in (("sweep", "contract") if "ablations" in f.parts else ("contract",)), f
    _ = json


def test_scripted_raters_prefer_answers_of_their_preferred_length():
    from scai.contract.persona import Persona
    from scai.contract.tasks.assistance import scripted_rating

    brief, detailed = Persona(name="B", prefers="brief"), Persona(name="D", prefers="detailed")
    short, long = "word " * 25, "word " * 70
    assert scripted_rating(brief, short, 1) > scripted_rating(brief, long, 1)
    assert scripted_rating(detailed, long, 1) > scripted_rating(detailed, short, 1)
    assert all(1 <= scripted_rating(brief, "x " * n, s) <= 10 for n in (0, 300) for s in range(5))


@pytest.mark.embedder
def test_voting_can_merge_paraphrases_by_meaning_where_word_overlap_cannot():
    from scai.contract.metalearn import merge_by_meaning

    # MiniLM cosines: the paraphrase pairs 0.81 and 0.85; every other pair 0.55 or less.
    principles = ["Share generously with others.", "Be generous and share with other people.",
                  "Never accept an offer below half.",
                  "Do not accept offers that are less than half.",
                  "Always give the larger share to the other player."]
    assert merge_similar(principles) == principles  # too few words in common
    merged = merge_by_meaning(principles)
    assert merged == [principles[0], principles[2], principles[4]]
    assert merge_by_meaning(principles, threshold=0.99) == principles
    assert merge_by_meaning(["Only one."]) == ["Only one."]
