"""A scripted backend: fixed replies that make unit tests of the client exact."""

from __future__ import annotations

from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion


class ScriptedBackend(Backend):
    identity = "scripted:v1"

    def __init__(self, replies: list[str] | None = None, default: str = "ok"):
        self.replies = list(replies or [])
        self.default = default
        self.calls: list[tuple[list[Message], GenerationParams]] = []

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append((messages, params))
        text = self.replies.pop(0) if self.replies else f"{self.default} seed={params.seed}"
        return RawCompletion(text=text, prompt_tokens=4, completion_tokens=2)

    async def check(self) -> str:
        return "scripted"
