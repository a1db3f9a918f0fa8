"""How a completion (base) model is prompted: chat messages rendered as a plain transcript.

A base model has no chat template, so scai renders the messages as a document it can continue:

    <system message>

    User: <user message>

    Assistant: <assistant message>

    User: <user message>

    Assistant: 

The reply is the model's continuation after the final "Assistant: " and stops at the next turn
marker (`STOP`). A JSON schema is still enforced by a grammar on llama.cpp, so structured output
works as on a chat model. Several system messages are joined; a conversation without one starts
at the first turn. The format is versioned (`TRANSCRIPT_VERSION`) because it is part of every
cache key of a completion model: change it and old replies are no longer reused.
"""

from __future__ import annotations

from scai.llm.types import Message

TRANSCRIPT_VERSION = "transcript-v1"
SPEAKERS = {"user": "User", "assistant": "Assistant"}
#: The turn markers a completion model's reply stops at.
STOP: tuple[str, ...] = ("\nUser:", "\nAssistant:", "\nSystem:")


def render_transcript(messages: list[Message]) -> str:
    """The prompt text a completion model continues (ends with the assistant's cue)."""
    system = "\n\n".join(m.content.strip() for m in messages if m.role == "system")
    turns = [f"{SPEAKERS[m.role]}: {m.content.strip()}" for m in messages if m.role != "system"]
    parts = ([system] if system else []) + turns
    return "\n\n".join([*parts, "Assistant: "])


def completion_stops(stop: tuple[str, ...]) -> list[str]:
    """The request's own stop sequences plus the transcript's turn markers."""
    return list(dict.fromkeys([*stop, *STOP]))
