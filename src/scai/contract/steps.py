"""One logged, seeded, resumable structured model call: the unit every task is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scai.converse.engine import ClientPool, StepLog, derive_seed
from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelSettings


@dataclass
class Counters:
    """Shared across a run: calls made, steps replayed, parse failures."""

    calls: int = 0
    tokens: int = 0
    parse_failures: int = 0


@dataclass
class Caller:
    """Makes keyed model calls for one run: replays a logged step instead of calling again."""

    pool: ClientPool
    log: StepLog
    seed: int
    params: GenerationParams
    counters: Counters = field(default_factory=Counters)

    async def structured(
        self, model: ModelSettings | None, key: str, messages: list[Message], schema: dict,
        *, max_tokens: int | None = None, kind: str = "step",
    ) -> dict[str, Any] | None:
        """The parsed reply, or None after a parse failure (counted and logged, never raised)."""
        done = self.log.get(key)
        if done is not None:
            return done.get("parsed")
        update: dict[str, Any] = {"seed": derive_seed(self.seed, key), "json_schema": schema}
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        params = GenerationParams.model_validate({**self.params.model_dump(), **update})
        try:
            completion = await self.pool.get(model).complete(messages, params, tags={"step": key})
        except ParseFailure as exc:
            self.counters.parse_failures += 1
            self.log.put(key, {"kind": kind, "parsed": None, "error": str(exc),
                               "text": exc.raw_text})
            return None
        self.counters.calls += 1
        self.counters.tokens += completion.usage.total_tokens
        self.log.put(key, {"kind": kind, "parsed": completion.parsed, "text": completion.text,
                           "tokens": completion.usage.total_tokens})
        return completion.parsed
