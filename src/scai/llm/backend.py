"""The contract every backend meets (`scai.llm.factory.make_backend` turns a model string into one)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from scai.errors import ModelError
from scai.llm.types import GenerationParams, Message, RawCompletion, ScoreResult


class Backend(ABC):
    """One model behind one interface. Backends do no retrying, caching or validation."""

    #: Stable text naming the model (never a secret); part of every cache key.
    identity: str
    #: Whether the backend itself constrains output to a JSON schema.
    enforces_schema: bool = False
    #: Whether concurrent calls actually overlap (the in-process model serialises).
    parallel: bool = True

    @abstractmethod
    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        """Produce one completion. Raise TransientModelError for faults worth retrying."""

    @abstractmethod
    async def check(self) -> str:
        """Return a one-line description when usable; raise ModelUnavailable when not."""

    async def score(self, messages: list[Message], continuations: list[str]) -> ScoreResult:
        """Log-probability of each continuation as the start of the reply to `messages`."""
        raise ModelError(
            f"{self.identity.split(':')[0]}: this backend cannot score continuations "
            "(log-probabilities need an in-process model: local, local:gemma-270m, "
            "local:FILE.gguf or hf:PATH)")

    async def aclose(self) -> None:
        """Release connections; the default has nothing to release."""


# Process-wide wrappers applied to every backend built here: a sweep worker uses one to share a
# server's concurrency limit among all the runs in its process (scai.sweep.limits).
BACKEND_WRAPPERS: list[Callable[[Backend], Backend]] = []

