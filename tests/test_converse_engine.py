"""The Converse engine with a scripted model: visibility, turn policies, nesting, context,
termination, judges. Exact, fast, and each test fails if its invariant breaks."""

from __future__ import annotations

import asyncio

import pytest

from scai.config import validate_as
from scai.converse import Conversation, ConverseConfig, judge_steps
from scai.llm import ModelSettings
from scai.steps import ClientPool, KeyedLog
from tests.converse_script import AgentScript


def scenario(**overrides) -> ConverseConfig:
    data = {
        "kind": "converse", "name": "t", "rounds": 2, "seed": 1,
        "params": {"max_tokens": 20},
        "agents": [
            {"name": "A", "persona": "Agent A.", "private_notes": "SECRET-A"},
            {"name": "B", "persona": "Agent B."},
            {"name": "C", "persona": "Agent C.", "hears": ["A"]},
        ],
    }
    data.update(overrides)
    return validate_as(ConverseConfig, data, "test")


def play(config: ConverseConfig, backend: AgentScript, log: KeyedLog | None = None):
    pool = ClientPool(ModelSettings(), cache=None, backend=backend)
    return asyncio.run(Conversation(config, pool, log or KeyedLog()).run())


def speakers(outcome, round_=None):
    return [s.speaker for s in outcome.transcript.speeches() if round_ is None or s.round == round_]


def test_an_agent_sees_only_what_is_visible_to_it():
    backend = AgentScript()
    out = play(scenario(), backend)
    by_b = [s for s in out.transcript.statements if s.speaker == "B"]
    assert by_b and all(s.visible_to == ("A", "B") for s in by_b)  # C does not hear B
    for prompt in backend.prompts_of("C"):
        assert "B statement" not in prompt
    assert any("A statement" in p for p in backend.prompts_of("C"))
    for name in ("B", "C"):
        assert all("SECRET-A" not in p for p in backend.prompts_of(name))
    assert all("SECRET-A" in p for p in backend.prompts_of("A"))
    # and the transcript's own view function agrees with what the prompts held
    assert all(s.speaker != "B" for s in out.transcript.visible_to("C"))
    by_c = [s for s in out.transcript.statements if s.speaker == "C"]
    assert by_c and all(s.visible_to is None for s in by_c)  # everyone hears C, C included


def test_each_prompt_holds_every_earlier_visible_statement():
    backend = AgentScript()
    out = play(scenario(rounds=3), backend)
    speeches = out.transcript.speeches()
    calls = [(msgs, p) for msgs, p in backend.calls if p.json_schema is None]
    assert len(calls) == len(speeches) == 9
    for (msgs, _), statement in zip(calls, speeches):
        prompt = "\n".join(m.content for m in msgs)
        earlier = [s for s in speeches if s.turn < statement.turn and s.visible(statement.speaker)]
        for s in earlier:
            assert s.content in prompt, (statement.key, s.content)
        assert statement.content not in prompt  # it is answering, not echoing itself
        assert f"Round {statement.round} of 3" in prompt and f"Your turn, {statement.speaker}" in prompt


def test_round_robin_rotates_and_fixed_order_repeats():
    out = play(scenario(rounds=3), AgentScript())
    assert speakers(out, 1) == ["A", "B", "C"]
    assert speakers(out, 2) == ["B", "C", "A"]
    assert speakers(out, 3) == ["C", "A", "B"]
    fixed = play(scenario(turn_policy={"type": "fixed_order", "order": ["C", "A"]}), AgentScript())
    assert speakers(fixed) == ["C", "A", "C", "A"]


def test_simultaneous_moves_answer_the_same_state_concurrently():
    backend = AgentScript(delay=0.05)
    out = play(scenario(turn_policy={"type": "simultaneous"}), backend)
    assert backend.max_in_flight == 3
    round1 = [p for msgs, p in backend.calls][:3]
    assert len(round1) == 3
    for name in ("A", "B", "C"):
        first = backend.prompts_of(name)[0]
        assert " statement 1" not in first  # nobody saw anybody's round-1 move
    assert speakers(out, 1) == ["A", "B", "C"]


def test_moderator_picks_speakers_and_ends_rounds():
    backend = AgentScript(picks=["B", "A", "END", "C", "END"])
    out = play(scenario(turn_policy={"type": "moderator"}), backend)
    assert speakers(out, 1) == ["B", "A"] and speakers(out, 2) == ["C"]
    first_choice = backend.calls[0][1].json_schema["properties"]["next"]["enum"]
    assert first_choice == ["A", "B", "C"]  # END and STOP only once someone has spoken
    later = backend.calls[2][1].json_schema["properties"]["next"]["enum"]
    assert later == ["A", "C", "END", "STOP"]  # B just spoke: not twice in a row
    stopped = play(scenario(rounds=3, turn_policy={"type": "moderator"}),
                   AgentScript(picks=["C", "STOP"]))
    assert stopped.stop_reason == "moderator" and speakers(stopped) == ["C"]


def test_termination_rules():
    assert play(scenario(termination={"max_turns": 2}), AgentScript()).stop_reason == "max_turns"
    out = play(scenario(termination={"phrase": "b statement 1"}), AgentScript())
    assert out.stop_reason == "phrase" and speakers(out) == ["A", "B"]
    out = play(scenario(termination={"token_budget": 40}, rounds=5), AgentScript())
    assert out.stop_reason == "token_budget" and len(speakers(out)) == 3  # 15 tokens a turn
    judged = scenario(rounds=5, termination={"judge": True},
                      judges=[{"name": "j", "metrics": []}])
    backend = AgentScript(finished_after=2)
    pool = ClientPool(ModelSettings(), cache=None, backend=backend)

    async def judge_done(transcript, key):
        from scai.converse.judge import judge_finished

        return await judge_finished(judged.judges[0], pool.get(), transcript, seed=0)

    out = asyncio.run(Conversation(judged, pool, KeyedLog(), judge_done=judge_done).run())
    assert out.stop_reason == "judge" and out.rounds_run == 2


BOARDS = {
    "agents": [
        {"name": "LabX", "persona": "A lab.", "private_notes": "LABX-SECRET",
         "deliberation": {
             "members": [
                 {"name": "CEO", "persona": "Chief executive."},
                 {"name": "Safety", "persona": "Head of safety.",
                  "deliberation": {"members": [{"name": "S1", "persona": "Engineer."},
                                               {"name": "S2", "persona": "Auditor."}]}},
             ],
             "chair": "CEO"}},
        {"name": "LabY", "persona": "Another lab."},
    ],
}


def test_nested_deliberation_to_depth_two():
    backend = AgentScript()
    out = play(scenario(rounds=1, **BOARDS), backend)
    assert speakers(out) == ["LabX", "LabY"]  # only the outcome enters the outer conversation
    labx = out.transcript.speeches()[0]
    assert labx.kind == "outcome" and labx.content.startswith("CEO statement")
    board = out.transcript.nested[labx.key]
    assert [s.speaker for s in board.speeches()] == ["CEO", "Safety"]
    safety = board.speeches()[1]
    team = board.nested[safety.key]
    assert [s.speaker for s in team.speeches()] == ["S1", "S2"]
    assert safety.content.startswith("S1 statement")  # the team's chair wrote Safety's line
    # the board knows its lab's private notes; LabY never sees any of it
    assert all("LABX-SECRET" in p for p in backend.prompts_of("CEO"))
    private = [s.content for t in (board, team) for s in t.speeches() if s.content != labx.content]
    assert private and all(text not in p for text in private for p in backend.prompts_of("LabY"))
    assert all("You are advising" not in p for p in backend.prompts_of("LabY"))


def test_sub_agents_see_what_their_parent_sees_of_the_outer_conversation():
    backend = AgentScript()
    config = scenario(rounds=2, turn_policy={"type": "fixed_order", "order": ["LabY", "LabX"]},
                      **BOARDS)
    play(config, backend)
    ceo_prompts = backend.prompts_of("CEO")
    # LabY speaks first in round 1; the board deliberating for LabX must have read it
    assert "LabY statement 1" in ceo_prompts[0]
    assert any("LabY statement 2" in p for p in ceo_prompts)


def test_context_is_trimmed_but_state_is_always_explicit():
    backend = AgentScript(long=60)
    config = scenario(rounds=8, start_year=2030, context={"max_tokens": 200, "keep_last": 2})
    play(config, backend)
    last = backend.prompts_of("A")[-1]
    assert "earlier statements are not shown" in last
    assert "Round 8 of 8" in last and "The year is 2037" in last
    assert len(last) < 4000
    summarised = AgentScript(long=60)
    config = scenario(rounds=4, context={"max_tokens": 200, "keep_last": 2, "policy": "summarise"})
    play(config, summarised)
    assert any(AgentScript.speaker(m) == "memory-of-A" for m, _ in summarised.calls)
    assert "Summary of the earlier conversation" in summarised.prompts_of("A")[-1]


def test_judge_scores_parse_or_fail_loudly():
    config = scenario(judges=[{"name": "j", "metrics": [
        {"name": "disagreement", "description": "d", "min": 1, "max": 5}]}])
    out = play(config, AgentScript())
    pool = ClientPool(ModelSettings(), cache=None, backend=AgentScript())
    log = KeyedLog()
    good = asyncio.run(judge_steps(config.judges[0], pool.get(), out.transcript, log, seed=0))
    assert good.ok and good.scores == {"disagreement": 5}
    assert set(log.all()) == {"judge|j|summary", "judge|j|scores"}  # both are keyed steps
    broken = ClientPool(ModelSettings(), cache=None, backend=AgentScript(judge="{\"scores\": 7}"))
    bad_log = KeyedLog()
    bad = asyncio.run(judge_steps(config.judges[0], broken.get(), out.transcript, bad_log,
                                  seed=0))
    assert not bad.ok and bad.scores is None and "failed its JSON schema" in bad.error
    # the failure is recorded under its key: a resumed run replays it, never asks again
    again = asyncio.run(judge_steps(config.judges[0], broken.get(), out.transcript, bad_log,
                                    seed=0))
    assert again.error == bad.error and bad_log.replayed == 2


@pytest.mark.parametrize("bad, message", [
    ({"agents": [{"name": "A", "persona": "x"}, {"name": "A", "persona": "y"}]}, "unique"),
    ({"agents": [{"name": "A", "persona": "x", "hears": ["Z"]}]}, "unknown agent 'Z'"),
    ({"turn_policy": {"type": "fixed_order", "order": ["Q"]}}, "unknown agents"),
    ({"termination": {"judge": True}}, "needs at least one judge"),
    ({"agents": [{"name": "moderator", "persona": "x"}]}, "reserved"),
])
def test_scenario_mistakes_are_caught(bad, message):
    from scai.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        scenario(**bad)


@pytest.mark.parametrize("bad, message", [
    ({"round_prompt": "It is {yaer}."}, "unknown placeholder"),
    ({"round_prompt": "Report {"}, "literal braces"),
    ({"round_prompt": "It is {year}."}, "set start_year"),
])
def test_round_prompt_placeholders_are_checked(bad, message):
    from scai.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        scenario(**bad)


def test_every_turn_policy_type_has_exactly_one_component():
    from typing import get_args

    from scai.converse import TURN_POLICIES
    from scai.converse.scenario import TurnPolicy

    assert set(TURN_POLICIES) == set(get_args(TurnPolicy.model_fields["type"].annotation))
