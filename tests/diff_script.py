"""A scripted model for `scai diff` tests: plays both sides, the supervisor and the judge."""

from __future__ import annotations

import asyncio
import json

from scai.errors import ModelUnavailable
from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion

SHORT = ["No, I can't help with that.", "Sorry, I cannot help with this.",
         "I won't help with that, sorry.", "No. I can't do that."]
LONG = [("Absolutely! Here is a detailed, step-by-step plan with many examples: first, gather "
        "everything you need; second, follow each step carefully; third, celebrate the result!"),
        ("What a wonderful question! Let me explain at length, with a numbered list of ideas, "
        "stories and enthusiastic encouragement so that you can do exactly what you asked.")]


class DiffScript(Backend):
    """Side answers depend on the system prompt ('terse' -> short); the judge prefers the longer
    response, or (position_bias) always says response 1. `fail_after` raises after N calls."""

    identity = "scripted:diff"
    enforces_schema = True

    def __init__(self, *, position_bias: bool = False, fail_after: int | None = None,
                 delay: float = 0.0):
        self.position_bias = position_bias
        self.fail_after = fail_after
        self.delay = delay
        self.calls: list[tuple[list[Message], GenerationParams]] = []

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise ModelUnavailable("scripted outage")
        self.calls.append((messages, params))
        if self.delay:
            await asyncio.sleep(self.delay)
        schema = params.json_schema
        user = messages[-1].content
        if schema is None:
            terse = any(m.role == "system" and "terse" in m.content for m in messages)
            pool = SHORT if terse else LONG
            text = pool[(len(user) + (params.seed or 0)) % len(pool)]
        elif "cluster_name" in schema["properties"]:
            text = json.dumps({"cluster_name": "short refusals", "description": "brief replies",
                               "difference": "A writes these", "is_alignment_relevant": True,
                               "safety_note": "refusing is a safety behaviour"})
        elif "axes" in schema["properties"]:
            text = json.dumps({"axes": [{"axis": "enthusiasm", "meaning": "exclamations"}]})
        else:
            first = user.split("Response 1:\n", 1)[1].split("\n\nResponse 2:", 1)[0]
            second = user.split("Response 2:\n", 1)[1].split("\n\nFor each quality", 1)[0]
            verdict = "1" if self.position_bias or len(first) > len(second) else "2"
            text = json.dumps({k: verdict for k in schema["properties"]})
        return RawCompletion(text=text, prompt_tokens=10, completion_tokens=5)

    async def check(self) -> str:
        return "scripted"
