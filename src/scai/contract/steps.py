"""The run's step maker: every model call of a game or a learner is a keyed step (scai.steps).

A thin skin over `keyed_call`: it binds the run's pool, step log (`step` events), seed and
sampling parameters, so a game names only the model, the step key and the messages. A reply that
fails its schema is recorded under its key (never redone) and comes back as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scai.llm import GenerationParams, Message, ModelSettings
from scai.steps import ClientPool, Counts, KeyedLog, keyed_call, keyed_score


@dataclass
class Caller:
    """Makes one run's keyed model calls; a step already logged is replayed, not called again."""

    pool: ClientPool
    log: KeyedLog
    seed: int
    params: GenerationParams
    counts: Counts = field(default_factory=Counts)

    def _params(self, **update: Any) -> GenerationParams:
        # validated (not model_copy) so the cache key is exactly what it always was
        return GenerationParams.model_validate({**self.params.model_dump(), **update})

    async def structured(
        self, model: ModelSettings | None, key: str, messages: list[Message], schema: dict,
        *, max_tokens: int | None = None, kind: str = "step",
    ) -> dict[str, Any] | None:
        """The parsed reply, or None after a parse failure (counted and logged, never raised)."""
        update: dict[str, Any] = {"json_schema": schema}
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        step = await keyed_call(self.pool.get(model), self.log, key, messages,
                                self._params(**update), seed=self.seed, kind=kind,
                                failures="record", counts=self.counts)
        return step.parsed

    async def text(self, model: ModelSettings | None, key: str, messages: list[Message], *,
                   max_tokens: int, kind: str = "step") -> str:
        """A free-text reply, stripped (a model error propagates: the step is redone on resume)."""
        step = await keyed_call(self.pool.get(model), self.log, key, messages,
                                self._params(max_tokens=max_tokens), seed=self.seed, kind=kind,
                                counts=self.counts, clean=str.strip)
        return step.text

    async def score(self, model: ModelSettings | None, key: str, messages: list[Message],
                    continuations: list[str], *, kind: str = "score") -> list[float]:
        """Log-probabilities of the continuations as the reply's start (logged, replayed)."""
        return await keyed_score(self.pool.get(model), self.log, key, messages, continuations,
                                 kind=kind, counts=self.counts)
