"""Nested deliberation: an agent's sub-agents talk privately before it speaks; only the outcome
enters the outer conversation. The inner conversation is private by construction: it lives in
`Transcript.nested`, under the key of the turn it produced, never in the outer statements."""

from __future__ import annotations

from scai.converse.agent import PROMPTS, Agent, ScenarioState, render_statement
from scai.converse.floor import Floor
from scai.converse.memory import summary_messages
from scai.converse.scenario import ConverseConfig, Deliberation
from scai.converse.transcript import Statement, Transcript

RECENT = 12  # statements since the agent last spoke that its board is briefed with


def briefing_for(agent: Agent, visible: list[Statement]) -> str:
    """What the board hears: what happened since the agent last spoke (or, if nothing, the last
    few statements by others), and the agent's private notes."""
    last_own = max((i for i, s in enumerate(visible) if s.speaker == agent.name), default=-1)
    others = [s for s in visible if s.speaker != agent.name]
    latest = visible[last_own + 1:][-RECENT:] or others[-4:]
    notes = (PROMPTS["private_notes"].render(notes=agent.private_notes)
             if agent.private_notes else "")
    return PROMPTS["briefing"].render(
        agent=agent.name, statements="\n".join(render_statement(s) for s in latest) or "(none yet)",
        notes=notes,
    )


def inner_config(outer: ConverseConfig, agent: Agent, deliberation: Deliberation,
                 state: ScenarioState) -> ConverseConfig:
    """The deliberation as a conversation of its own (same seed, params, setting, context)."""
    return ConverseConfig(
        name=f"{agent.name} deliberation", model=agent.spec.model or outer.model,
        params=outer.params, seed=outer.seed, setting=outer.setting,
        rounds=deliberation.rounds, agents=deliberation.members,
        turn_policy=deliberation.turn_policy, context=outer.context,
        turn_instruction=deliberation.prompt.format(
            agent=agent.name, round=state.round, year=state.year),
    )


async def deliberate(
    floor: Floor, agent: Agent, deliberation: Deliberation, key: str, visible: list[Statement],
    state: ScenarioState, memory: str | None,
) -> tuple[str, int, Transcript]:
    """Run the board; then the chair writes the agent's statement ('chair'), or the agent speaks
    given a summary of the board ('summary'). Returns (text, tokens, the board's transcript)."""
    inner = floor.nested(inner_config(floor.config, agent, deliberation, state), path=key,
                         briefing=briefing_for(agent, visible), year=state.year)
    board = (await inner.run()).transcript
    if deliberation.outcome == "chair":
        chair = inner.agents[deliberation.chair or deliberation.members[0].name]
        chair_state = ScenarioState(state.round, state.rounds, state.year, chair.name)
        messages = chair.messages(board.visible_to(chair.name), chair_state,
                                  PROMPTS["chair_outcome"].render(agent=agent.name))
        step = await floor.call(chair.client, key, messages, "outcome")
        return step.text, step.tokens, board
    summary = await floor.call(agent.client, f"{key}|summary",
                               summary_messages(agent.name, board.speeches()),
                               "deliberation-summary")
    messages = agent.messages(visible, state, floor.config.turn_instruction, memory,
                              extra=PROMPTS["summary_outcome"].render(summary=summary.text))
    step = await floor.call(agent.client, key, messages, "outcome")
    return step.text, step.tokens, board
