"""The moderator: a model that picks who speaks next, ends the round, or stops the conversation.

It reads the newest statements whatever their visibility (it chairs; it sees everything), and
answers with structured output, so a reply is always one of the names it was offered. What
changes every call (the round, the turns so far, who has spoken) closes its prompt.
"""

from __future__ import annotations

from scai.converse.agent import PROMPTS, render_statement
from scai.converse.floor import Floor
from scai.converse.transcript import Statement
from scai.converse.window import cut_point
from scai.errors import ParseFailure
from scai.llm import Message

END = "END"  # the moderator ends the round
STOP = "STOP"  # the moderator ends the conversation
HISTORY = 12  # the most statements the moderator reads


def moderator_history(floor: Floor) -> list[Statement]:
    """The newest statements, at most HISTORY, cut by the scenario's context policy: a block at
    a time (the moderator's prompt stays the same but for its end between cuts), or sliding."""
    statements = floor.transcript.all_seeing_view()
    low = floor.config.context.low_mark(HISTORY)
    return statements[cut_point([1] * len(statements), HISTORY, low):]


async def choose_next(floor: Floor, round_: int, spoken: list[str]) -> str:
    """The next speaker, END or STOP; a reply that does not parse falls back to the next
    speaker not yet heard this round (logged as a `parse_failure` event and counted)."""
    policy = floor.config.turn_policy
    client = floor.pool.get(policy.moderator_model or floor.config.model)
    names = list(floor.agents)
    key = floor.key(round_, floor.turn, "moderator-choice")
    # Nobody speaks twice in a row: a small moderator otherwise loops on one name.
    options = [n for n in names if not spoken or n != spoken[-1] or len(names) == 1]
    options += [END] if spoken else []
    if spoken and policy.moderator_can_stop:
        options.append(STOP)
    schema = {"type": "object", "properties": {"next": {"type": "string", "enum": options}},
              "required": ["next"]}
    history = "\n".join(render_statement(s) for s in moderator_history(floor))
    messages = [
        Message(role="system", content=PROMPTS["moderator_system"].render(
            instructions=policy.moderator_prompt, names=", ".join(names))),
        Message(role="user", content=(history + "\n\n" if history else "") + PROMPTS[
            "moderator_ask"].render(round=round_, rounds=floor.config.rounds,
                                    turns=len(spoken), spoken=", ".join(spoken) or "nobody")),
    ]
    try:
        step = await floor.call(client, key, messages, "moderator", schema, 24)
    except ParseFailure as exc:
        # Not silent: keyed_call counted it; logged here, and the round goes on.
        floor.log.event("parse_failure", {"step": key, "error": str(exc)})
        unheard = [n for n in names if n not in spoken]
        return unheard[0] if unheard else END
    return step.parsed["next"]
