"""The data that crosses the model layer: messages in, a completion out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


def as_messages(messages: list[Message] | list[dict] | str) -> list[Message]:
    """Accept a plain prompt, a list of dicts, or Messages; return Messages."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    return [m if isinstance(m, Message) else Message(**m) for m in messages]


class GenerationParams(BaseModel):
    """Every knob that changes what a model returns. All of it is part of the cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.7, ge=0.0, le=5.0, description="Sampling temperature; 0 is greedy.")
    max_tokens: int = Field(256, ge=1, le=131072, description="Most tokens to generate.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    repeat_penalty: float = Field(
        1.0, ge=0.5, le=3.0,
        description="Penalise repeated tokens (llama.cpp, transformers, vLLM); 1.0 is off.",
    )
    seed: int | None = Field(None, description="Sampling seed; seeded calls are cached by default.")
    stop: tuple[str, ...] = Field((), description="Stop sequences (not included in the reply).")
    json_schema: dict[str, Any] | None = Field(
        None, description="JSON schema the reply must satisfy (enforced where the backend can)."
    )


class Usage(BaseModel):
    """Tokens, time and (where a price is configured) money spent on one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = Field(0, description="Of prompt_tokens, how many were not evaluated: "
                               "a cached prefix (in-process KV cache, a server's prompt cache) "
                               "already held them.")
    latency_s: float = 0.0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RawCompletion(BaseModel):
    """What a backend returns before validation and accounting."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from a cached prefix (see Usage)


class Completion(BaseModel):
    """A finished model call: the text, the parsed JSON when a schema was given, and its cost."""

    text: str
    parsed: Any = None
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    cached: bool = False
    attempts: int = 1
    sample_index: int = 0


class ScoreResult(BaseModel):
    """What a backend's `score` returns: one summed log-probability per continuation."""

    logprobs: list[float]
    prompt_tokens: int = 0  # prompt tokens actually evaluated (after prefix reuse)
    evaluated_tokens: int = 0  # continuation positions evaluated
    reused_tokens: int = 0  # prompt tokens reused from the previous evaluation
