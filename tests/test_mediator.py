"""The mediator learner: scripted rankers whose Condorcet winner is known (Schulze elects it,
plurality does not), scripted users with known utilities through a whole simulation, resume
without the model, one-line config errors, and one epoch on the embedded model."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from pathlib import Path

import pytest

from scai.contract import simulate
from scai.contract.learner import LEARNERS, learning_context
from scai.contract.mediator import critique_line, repair_ranking
from scai.contract.mediator_members import LADDER, Member
from scai.contract.mediator_record import mediation_of
from scai.contract.simulate import open_task
from scai.errors import ConfigError
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import scai
from tests.scripted import ScriptedBackend

SELFISH = "Keep the most for your own side and look after yourself first."
FAIR = "Share things evenly with everyone you deal with."
ALTRUIST = "Put the other person first and give them nearly everything."
REVISION = "Be kind to everyone and share with care."
# Each group's ranking of the three drafts. 4 selfish, 3 altruistic, 2 fair voters: first
# places S 4, A 3, F 2 (plurality: S); F beats S 5-4 and A 6-3 (the Condorcet winner).
PREFERS = {"selfish": [SELFISH, FAIR, ALTRUIST], "altruistic": [ALTRUIST, FAIR, SELFISH],
           "fair": [FAIR, SELFISH, ALTRUIST]}
ENDORSE = {"selfish": "2", "altruistic": "3", "fair": "5"}


def _group(messages) -> str:
    system = messages[0].content
    return next(g for g in PREFERS if f"be {g}" in system)


def _shown(messages) -> dict[str, str]:
    """letter -> candidate text, as the member was shown them."""
    return dict(re.findall(r"^([A-P]): (.+)$", messages[-1].content, re.MULTILINE))


class Deliberation(ScriptedBackend):
    """LLM users and a mediator played by script: three drafts, rankings by group, a revision
    that nobody prefers, endorsements by group."""

    identity = "scripted:mediator"

    def __init__(self, prefer_revision: bool = False):
        drafts = iter([SELFISH, FAIR, ALTRUIST] * 10)

        def statement(m, p):
            return {"statement": REVISION if "critiques" in m[-1].content else next(drafts)}

        def ranking(m, p):
            by_text = {t: k for k, t in _shown(m).items()}
            return {"ranking": [by_text[t] for t in PREFERS[_group(m)]]}

        def choice(m, p):  # the revision, or the version that is not the revision
            a = re.search(r"^A: (.+)$", m[-1].content, re.MULTILINE).group(1)
            return {"choice": "A" if (a == REVISION) == prefer_revision else "B"}

        super().__init__(by_schema={
            "offer": lambda m, p: {"offer": p.json_schema["properties"]["offer"]["maximum"] // 2,
                                   "message": "Here."},
            "decision": lambda m, p: {"decision": "accept"},
            "opinion": lambda m, p: {"opinion": f"I am {_group(m)} and proud of it."},
            "statement": statement, "ranking": ranking, "choice": choice,
            "critique": lambda m, p: {"critique": "Make it clearer."},
            "rating": lambda m, p: {"rating": ENDORSE[_group(m)]}})


LLM_CONFIG = """\
kind: contract
name: mediator-scripted
seed: 2
epochs: 2
task:
  type: ultimatum
  fixed: 9
  users: llm
  groups: [{policy: selfish, weight: 4}, {policy: altruistic, weight: 3}, {policy: fair, weight: 2}]
  pairs: {fixed_fixed: 1}
  prior: fair
learner: {type: mediator, rule: RULE, candidates: 3, rounds: 1}
"""


def _config(tmp_path: Path, text: str, **subs: str):
    for k, v in subs.items():
        text = text.replace(k, v)
    path = tmp_path / "mediator.yaml"
    path.write_text(text)
    return load_config(path)


def test_schulze_elects_the_condorcet_winner_that_plurality_misses(tmp_path):
    store = RunStore(tmp_path / "runs")
    backend = Deliberation()
    config = _config(tmp_path, LLM_CONFIG, RULE="schulze")
    sim = simulate(config, store, out_dir=tmp_path / "out", progress=False, backend=backend,
                   cache=False)
    c1 = sim.runs[0].epochs[1].constitution
    m = mediation_of(c1)
    assert c1.source == "mediator" and c1.principles == [FAIR]
    assert sorted(m.candidates) == sorted([SELFISH, FAIR, ALTRUIST])
    fair, selfish = m.candidates.index(FAIR), m.candidates.index(SELFISH)
    assert m.condorcet == fair and m.winner == fair
    assert {r: o.winner for r, o in m.outcomes.items()} == {
        "schulze": fair, "borda": fair, "plurality": selfish, "maximin": fair}
    assert all(o.mean_utility is None for o in m.outcomes.values())  # LLM users: no utilities
    # every member ranked all three, shown in its own order (against position bias)
    assert all(sorted(v.ranking) == [0, 1, 2] and v.repaired == 0 for v in m.members)
    orders = {tuple(_shown(msgs).values()) for msgs, _ in backend.structured_calls("ranking")}
    assert len(orders) > 1
    ranks = {(v.group, v.winner_rank) for v in m.members}
    assert ranks == {("fair", 1), ("selfish", 2), ("altruistic", 2)}
    assert {(v.group, v.endorsement) for v in m.members} == {
        ("selfish", 2.0), ("altruistic", 3.0), ("fair", 5.0)}
    # one round: every member critiqued, the revision was offered, nobody preferred it
    assert m.rounds[0].revision == REVISION and m.rounds[0].preferred_by == 0
    assert not m.rounds[0].adopted and all(v.critiques == ["Make it clearer."] for v in m.members)
    assert len(backend.structured_calls("opinion")) == 9
    assert "schulze elected" in c1.rationale and "Condorcet winner: c" in c1.rationale

    # the record is stored with the constitution; the learner's steps replay without the model
    stored = [e.payload for e in store.events(sim.runs[0].run_id, "constitution")]
    assert mediation_of(stored[1]) == m
    fresh = Deliberation()
    run = store.open_run(sim.runs[0].run_id)
    task = open_task(config, run, cache=False, backend=fresh)
    episodes = [task.episode(e.payload) for e in run.events("episode")]
    ctx = learning_context(task, config.memory, 2, 0, sim.runs[0].epochs[0].constitution, [],
                           [e for e in episodes if e.epoch == 0])
    replayed = asyncio.run(LEARNERS["mediator"](config.learner, task.table.steps, None).learn(ctx))
    assert replayed == c1 and fresh.calls == []
    # a resumed run finds every episode and constitution recorded: no model call
    again = Deliberation()
    resumed = simulate(config, store, resume=sim.runs[0].run_id, out_dir=tmp_path / "out2",
                       progress=False, backend=again, cache=False)
    assert again.calls == []
    # ... and the deliberation with it: the resumed summary reports the same vote
    assert mediation_of(resumed.runs[0].epochs[1].constitution) == m
    assert "schulze elected" in (tmp_path / "out2" / "summary.md").read_text()


def test_plurality_elects_the_largest_groups_favourite_on_the_same_rankings(tmp_path):
    sim = simulate(_config(tmp_path, LLM_CONFIG, RULE="plurality"), RunStore(tmp_path / "runs"),
                   out_dir=tmp_path / "out", progress=False, backend=Deliberation(), cache=False)
    assert sim.runs[0].final.principles == [SELFISH]


def test_a_revision_the_members_prefer_replaces_the_winner(tmp_path):
    sim = simulate(_config(tmp_path, LLM_CONFIG, RULE="schulze"), RunStore(tmp_path / "runs"),
                   out_dir=tmp_path / "out", progress=False,
                   backend=Deliberation(prefer_revision=True), cache=False)
    m = mediation_of(sim.runs[0].final)
    assert m.winner == m.candidates.index(FAIR) and m.final == REVISION
    assert m.rounds[0].adopted and m.rounds[0].preferred_by == 9
    assert sim.runs[0].final.principles == [REVISION]


SCRIPTED_CONFIG = """\
kind: contract
name: mediator-ladder
seed: 4
epochs: 3
task:
  type: ultimatum
  fixed: 9
  users: scripted
  groups: [{policy: selfish, weight: 4}, {policy: fair, weight: 2}, {policy: altruistic, weight: 3}]
  pairs: {fixed_fixed: 2}
learner: {type: mediator, drafter: ladder, rule: RULE, candidates: 5, rounds: 2}
"""


def test_scripted_users_with_known_utilities_the_rules_compared_and_the_reports(tmp_path):
    """No model at all: scripted users, fixed-fixed games, candidates from the ladder. With
    single-peaked utilities and 9 voters, the Condorcet winner is the median member's favourite
    candidate; utility maximin elects the candidate with the best worst-off member."""
    backend = ScriptedBackend()
    store = RunStore(tmp_path / "runs")
    sim = simulate(_config(tmp_path, SCRIPTED_CONFIG, RULE="schulze"), store, runs=2,
                   out_dir=tmp_path / "out", progress=False, backend=backend, cache=False)
    assert backend.calls == []
    meds = [mediation_of(e.constitution) for r in sim.runs for e in r.epochs[1:]]
    assert len(meds) == 4 and all(m.scripted for m in meds)
    for m in meds:
        median = sorted(m.members, key=lambda v: LADDER.generosity(v.opinion))[4]
        assert m.condorcet == median.ranking[0] == m.winner == m.outcomes["schulze"].winner
        mins = [min(v.utilities[c] for v in m.members) for c in range(len(m.candidates))]
        assert m.outcomes["maximin"].min_utility == pytest.approx(max(mins))
        for rule, o in m.outcomes.items():
            assert o.mean_utility == pytest.approx(statistics.mean(
                v.utilities[o.winner] for v in m.members)), rule
        final = LADDER.generosity(m.final)
        assert all(v.endorsement == pytest.approx(1 - abs(final - v.ideal)) for v in m.members)
        assert m.final_min_utility == pytest.approx(min(v.endorsement for v in m.members))
    out = tmp_path / "out"
    summary = (out / "summary.md").read_text()
    assert "Mediation (mediator learner)" in summary and "| plurality |" in summary
    assert (out / "mediator_rules.png").stat().st_size > 1000
    agg = json.loads((out / "aggregate.json").read_text())["mediation"]
    assert agg["mediations"] == 4 and agg["ci_over"] == "runs"
    assert agg["rules"]["maximin"]["min utility"]["n"] == 2
    assert {g["group"] for g in agg["groups"]} == {"selfish", "fair", "altruistic"}
    assert "Condorcet winner" in (out / "run-0" / "constitutions.md").read_text()


def test_the_ladder_reads_principles_and_steps_toward_what_critics_ask():
    """Rungs read exactly, other texts by their cue words; a step moves one rung."""
    rungs = sorted(LADDER.rungs, key=lambda r: r.generosity)
    assert LADDER.step(rungs[4].text, 1.0) == rungs[5].text
    assert LADDER.step(rungs[4].text, 0.0) == rungs[3].text
    assert LADDER.step(rungs[4].text, 0.5) == rungs[4].text
    assert [LADDER.generosity(r.text) for r in rungs] == [r.generosity for r in rungs]
    assert LADDER.generosity("Share evenly and give to others.") == pytest.approx(
        (0.5 + 0.5 + 0.9) / 3)
    assert LADDER.generosity("Be honest.") == 0.5
    wants_more = Member(id="u", name="U", kind="scripted", persona="", group="altruistic",
                        ideal=0.9)
    assert critique_line(wants_more, rungs[4].text).startswith("It should ask the assistant to "
                                                               "give others more")
    assert wants_more.utility(rungs[8].text) == pytest.approx(0.9)


def test_a_ranking_with_repeated_or_missing_letters_is_completed_in_the_order_shown():
    # shown as A=c2, B=c0, C=c1; the member wrote A, A, C
    assert repair_ranking(["A", "A", "C"], [2, 0, 1]) == ([2, 1, 0], 1)
    assert repair_ranking([], [1, 0]) == ([1, 0], 2)


@pytest.mark.parametrize(("body", "message"), [
    ("learner: {type: mediator, rule: dictatorship}", "learner.rule"),
    ("learner: {type: mediator, candidates: 1}", "learner.candidates"),
    ("learner: {type: mediator, drafter: oracle}", "learner.drafter"),
])
def test_config_errors_are_one_line(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"kind: contract\n{body}\n")
    with pytest.raises(ConfigError, match="bad.yaml") as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    result = scai("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_ladder_drafter_with_llm_users_stops_at_the_first_learn_with_one_line(tmp_path):
    text = LLM_CONFIG.replace("candidates: 3", "candidates: 3, drafter: ladder")
    with pytest.raises(ConfigError, match="needs scripted users") as info:
        simulate(_config(tmp_path, text, RULE="schulze"), RunStore(tmp_path / "runs"),
                 out_dir=tmp_path / "out", progress=False, backend=Deliberation(), cache=False)
    assert "\n" not in str(info.value)


@pytest.mark.model
def test_one_mediation_on_the_embedded_model(tmp_path):
    """Two LLM users and the real SmolLM2 mediator, two candidates, one round: whatever the
    135M model writes, the record is complete and well-formed."""
    path = tmp_path / "tiny.yaml"
    path.write_text("""\
kind: contract
name: mediator-tiny
seed: 0
epochs: 2
params: {temperature: 0.7, max_tokens: 24, repeat_penalty: 1.3}
task:
  type: ultimatum
  fixed: 2
  users: llm
  groups: [{policy: selfish}, {policy: altruistic}]
  pairs: {mixed: 1}
  prior: fair
  messages: false
learner: {type: mediator, candidates: 2, rounds: 1, max_tokens: 40, member_tokens: 24, retries: 0}
""")
    sim = simulate(load_config(path), RunStore(tmp_path / "runs"), out_dir=tmp_path / "out",
                   progress=False)
    c1 = sim.runs[0].epochs[1].constitution
    assert c1.source in ("mediator", "kept")
    m = mediation_of(c1)
    if m is None:  # every draft was refused as not general: the reason is said
        assert "usable candidate" in c1.rationale
        return
    assert len(m.candidates) == 2 and len(m.members) == 2
    assert all(sorted(v.ranking) == [0, 1] and 1 <= v.winner_rank <= 2 for v in m.members)
    assert all(v.endorsement is None or v.endorsement in {1, 2, 3, 4, 5} for v in m.members)
    assert c1.principles == [m.final] and len(m.rounds) == 1
    assert "Mediation" in (tmp_path / "out" / "summary.md").read_text()
