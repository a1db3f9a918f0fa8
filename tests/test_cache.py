"""The response cache: what hits, what misses, and the commands that manage it."""

from __future__ import annotations

import pytest

from scai.llm import GenerationParams, Message, ModelClient, ResponseCache, cache_key
from tests.conftest import scai
from tests.scripted import ScriptedBackend


def client(backend, **kw):
    return ModelClient("local", backend=backend, **kw)


async def test_seeded_call_is_cached_and_replayed():
    backend = ScriptedBackend()
    c = client(backend)
    first = await c.complete("hello", GenerationParams(seed=1))
    second = await c.complete("hello", GenerationParams(seed=1))
    assert len(backend.calls) == 1
    assert not first.cached and second.cached and second.text == first.text
    assert c.stats.cache_hits == 1


async def test_unseeded_calls_are_not_cached_unless_asked():
    backend = ScriptedBackend()
    c = client(backend)
    await c.complete("hello")
    await c.complete("hello")
    assert len(backend.calls) == 2
    await c.complete("hello", use_cache=True)
    await c.complete("hello", use_cache=True)
    assert len(backend.calls) == 3


async def test_no_cache_bypasses_reads_and_writes():
    backend = ScriptedBackend()
    c = client(backend)
    await c.complete("hi", GenerationParams(seed=1), use_cache=False)
    await c.complete("hi", GenerationParams(seed=1), use_cache=False)
    assert len(backend.calls) == 2
    assert ResponseCache().stats().entries == 0


async def test_samples_are_distinct_entries_with_distinct_seeds():
    backend = ScriptedBackend()
    c = client(backend)
    texts = [(await c.complete("x", GenerationParams(seed=5), sample_index=k)).text for k in range(5)]
    assert len(set(texts)) == 5  # five different seeds went to the model
    again = [(await c.complete("x", GenerationParams(seed=5), sample_index=k)).text for k in range(5)]
    assert again == texts and len(backend.calls) == 5
    assert ResponseCache().stats().entries == 5


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.1}, {"max_tokens": 7}, {"top_p": 0.5}, {"seed": 2}, {"stop": ("\n",)},
        {"json_schema": {"type": "object"}},
    ],
)
def test_every_parameter_is_part_of_the_key(change):
    msgs = [Message(role="user", content="q")]
    base = GenerationParams(seed=1)
    assert cache_key("m", msgs, base, 0) != cache_key("m", msgs, base.model_copy(update=change), 0)


def test_identity_messages_and_sample_index_are_part_of_the_key():
    msgs = [Message(role="user", content="q")]
    p = GenerationParams(seed=1)
    k = cache_key("m", msgs, p, 0)
    assert k != cache_key("other", msgs, p, 0)
    assert k != cache_key("m", [Message(role="system", content="s"), *msgs], p, 0)
    assert k != cache_key("m", msgs, p, 1)
    assert k == cache_key("m", list(msgs), GenerationParams(seed=1), 0)


async def test_cache_survives_a_new_client_and_cli_manages_it():
    await client(ScriptedBackend()).complete("a", GenerationParams(seed=1))
    await client(ScriptedBackend()).complete("b", GenerationParams(seed=1))
    backend = ScriptedBackend()
    hit = await client(backend).complete("a", GenerationParams(seed=1))
    assert hit.cached and not backend.calls
    stats = scai("cache", "stats")
    assert stats.returncode == 0 and "2 entries" in stats.stdout and "1 hits" in stats.stdout
    cleared = scai("cache", "clear")
    assert "removed 2 cached responses" in cleared.stdout
    assert ResponseCache().stats().entries == 0


async def test_usage_and_cost_are_accounted():
    from scai.llm import ModelSettings, Price

    settings = ModelSettings(price=Price(prompt_per_million=1.0, completion_per_million=3.0))
    c = ModelClient(settings, backend=ScriptedBackend(), cache=None)
    out = await c.complete("hi")
    assert out.usage.prompt_tokens == 4 and out.usage.completion_tokens == 2
    assert out.usage.cost_usd == pytest.approx((4 * 1.0 + 2 * 3.0) / 1e6)
    await c.complete("again")
    assert c.stats.calls == 2 and c.stats.cost_usd == pytest.approx(2e-5)


def test_sync_wrapper_works_inside_a_running_event_loop():
    import asyncio

    c = ModelClient("local", backend=ScriptedBackend(["inner"]), cache=None)

    async def notebook_cell():
        return c.complete_sync("hi").text  # as if called from Jupyter

    assert asyncio.run(notebook_cell()) == "inner"
