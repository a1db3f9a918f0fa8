"""Scripted backends for `scai bench` tests: answers chosen by rules, so scores are exact."""

from __future__ import annotations

import json

from scai.llm import ModelClient, ModelSettings
from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion


class RuleBackend(Backend):
    """Answers every item by `rule(prompt text) -> reply text`; counts its calls."""

    identity = "scripted:bench-rules"

    def __init__(self, rule):
        self.rule = rule
        self.calls = 0

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls += 1
        return RawCompletion(text=self.rule(messages[-1].content, params), prompt_tokens=10,
                             completion_tokens=3)

    async def check(self) -> str:
        return "scripted"


def client(rule) -> tuple[ModelClient, RuleBackend]:
    """A client on a RuleBackend: one re-ask on a bad reply, no retries, no cache."""
    backend = RuleBackend(rule)
    settings = ModelSettings(model="local", parse_retries=1, max_retries=0)
    return ModelClient(settings, cache=None, backend=backend), backend


def answer(value: str) -> str:
    return json.dumps({"answer": value})
