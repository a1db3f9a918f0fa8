"""A scripted model for Converse unit tests: each agent says a numbered, attributable line."""

from __future__ import annotations

import asyncio
import json
import re

from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion


class AgentScript(Backend):
    identity = "scripted:agents"

    def __init__(self, *, picks: list[str] | None = None, judge: str | None = None,
                 delay: float = 0.0, finished_after: int | None = None, long: int = 0):
        self.calls: list[tuple[list[Message], GenerationParams]] = []
        self.counts: dict[str, int] = {}
        self.picks = list(picks or [])
        self.judge = judge
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.finished_after = finished_after
        self.done_checks = 0
        self.long = long

    @staticmethod
    def speaker(messages: list[Message]) -> str:
        m = re.search(r"You are (.+?), in a conversation", messages[0].content)
        if m:
            return m.group(1)
        m = re.search(r"You keep the memory of (.+?)\.", messages[0].content)
        return f"memory-of-{m.group(1)}" if m else "other"

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append((messages, params))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return RawCompletion(text=self._reply(messages, params), prompt_tokens=10,
                                 completion_tokens=5)
        finally:
            self.in_flight -= 1

    def _reply(self, messages: list[Message], params: GenerationParams) -> str:
        schema = params.json_schema
        if schema is not None:
            props = schema["properties"]
            if "next" in props:
                return json.dumps({"next": self.picks.pop(0) if self.picks else "END"})
            if "finished" in props:
                self.done_checks += 1
                done = self.finished_after is not None and self.done_checks >= self.finished_after
                return json.dumps({"finished": done, "reason": "scripted"})
            if "scores" in props:
                if self.judge is not None:
                    return self.judge
                metrics = props["scores"]["properties"]
                return json.dumps({"scores": {k: v["enum"][-1] for k, v in metrics.items()},
                                   "rationale": "scripted"})
        name = self.speaker(messages)
        self.counts[name] = self.counts.get(name, 0) + 1
        filler = " lorem" * self.long
        return f"{name} statement {self.counts[name]}{filler}"

    async def check(self) -> str:
        return "scripted"

    def prompts_of(self, name: str) -> list[str]:
        """Each speech prompt of an agent, as one text."""
        return ["\n".join(m.content for m in msgs) for msgs, p in self.calls
                if p.json_schema is None and self.speaker(msgs) == name]
