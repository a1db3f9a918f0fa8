"""The bayes learner: exact math, a scripted run where the users' own policy wins the posterior,
resume without the model, and one short run on the embedded Gemma model."""

from __future__ import annotations

import asyncio
import json
import math
import random
from pathlib import Path

import pytest

from scai.contract import simulate
from scai.contract.bayes import (
    bucketed,
    decisions_log_likelihood,
    offers_log_likelihood,
    posterior,
    share_bucket,
    smoothed,
    thompson,
    user_evidence,
)
from scai.contract.episode import Player
from scai.contract.learner import LEARNERS, learning_context
from scai.contract.simulate import open_task
from scai.contract.tasks.ultimatum import Game, UltimatumOutcome
from scai.errors import ConfigError, ModelError
from scai.kinds import load_config
from scai.llm.types import Message, ScoreResult
from scai.steps import derive_seed
from scai.store import RunStore
from tests.scripted import ScriptedBackend

SELFISH = "Look after your own interests first: keep as much as you can for yourself."
FAIR = "Treat others as equals: share things evenly."


# -- (a) the math ---------------------------------------------------------------------------------
def test_offers_fall_in_equal_share_buckets_and_a_distribution_sums_into_them():
    assert [share_bucket(n, 10, 5) for n in range(11)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    assert share_bucket(7, 7, 5) == 4 and share_bucket(0, 7, 1) == 0
    dist = {n: 1 / 11 for n in range(11)}
    assert bucketed(dist, 10, 5) == pytest.approx([2 / 11, 2 / 11, 2 / 11, 2 / 11, 3 / 11])
    assert smoothed([1.0, 0.0, 0.0, 0.0], 0.2) == pytest.approx([0.85, 0.05, 0.05, 0.05])


def test_likelihoods_are_exact_and_an_impossible_action_is_finite():
    dist = {0: 0.5, 1: 0.5, 2: 0.0, 3: 0.0, 4: 0.0}  # amount 4: buckets of 0.8 share each
    # offers 0 and 1 land in bucket 0 and 1 (of 5): (0.9*0.5 + 0.02) each; offer 4 in bucket 4
    ll = offers_log_likelihood(dist, [0, 1, 4], 4, 5, 0.1)
    assert ll == pytest.approx(2 * math.log(0.9 * 0.5 + 0.02) + math.log(0.02))
    assert decisions_log_likelihood(0.8, 3, 1, 0.1) == pytest.approx(
        3 * math.log(0.9 * 0.8 + 0.05) + math.log(0.9 * 0.2 + 0.05))
    assert math.isfinite(decisions_log_likelihood(1.0, 0, 5, 0.02))


def test_posterior_is_prior_times_tempered_likelihood_and_thompson_follows_it():
    assert posterior([math.log(0.2), math.log(0.6)]) == pytest.approx([0.25, 0.75])
    # temperature 0.5 squares the likelihood ratio: 1:9
    assert posterior([math.log(1), math.log(3)], temperature=0.5) == pytest.approx([0.1, 0.9])
    assert posterior([0.0, 0.0], log_prior=[math.log(0.3), math.log(0.7)]) == pytest.approx(
        [0.3, 0.7])
    assert posterior([-5000.0, -5001.0]) == pytest.approx([1 / (1 + math.e ** -1), 0.2689414])
    rng = random.Random(1)
    draws = [thompson([0.2, 0.8], rng) for _ in range(2000)]
    assert 0.75 < draws.count(1) / 2000 < 0.85 and thompson([0.0, 1.0], rng) == 1


def _game(g: int, proposer: str, responder: str, offer: int, decision: str) -> Game:
    kinds = {"u": "fixed", "a": "flexible"}
    return Game(id=f"e0-g{g}", epoch=0, task="ultimatum", data=UltimatumOutcome(
        amount=10, currency="apples", offer=offer, decision=decision,
        proposer=Player(id=proposer, name=proposer, kind=kinds[proposer[0]]),
        responder=Player(id=responder, name=responder, kind=kinds[responder[0]])))


def test_evidence_is_the_users_offers_and_their_decisions_on_a_few_distinct_offers():
    games = [_game(0, "u1", "u2", 1, "accept"), _game(1, "u2", "a0", 2, "reject"),
             _game(2, "a0", "u1", 5, "accept"), _game(3, "a0", "u2", 5, "reject"),
             _game(4, "u1", "u2", 1, "accept")]
    ev = user_evidence(games, 5, random.Random(0))
    assert ev.offers == {(10, "apples"): [1, 2, 1]}  # the assistant's offer is not evidence
    assert ev.decisions == {(10, "apples", 1): [2, 0], (10, "apples", 5): [1, 1]}
    assert len(user_evidence(games, 1, random.Random(0)).decisions) == 1
    assert user_evidence(games, 0, random.Random(0)).decisions == {}


# -- (b) scripted runs ----------------------------------------------------------------------------
class ShareScorer(ScriptedBackend):
    """Plays every structured step by schema and scores offers as uniform over a share range
    chosen by the assistant's system prompt: selfish 0-0.2, fair 0.4-0.6, else 0.8-1."""

    identity = "scripted:bayes-shares"

    def __init__(self, **kwargs):
        proposals = iter(["Share generously with every partner you meet.",
                          "Mention 3 things.", "Always be kind and honest with people."] * 20)
        super().__init__(by_schema={
            "offer": lambda m, p: {"offer": p.json_schema["properties"]["offer"]["maximum"] // 2,
                                   "message": "Here."},
            "decision": lambda m, p: {"decision": "accept"},
            "principle": lambda m, p: {"principle": next(proposals)}}, **kwargs)
        self.scored: list[list[Message]] = []

    async def score(self, messages, continuations) -> ScoreResult:
        self.scored.append(messages)
        system = messages[0].content
        if continuations[0].startswith('{"decision"'):
            return ScoreResult(logprobs=[math.log(0.9), math.log(0.1)])
        lo, hi = (0.0, 0.2) if "keep as much" in system else \
            (0.4, 0.6) if "evenly" in system else (0.8, 1.0)
        prefixes = [c.removeprefix('{"offer": ') for c in continuations]
        top = max(int(p) for p in prefixes)
        offers = [n for n in range(top + 1) if round(lo * top) <= n <= round(hi * top)]
        mass = [sum(str(n).startswith(p) for n in offers) / len(offers) for p in prefixes]
        return ScoreResult(logprobs=[math.log(m) if m else -1000.0 for m in mass])


CONFIG = """\
kind: contract
name: bayes-tiny
seed: 5
epochs: {epochs}
task:
  type: ultimatum
  fixed: 4
  users: scripted
  groups: [{{policy: selfish}}]
  pairs: {{mixed: 3, fixed_fixed: 3}}
  amount: [20, 40]
  prior: altruistic
learner: {{type: bayes, pick: {pick}, proposals: 3, decisions: 2, temperature: 0.7}}
"""


def _config(tmp_path: Path, epochs: int = 3, pick: str = "map"):
    path = tmp_path / "bayes.yaml"
    path.write_text(CONFIG.format(epochs=epochs, pick=pick))
    return load_config(path)


def test_the_candidate_that_predicts_the_users_offers_gets_the_posterior_and_map_picks_it(
        tmp_path):
    store = RunStore(tmp_path / "runs")
    backend = ShareScorer()
    sim = simulate(_config(tmp_path), store, out_dir=tmp_path / "out", progress=False,
                   backend=backend, cache=False)
    r = sim.runs[0]
    assert [e.constitution.source for e in r.epochs] == ["prior", "bayes", "bayes"]
    c1 = r.epochs[1].constitution
    assert c1.principles == [SELFISH]
    pool = {c.principle: c for c in c1.posterior}
    # the priors, then the general proposals (the one with a number is refused)
    assert [c.source for c in c1.posterior] == [
        "prior:selfish", "prior:fair", "prior:altruistic", "proposed:e0", "proposed:e0"]
    assert pool[SELFISH].probability > 0.95
    assert sum(c.probability for c in c1.posterior) == pytest.approx(1.0)
    assert pool[SELFISH].log_likelihood > pool[FAIR].log_likelihood
    # the pool carries into the next epoch: same candidates, nothing new to add
    c2 = r.epochs[2].constitution
    assert [c.principle for c in c2.posterior] == [c.principle for c in c1.posterior]
    # cost: 3 proposals per learn; scoring, 5 candidates x (1 offer distribution per amount
    # seen so far + 2 decisions): 5 x 3 after epoch 0, 5 x 4 after epoch 1 (evidence: all)
    assert len(backend.structured_calls("principle")) == 6 and len(backend.scored) == 35
    out = tmp_path / "out"
    assert (out / "posterior.png").stat().st_size > 1000
    assert "Posterior" in (out / "constitutions.md").read_text()
    summary = (out / "summary.md").read_text()
    assert "Final posterior" in summary and "c0 'Look after your own" in summary
    stored = json.loads((out / "constitutions.json").read_text())
    assert stored[1]["posterior"][0]["source"] == "prior:selfish"

    # resume: every epoch and constitution is recorded, nothing calls the model
    again = ShareScorer()
    simulate(_config(tmp_path), store, resume=r.run_id, out_dir=tmp_path / "out2",
             progress=False, backend=again, cache=False)
    assert again.calls == [] and again.scored == []

    # the learner's own steps replay from the step log: the same posterior, no model call
    fresh = ShareScorer()
    run = store.open_run(r.run_id)
    task = open_task(_config(tmp_path), run, cache=False, backend=fresh)
    episodes = [task.episode(e.payload) for e in run.events("episode")]
    ctx = learning_context(task, _config(tmp_path).memory, 5, 0, r.epochs[0].constitution,
                           [], [e for e in episodes if e.epoch == 0])
    learner = LEARNERS["bayes"](_config(tmp_path).learner, task.table.steps, None)
    replayed = asyncio.run(learner.learn(ctx))
    assert replayed == c1 and fresh.calls == [] and fresh.scored == []


def test_thompson_sampling_is_seeded_and_draws_from_the_posterior(tmp_path):
    def learned(i: int):
        (tmp_path / str(i)).mkdir()
        sim = simulate(_config(tmp_path / str(i), epochs=2, pick="thompson"),
                       RunStore(tmp_path / str(i) / "runs"), out_dir=tmp_path / str(i) / "out",
                       progress=False, backend=ShareScorer(), cache=False)
        return sim.runs[0].epochs[1].constitution

    first, second = learned(0), learned(1)
    assert first == second  # same seed, same draw
    probs = [c.probability for c in first.posterior]
    drawn = thompson(probs, random.Random(derive_seed(5, "e0|thompson")))
    assert first.principles == [first.posterior[drawn].principle]
    assert "Thompson sample: candidate" in first.rationale


def test_a_backend_that_cannot_score_fails_at_the_first_learn_with_one_line(tmp_path):
    plays = ScriptedBackend(by_schema={
        "offer": lambda m, p: {"offer": 3, "message": "Here."},
        "decision": lambda m, p: {"decision": "accept"},
        "principle": lambda m, p: {"principle": "Share generously with every partner."}})
    with pytest.raises(ModelError) as err:
        simulate(_config(tmp_path), RunStore(tmp_path / "runs"), out_dir=tmp_path / "out",
                 progress=False, backend=plays, cache=False)
    assert "cannot score" in str(err.value) and "\n" not in str(err.value)


def test_a_game_without_action_distributions_is_refused_in_one_line():
    from scai.contract.bayes import BayesLearner
    from scai.contract.learner import LearnContext, LearnerConfig

    ctx = LearnContext(epoch=0, constitution=None, history=[], episodes=[], banned=[],
                       objective="", task=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a game that gives"):
        BayesLearner(LearnerConfig(type="bayes"), None, None).predictor(ctx)  # type: ignore[arg-type]


# -- (c) the embedded model -----------------------------------------------------------------------
@pytest.mark.model
def test_bayes_on_gemma_moves_toward_selfish_users(tmp_path):
    """Scripted selfish users, the altruistic prior: the posterior over the three priors favours
    the selfish one and the MAP constitution lowers the assistant's expected offer. Scoring is
    deterministic, so the movement is read exactly (the offer distribution, not a few samples);
    it is small because Gemma 270M is barely steerable on this game (docs/contract.md)."""
    import asyncio

    from scai.contract.steerability import expected_share, open_ultimatum

    path = tmp_path / "g.yaml"
    path.write_text("""\
kind: contract
name: bayes-gemma
seed: 1
epochs: 2
model: {model: "local:gemma-270m"}
task:
  type: ultimatum
  fixed: 9
  users: scripted
  groups: [{policy: selfish}]
  pairs: {mixed: 1, fixed_fixed: 4}
  amount: [100, 100]
  prior: altruistic
  messages: false
learner: {type: bayes, proposals: 0, decisions: 1, pick: map}
""")
    config = load_config(path)
    sim = simulate(config, RunStore(tmp_path / "runs"), out_dir=tmp_path / "out",
                   progress=False)
    r = sim.runs[0]
    c0, c1 = r.epochs[0].constitution, r.epochs[1].constitution
    assert c1.source == "bayes" and len(c1.posterior) == 3
    assert sum(c.probability for c in c1.posterior) == pytest.approx(1.0)
    assert all(math.isfinite(c.log_likelihood) for c in c1.posterior)
    best = max(c1.posterior, key=lambda c: c.probability)
    assert best.source == "prior:selfish" and c1.principles == [best.principle]
    game = open_ultimatum(config)

    async def shares():
        return [(await expected_share(game, c, 100, "dollars", f"t|{i}"))[0]
                for i, c in enumerate((c0, c1))]

    before, after = asyncio.run(shares())
    assert after < before  # toward the users' ~0.1 share
    assert "posterior.png" in {p.name for p in (tmp_path / "out").iterdir()}
