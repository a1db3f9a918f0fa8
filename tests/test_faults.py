"""Faults a real server cannot produce on demand: timeouts, 429, 500, garbage, bad JSON."""

from __future__ import annotations

import asyncio

import pytest

from scai.errors import ModelError, ModelUnavailable, ParseFailure
from scai.llm import GenerationParams, ModelClient, ModelSettings
from scai.store import RunStore
from tests.conftest import free_port, scai
from tests.faultserver import FaultServer

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


def settings(url, **kw):
    kw.setdefault("backoff_s", 0.01)
    return ModelSettings(model=f"openai-compat:{url}#fault-model", **kw)


async def test_429_is_retried_after_the_servers_delay():
    with FaultServer(["429:0.2", "ok:hello"]) as server:
        c = ModelClient(settings(server.url), cache=None)
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await c.complete("hi")
        assert result.text == "hello" and result.attempts == 2
        assert loop.time() - start >= 0.15  # Retry-After was honoured
        assert len(server.requests) == 2 and c.stats.retries == 1


async def test_500s_are_retried_with_backoff():
    with FaultServer(["500", "503", "ok:hello"]) as server:
        result = await ModelClient(settings(server.url), cache=None).complete("hi")
        assert result.text == "hello" and result.attempts == 3


async def test_timeout_is_retried():
    with FaultServer(["sleep:2", "ok:quick"]) as server:
        result = await ModelClient(settings(server.url, timeout_s=0.5), cache=None).complete("hi")
        assert result.text == "quick" and result.attempts == 2


async def test_garbled_reply_is_retried():
    with FaultServer(["garbled", "ok:clean"]) as server:
        result = await ModelClient(settings(server.url), cache=None).complete("hi")
        assert result.text == "clean" and result.attempts == 2


async def test_persistent_500_gives_up_after_bounded_retries():
    with FaultServer(["500"] * 10) as server:
        c = ModelClient(settings(server.url, max_retries=2), cache=None)
        with pytest.raises(ModelError, match=r"HTTP 500.*gave up after 3 tries"):
            await c.complete("hi")
        assert len(server.requests) == 3 and c.stats.failures == 1


async def test_reply_that_breaks_the_schema_is_reasked_then_reported():
    script = ["ok:not json at all", "ok:{\"answer\": \"seven\"}", "ok:{\"answer\": 7}"]
    with FaultServer(script) as server:
        result = await ModelClient(settings(server.url), cache=None).complete(
            "hi", GenerationParams(json_schema=SCHEMA, seed=1)
        )
        assert result.parsed == {"answer": 7}
        seeds = [r["seed"] for r in server.requests]
        assert len(set(seeds)) == 3  # each re-ask is a different draw
    with FaultServer(["ok:nope"] * 5) as server:
        c = ModelClient(settings(server.url, parse_retries=1), cache=None)
        with pytest.raises(ParseFailure) as info:
            await c.complete("hi", GenerationParams(json_schema=SCHEMA))
        assert info.value.raw_text == "nope" and len(server.requests) == 2
        assert "failed its JSON schema after 2 tries" in str(info.value)


async def test_schema_goes_as_response_format_and_falls_back_when_refused():
    with FaultServer(["400", "ok:{\"answer\": 1}", "ok:{\"answer\": 2}"]) as server:
        c = ModelClient(settings(server.url), cache=None)
        await c.complete("hi", GenerationParams(json_schema=SCHEMA))
        first, second = server.requests[0], server.requests[1]
        assert first["response_format"]["type"] == "json_schema"
        assert first["response_format"]["json_schema"]["schema"] == SCHEMA
        assert second["response_format"] == {"type": "json_object", "schema": SCHEMA}
        await c.complete("again", GenerationParams(json_schema=SCHEMA))
        assert server.requests[2]["response_format"]["type"] == "json_object"  # remembered


async def test_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    c = ModelClient(settings(url, max_retries=1), cache=None)
    with pytest.raises(ModelUnavailable, match=f"cannot reach {url}"):
        await c.complete("hi")


def test_cli_unreachable_server_one_line_nonzero_exit():
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = scai("ask", "hi", "--model", f"openai-compat:{url}#m")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot reach {url}" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    models = scai("models", "--model", f"openai-compat:{url}#m")
    assert models.returncode == 1 and "cannot reach" in models.stdout


async def test_concurrency_is_bounded_per_model():
    with FaultServer(delay=0.2) as server:
        c = ModelClient(settings(server.url, concurrency=2), cache=None)
        await asyncio.gather(*(c.complete(f"q{i}") for i in range(6)))
        assert server.max_in_flight == 2 and len(server.requests) == 6


async def test_api_key_is_sent_but_never_stored(monkeypatch, tmp_path):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("MY_SERVER_KEY", secret)
    from scai.recording import call_logger

    store = RunStore()
    run = store.create_run("ask", {"model": "x", "api_key": secret, "note": f"key {secret}"})
    with FaultServer(["401", f"ok:echo {secret}"]) as server:
        c = ModelClient(settings(server.url, api_key_env="MY_SERVER_KEY"), on_call=call_logger(run))
        with pytest.raises(ModelUnavailable) as info:
            await c.complete("hi", GenerationParams(seed=1))
        assert "$MY_SERVER_KEY" in str(info.value) and secret not in str(info.value)
        await c.complete(f"my key is {secret}", GenerationParams(seed=1))
        assert server.headers[0]["Authorization"] == f"Bearer {secret}"
    run.finish("failed", error=f"boom {secret}")
    store.close()
    for path in [*tmp_path.rglob("*.sqlite*")]:
        assert secret.encode() not in path.read_bytes(), path
    assert "[redacted]" in str(RunStore().get(run.id).config)


async def test_missing_api_key_variable_is_named():
    with FaultServer() as server:
        c = ModelClient(settings(server.url, api_key_env="NOT_SET_ANYWHERE"), cache=None)
        with pytest.raises(ModelUnavailable, match=r"\$NOT_SET_ANYWHERE is not set"):
            await c.complete("hi")


async def test_server_that_answers_500_naming_response_format_gets_the_fallback():
    with FaultServer(["500:response_format", "ok:{\"answer\": 3}"]) as server:
        c = ModelClient(settings(server.url), cache=None)
        out = await c.complete("hi", GenerationParams(json_schema=SCHEMA))
        assert out.parsed == {"answer": 3} and c.backend.schema_mode == "json_object"


def test_one_client_serves_many_event_loops_under_contention():
    # Each complete_many_sync runs a fresh event loop; with more requests than the
    # concurrency bound the semaphore must wait, which binds it to its loop.
    from scai.llm import ChatRequest, Message

    with FaultServer(delay=0.05) as server:
        c = ModelClient(settings(server.url, concurrency=1), cache=None)
        reqs = [ChatRequest(messages=[Message(role="user", content=f"q{i}")]) for i in range(3)]
        for _ in range(4):
            assert [r.text for r in c.complete_many_sync(reqs)] == ["fine"] * 3
