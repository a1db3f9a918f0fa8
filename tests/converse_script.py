"""A scripted model for Converse tests: each agent says a numbered, attributable line; the
moderator, the judge-done check and the scoring judge answer by their schema fields."""

from __future__ import annotations

import re

from scai.llm.types import GenerationParams, Message
from tests.scripted import ScriptedBackend


class AgentScript(ScriptedBackend):
    """`picks`: the moderator's answers in order (then END); `judge`: a raw scores reply;
    `finished_after`: the judge-done check says finished from that check on; `long`: filler
    words per statement (to overflow a context budget)."""

    identity = "scripted:agents"

    def __init__(self, *, picks: list[str] | None = None, judge: str | None = None,
                 delay: float = 0.0, finished_after: int | None = None, long: int = 0):
        super().__init__(rule=self._speech, delay=delay, usage=(10, 5), by_schema={
            "next": lambda m, p: {"next": self.picks.pop(0) if self.picks else "END"},
            "finished": self._finished, "scores": self._scores})
        self.counts: dict[str, int] = {}
        self.picks = list(picks or [])
        self.judge = judge
        self.finished_after = finished_after
        self.done_checks = 0
        self.long = long

    @staticmethod
    def speaker(messages: list[Message]) -> str:
        """Who a prompt is for: an agent, `memory-of-<agent>` for its summariser, or `other`."""
        m = re.search(r"You are (.+?), in a conversation", messages[0].content)
        if m:
            return m.group(1)
        m = re.search(r"You keep the memory of (.+?)\.", messages[0].content)
        return f"memory-of-{m.group(1)}" if m else "other"

    def _speech(self, messages: list[Message], params: GenerationParams) -> str:
        name = self.speaker(messages)
        self.counts[name] = self.counts.get(name, 0) + 1
        return f"{name} statement {self.counts[name]}" + " lorem" * self.long

    def _finished(self, messages: list[Message], params: GenerationParams) -> dict:
        self.done_checks += 1
        done = self.finished_after is not None and self.done_checks >= self.finished_after
        return {"finished": done, "reason": "scripted"}

    def _scores(self, messages: list[Message], params: GenerationParams) -> dict | str:
        if self.judge is not None:
            return self.judge
        metrics = params.json_schema["properties"]["scores"]["properties"]
        return {"scores": {k: v["enum"][-1] for k, v in metrics.items()}, "rationale": "scripted"}

    def prompts_of(self, name: str) -> list[str]:
        """Each speech prompt of an agent, as one text."""
        return ["\n".join(m.content for m in msgs) for msgs, p in self.calls
                if p.json_schema is None and self.speaker(msgs) == name]
