"""A real OpenAI-compatible server (llama_cpp.server on 127.0.0.1) serving the bundled model."""

from __future__ import annotations

import asyncio

import pytest

from scai.llm import ChatRequest, GenerationParams, Message, ModelClient, ModelSettings
from tests.conftest import scai

pytestmark = pytest.mark.model

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}


def test_completion_through_a_real_server(llama_server):
    c = ModelClient(ModelSettings(model=f"openai-compat:{llama_server}#smollm2"), cache=None)
    out = c.complete_sync("Say hello.", GenerationParams(max_tokens=16, seed=1, temperature=0))
    assert out.text.strip() and out.usage.completion_tokens > 0 and out.usage.prompt_tokens > 0
    # A server that reuses its KV cache need not repeat itself token for token, even greedily;
    # what a user can rely on is the response cache, which replays exactly.
    cached = ModelClient(c.settings)
    first = cached.complete_sync("Say hi.", GenerationParams(max_tokens=16, seed=1))
    again = cached.complete_sync("Say hi.", GenerationParams(max_tokens=16, seed=1))
    assert again.cached and again.text == first.text


def test_schema_enforced_by_the_server(llama_server):
    c = ModelClient(ModelSettings(model=f"openai-compat:{llama_server}#smollm2"), cache=None)
    out = c.complete_sync(
        "Is the sky blue? Answer in JSON.",
        GenerationParams(json_schema=SCHEMA, max_tokens=32, seed=2),
    )
    assert out.parsed["answer"] in ("yes", "no")
    assert c.backend.schema_mode in ("json_schema", "json_object")


def test_concurrent_requests_and_cache_replay(llama_server):
    c = ModelClient(ModelSettings(model=f"openai-compat:{llama_server}#smollm2", concurrency=4))
    reqs = [ChatRequest(messages=[Message(role="user", content=f"Count to {i}.")],
                        params=GenerationParams(max_tokens=12, seed=i)) for i in range(6)]
    first = asyncio.run(c.complete_many(reqs))
    assert all(r.text for r in first) and not any(r.cached for r in first)
    again = asyncio.run(c.complete_many(reqs))
    assert [r.text for r in again] == [r.text for r in first] and all(r.cached for r in again)


def test_cli_models_and_ask_against_the_server(llama_server):
    model = f"openai-compat:{llama_server}#smollm2"
    listing = scai("models", "--model", model)
    assert listing.returncode == 0, listing.stdout
    assert "server up" in listing.stdout
    result = scai("ask", "Say yes.", "--model", model, "--max-tokens", "8", "--seed", "0")
    assert result.returncode == 0 and result.stdout.strip()
