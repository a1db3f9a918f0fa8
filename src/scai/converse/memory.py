"""Memory for the summarising context policies: what no longer fits an agent's budget,
summarised by its own model (one logged, resumable step per agent and cut-off point)."""

from __future__ import annotations

from scai.converse.agent import PROMPTS, Agent, Memory, render_statement, trim
from scai.converse.floor import Floor
from scai.converse.transcript import Statement
from scai.llm import Message

MAX_CHARS = 12000  # the newest part of the dropped record that the summariser reads


def summary_messages(name: str, statements: list[Statement]) -> list[Message]:
    """The prompt that summarises `statements` for `name` (memory, deliberation summaries)."""
    text = "\n".join(render_statement(s) for s in statements)
    return [
        Message(role="system", content=PROMPTS["summarise_system"].render(name=name)),
        Message(role="user", content=text[-MAX_CHARS:]),
    ]


async def memory_of(floor: Floor, agent: Agent, visible: list[Statement], round_: int,
                    turn: int) -> str | None:
    """A summary of what was dropped from `agent`'s view, or None (nothing dropped, or the
    policy does not summarise). With a block policy the summary is written once per cut and
    reused until the cut moves, so the prompt's opening stays the same between cuts."""
    policy = floor.config.context
    if not policy.summarises:
        return None
    view = trim(visible, policy)
    if not view.dropped:
        return None
    last = view.dropped[-1]
    # Block: keyed by the cut alone (the round and turn of the last statement summarised).
    # Sliding: at the turn that reads it, as recorded runs were (their keys replay as they are).
    at = (round_, turn) if policy.sliding else (last.round, last.turn)
    key = floor.key(*at, f"{agent.name}-memory-upto-{last.index}")
    if agent.memory is not None and agent.memory.key == key:
        return agent.memory.text
    step = await floor.call(agent.client, key, summary_messages(agent.name, view.dropped),
                            "memory")
    agent.memory = Memory(key, step.text)
    return step.text
