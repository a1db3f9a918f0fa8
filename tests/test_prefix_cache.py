"""The in-process KV prefix cache: what it keeps, what it evicts, and that outputs do not change."""

from __future__ import annotations

import numpy as np
import pytest

from scai.errors import ConfigError
from scai.llm import ModelClient, ModelSettings
from scai.llm.client import run_sync
from scai.llm.prefix_cache import MIB, PrefixCache, budget_mb, common_prefix
from scai.llm.types import GenerationParams, Message


def toks(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.intc)


def test_common_prefix_counts_leading_equal_tokens():
    assert common_prefix(toks(1, 2, 3), toks(1, 2, 4, 5)) == 2
    assert common_prefix(toks(1, 2), toks(1, 2, 3)) == 2
    assert common_prefix(toks(), toks(1)) == 0
    assert common_prefix(toks(9), toks(1)) == 0


def test_the_longest_shared_prefix_wins_and_an_extended_sequence_replaces_its_prefix():
    cache = PrefixCache(budget_bytes=1000)
    cache.put(toks(1, 2, 3), "abc", 10)
    cache.put(toks(1, 5, 6, 7), "a567", 10)
    entry, n = cache.best(toks(1, 5, 6, 9))
    assert (entry.state, n) == ("a567", 3)
    entry, n = cache.best(toks(1, 2, 3, 4))
    assert (entry.state, n) == ("abc", 3)
    assert cache.best(toks(8, 8)) == (None, 0)
    cache.put(toks(1, 2, 3, 4, 5), "abcde", 12)  # serves everything (1, 2, 3) did
    assert len(cache) == 2 and cache.bytes == 22
    assert cache.covers(toks(1, 2, 3)) and not cache.covers(toks(1, 2, 9))


def test_the_budget_holds_least_recently_used_first_out():
    cache = PrefixCache(budget_bytes=30)
    cache.put(toks(1), "one", 10)
    cache.put(toks(2), "two", 10)
    cache.put(toks(3), "three", 10)
    cache.best(toks(1, 1))  # touch "one": "two" is now the oldest use
    cache.put(toks(4), "four", 10)
    kept = {cache.best(toks(i))[0].state for i in (1, 3, 4)}
    assert kept == {"one", "three", "four"} and cache.best(toks(2)) == (None, 0)
    assert cache.stats.evictions == 1 and cache.stats.peak_bytes <= 30
    cache.put(toks(5), "huge", 31)  # larger than the whole budget: never stored
    assert cache.stats.refused == 1 and cache.bytes == 30
    cache.make_room(25)  # before a 25-byte copy is made, room is made for it
    assert cache.bytes == 0 and cache.stats.evictions == 4
    cache.put(toks(6), "six", 10)
    cache.put(toks(7), "seven", 10)
    cache.shrink(15)  # a smaller budget evicts at once
    assert cache.bytes <= 15 and len(cache) == 1


def test_the_budget_comes_from_the_setting_then_the_environment(monkeypatch):
    monkeypatch.delenv("SCAI_PREFIX_CACHE_MB", raising=False)
    assert budget_mb(None) == 1024
    assert budget_mb(0) == 0
    monkeypatch.setenv("SCAI_PREFIX_CACHE_MB", "64")
    assert budget_mb(None) == 64 and budget_mb(8) == 8
    monkeypatch.setenv("SCAI_PREFIX_CACHE_MB", "lots")
    with pytest.raises(ConfigError, match=r"SCAI_PREFIX_CACHE_MB='lots'.*0 turns"):
        budget_mb(None)


SCHEMA = {"type": "object", "properties": {"mood": {"type": "string", "enum": ["calm", "angry"]}},
          "required": ["mood"]}


def _two_agents(client: ModelClient) -> list[str]:
    """Two agents with long system prompts taking turns; greedy, seeded and schema calls."""
    prompts = {"Ada": "You are Ada, a careful farmer who speaks plainly about weather and soil. " * 6,
               "Bo": "You are Bo, a banker who answers every question with a number first. " * 6}
    said: list[str] = []
    for turn in range(3):
        for system in prompts.values():
            history = [Message(role="user", content=f"Round {i}: {s}") for i, s in
                       enumerate(said or ["The meeting opens."])]
            msgs = [Message(role="system", content=system), *history]
            kind = (GenerationParams(temperature=0.0, max_tokens=12) if turn == 0 else
                    GenerationParams(temperature=0.8, seed=turn, max_tokens=12) if turn == 1 else
                    GenerationParams(temperature=0.7, seed=5, max_tokens=16, json_schema=SCHEMA))
            said.append(client.complete_sync(msgs, kind).text)
    return said


@pytest.mark.model
def test_outputs_are_identical_with_the_prefix_cache_on_and_off():
    off = ModelClient(ModelSettings(model="local", prefix_cache_mb=0), cache=False)
    on = ModelClient(ModelSettings(model="local", prefix_cache_mb=256), cache=False)
    plain = _two_agents(off)
    cached = _two_agents(on)
    assert cached == plain  # greedy, seeded samples and grammar-constrained replies alike
    # turn-taking overwrote the one live sequence each call; the cache brought it back
    assert on.stats.reuse_rate > 0.5 and (off.stats.reuse_rate or 0.0) < 0.1
    assert on.backend.prefix_stats().restores >= 4
    # scores too: the same log-probabilities from a restored prefix
    question = [Message(role="system", content="You are Ada, a careful farmer. " * 8),
                Message(role="user", content="Calm or angry?")]
    first = run_sync(on.backend.score(question, ["Calm", "Angry"]))
    _two_agents(on)  # other prompts take the context over
    again = run_sync(on.backend.score(question, ["Calm", "Angry"]))
    assert again.reused_tokens == first.prompt_tokens + first.reused_tokens - 1
    assert again.logprobs == pytest.approx(first.logprobs, abs=1e-4)
    fresh = run_sync(off.backend.score(question, ["Calm", "Angry"]))
    assert fresh.logprobs == pytest.approx(first.logprobs, abs=1e-3)


@pytest.mark.model
def test_saved_states_stay_within_the_memory_budget():
    client = ModelClient(ModelSettings(model="local", prefix_cache_mb=12), cache=False)
    stats = client.backend.prefix_stats()
    before, peak = stats.evictions, 0
    for i in range(6):  # ~200-token prompts, about 5 MB of KV state each
        system = f"Prompt {i}. " + "You are a helpful assistant who likes lists. " * 20
        client.complete_sync([Message(role="system", content=system),
                              Message(role="user", content="Name a fruit.")],
                             temperature=0.0, max_tokens=4)
        peak = max(peak, stats.bytes)
    assert stats.evictions > before and 0 < peak <= 12 * MIB
    assert 1 <= stats.entries < 6
