"""The scripted-backend family: a model that answers by script, so tests are exact and fast.

`ScriptedBackend` answers, in this order: the next of `replies` (if any are left); for a
structured call, the `by_schema` answer of the first top-level schema field it finds; else
`rule(messages, params)`; else `"<default> seed=<seed>"`. It records every call, how many were
in flight at once, and can take `delay` seconds per call. A feature's script (e.g.
tests/converse_script.py) is a subclass, or an instance, that fills in `by_schema` and `rule`:

    backend = ScriptedBackend(by_schema={"next": lambda m, p: {"next": "END"}},
                              rule=lambda m, p: "hello")
    run_converse(config, store, backend=backend)   # every entry point takes backend=

`ScriptedScorer` adds `score` (log-probabilities by a `scorer` function, e.g. `point_mass`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion, ScoreResult

Rule = Callable[[list[Message], GenerationParams], str]
# A structured answer: a dict (sent as JSON) or a raw string (to test replies that fail to parse).
SchemaAnswer = Callable[[list[Message], GenerationParams], "dict[str, Any] | str"]


class ScriptedBackend(Backend):
    """A backend whose replies are a script: fixed replies, answers by schema field, a rule."""

    identity = "scripted:v1"

    def __init__(
        self, replies: list[str] | None = None, default: str = "ok", *,
        rule: Rule | None = None, by_schema: dict[str, SchemaAnswer] | None = None,
        delay: float = 0.0, usage: tuple[int, int] = (4, 2),
    ):
        self.replies = list(replies or [])
        self.default = default
        self.rule = rule
        self.by_schema = dict(by_schema or {})
        self.delay = delay
        self.usage = usage  # (prompt, completion) tokens reported per call
        self.calls: list[tuple[list[Message], GenerationParams]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def reply(self, messages: list[Message], params: GenerationParams) -> str:
        """The scripted text for one call."""
        if self.replies:
            return self.replies.pop(0)
        schema = params.json_schema
        if schema is not None:
            for field in schema.get("properties", {}):
                if field in self.by_schema:
                    answer = self.by_schema[field](messages, params)
                    return answer if isinstance(answer, str) else json.dumps(answer)
        if self.rule is not None:
            return self.rule(messages, params)
        return f"{self.default} seed={params.seed}"

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append((messages, params))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            text = self.reply(messages, params)
        finally:
            self.in_flight -= 1
        return RawCompletion(text=text, prompt_tokens=self.usage[0],
                             completion_tokens=self.usage[1])

    async def check(self) -> str:
        return "scripted"

    def structured_calls(self, field: str) -> list[tuple[list[Message], GenerationParams]]:
        """The calls whose schema has the top-level field `field`."""
        return [(m, p) for m, p in self.calls
                if p.json_schema and field in p.json_schema.get("properties", {})]


Scorer = Callable[[list[Message], list[str]], list[float]]


class ScriptedScorer(ScriptedBackend):
    """A scripted backend that can also score: `scorer(messages, continuations)` gives the
    log-probabilities (`point_mass` makes one integer answer certain)."""

    identity = "scripted:scorer"

    def __init__(self, *args: Any, scorer: Scorer, **kw: Any):
        super().__init__(*args, **kw)
        self.scorer = scorer
        self.scored: list[tuple[list[Message], list[str]]] = []

    async def score(self, messages: list[Message], continuations: list[str]) -> ScoreResult:
        self.scored.append((messages, list(continuations)))
        return ScoreResult(logprobs=self.scorer(messages, list(continuations)))


def point_mass(continuations: list[str], reply: str) -> list[float]:
    """Log-probabilities under which the reply certainly starts with `reply`: each continuation
    that is a prefix of it has probability 1, every other 0 (so scai.llm.scoring reads the
    integer in `{"offer": 37` as certain)."""
    return [0.0 if reply.startswith(c) else -1e9 for c in continuations]
