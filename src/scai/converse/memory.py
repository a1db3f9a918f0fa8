"""Memory for the 'summarise' context policy: what no longer fits an agent's budget, summarised
by its own model (one logged, resumable step per agent and cut-off point)."""

from __future__ import annotations

from scai.converse.agent import PROMPTS, Agent, render_statement, trim
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
    policy is not 'summarise')."""
    if floor.config.context.policy != "summarise":
        return None
    view = trim(visible, floor.config.context)
    if not view.dropped:
        return None
    key = floor.key(round_, turn, f"{agent.name}-memory-upto-{view.dropped[-1].index}")
    step = await floor.call(agent.client, key, summary_messages(agent.name, view.dropped),
                            "memory")
    return step.text
