"""Model names: one string says which backend and which model.

    local                                     the bundled SmolLM2-135M-Instruct GGUF, in-process
    local:gemma-270m                          Gemma 3 270M base (the `gemma` extra), in-process
    local:/path/to/model.gguf                 any other GGUF file, in-process (llama.cpp)
    openai:gpt-4o-mini                        OpenAI's API (key from $OPENAI_API_KEY)
    openai-compat:http://127.0.0.1:8000/v1#m  any OpenAI-compatible server (vLLM, Ollama, llama.cpp)
    hf:/path/or/local                         a transformers checkpoint (`hf:local` = bundled model)
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scai.errors import ConfigError

BackendKind = Literal["local", "openai", "openai-compat", "hf"]
OPENAI_BASE_URL = "https://api.openai.com/v1"


class ModelSpec(BaseModel):
    """A parsed model name."""

    model_config = ConfigDict(frozen=True)

    kind: BackendKind
    name: str = Field(description="Model name on a server, or a file/directory path for local/hf.")
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse a model string; raise ConfigError with the accepted forms when it is malformed."""
        text = (text or "").strip()
        prefix, _, rest = text.partition(":")
        if text == "local" or (prefix == "local" and not rest):
            return cls(kind="local", name="bundled")
        if prefix == "local":
            return cls(kind="local", name=rest)
        if prefix == "hf" and rest:
            return cls(kind="hf", name=rest)
        if prefix == "openai" and rest:
            return cls(kind="openai", name=rest, base_url=OPENAI_BASE_URL)
        if prefix == "openai-compat" and rest:
            url, _, model = rest.partition("#")
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigError(
                    f"model {text!r}: the server address must be an http(s) URL, "
                    "e.g. openai-compat:http://127.0.0.1:8000/v1#my-model"
                )
            return cls(kind="openai-compat", name=model or "default", base_url=url.rstrip("/"))
        raise ConfigError(
            f"unknown model {text!r}: use 'local', 'local:gemma-270m', 'local:/path/model.gguf', "
            "'openai:NAME', 'openai-compat:http://HOST:PORT/v1#NAME' or 'hf:/path'"
        )

    def __str__(self) -> str:
        if self.kind == "local":
            return "local" if self.name == "bundled" else f"local:{self.name}"
        if self.kind == "openai-compat":
            return f"openai-compat:{self.base_url}#{self.name}"
        return f"{self.kind}:{self.name}"


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt_per_million: float = Field(0.0, ge=0)
    completion_per_million: float = Field(0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.prompt_per_million
            + completion_tokens * self.completion_per_million
        ) / 1e6


class ModelSettings(BaseModel):
    """How to reach and drive one model. Used in every config that names a model."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("local", description="Model string, see `scai models`.")
    api_key_env: str | None = Field(
        None,
        description="Environment variable holding the API key (default OPENAI_API_KEY for openai:). "
        "The key itself never appears in a config, the store, logs or reports.",
    )
    concurrency: int = Field(4, ge=1, le=1024, description="Most calls in flight to this model.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds before one call counts as timed out.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries on timeouts, 429 and 5xx.")
    backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles each retry.")
    parse_retries: int = Field(2, ge=0, le=20, description="Re-asks when a reply fails its schema.")
    schema_mode: Literal["auto", "json_schema", "json_object", "none"] = Field(
        "auto",
        description="How a server is asked to enforce a schema; 'auto' falls back when refused.",
    )
    n_ctx: int = Field(4096, ge=256, description="Context window for local GGUF models.")
    prompting: Literal["auto", "chat", "completion"] = Field(
        "auto", description="Local GGUF models: chat (through the model's chat template) or "
        "completion (a base model: messages rendered as a plain transcript, scai.llm.transcript); "
        "auto reads which from the GGUF's metadata.")
    prefix_cache_mb: int | None = Field(
        None, ge=0, le=1 << 20,
        description="Local GGUF models: memory (MiB) for saved KV states of prompt prefixes, so a "
        "call evaluates only what no earlier call began with; 0 turns the prefix cache off. "
        "Default: $SCAI_PREFIX_CACHE_MB, else 1024.")
    slots: int | None = Field(
        None, ge=1, le=1024,
        description="openai-compat: a llama.cpp server's parallel slots (its -np): when set, "
        "each conversation prefix (its leading system messages) keeps to its own slot (id_slot, "
        "cache_prompt) so the server reuses that slot's KV state. Unset: the server picks.")
    price: Price | None = Field(None, description="Optional price table for cost accounting.")

    @model_validator(mode="after")
    def _model_parses(self) -> ModelSettings:
        ModelSpec.parse(self.model)
        return self

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.parse(self.model)
