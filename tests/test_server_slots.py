"""Slot affinity and cached-token counts on OpenAI-compatible servers (llama.cpp, vLLM, OpenAI)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scai.llm import GenerationParams, Message, ModelClient, ModelSettings
from scai.llm.openai_compat import SlotAffinity, cached_prompt_tokens

CHOICE = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}


class RecordingServer:
    """Answers every chat request with `reply` (or 400 to one carrying id_slot, if `refuse_slots`)."""

    def __init__(self, reply: dict | None = None, *, refuse_slots: bool = False,
                 delay: float = 0.0):
        self.reply = reply or {"choices": [CHOICE], "usage": {"prompt_tokens": 9, "completion_tokens": 1}}
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.bodies.append(body)
                time.sleep(delay)
                status, obj = 200, server.reply
                if refuse_slots and "id_slot" in body:
                    status, obj = 400, {"error": "Unrecognized request argument supplied: id_slot"}
                raw = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> RecordingServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def agent_prompt(agent: int, turns: int) -> list[Message]:
    """Agent `agent`'s conversation after `turns` exchanges: its own system prompt, then history."""
    history = [Message(role="system", content=f"You are agent {agent}.")]
    for t in range(turns):
        history += [Message(role="user", content=f"turn {t}"),
                    Message(role="assistant", content=f"reply {t}")]
    return [*history, Message(role="user", content="your move")]


def client(url: str, **kw) -> ModelClient:
    return ModelClient(ModelSettings(model=f"openai-compat:{url}#m", **kw), cache=None)


PARAMS = GenerationParams(max_tokens=4, seed=0)


async def test_each_conversation_keeps_to_its_own_slot():
    with RecordingServer() as server:
        c = client(server.url, slots=4)
        for turns in range(3):
            for agent in range(4):
                await c.complete(agent_prompt(agent, turns), PARAMS)
    assert all(b["cache_prompt"] is True for b in server.bodies)
    slots = [b["id_slot"] for b in server.bodies]
    assert slots == [0, 1, 2, 3] * 3  # by first appearance, then the same slot every turn


async def test_no_llama_cpp_fields_without_slots_or_to_openai(monkeypatch):
    with RecordingServer() as server:
        await client(server.url).complete("hi", PARAMS)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        openai = ModelClient(ModelSettings(model="openai:gpt-4o-mini", slots=4), cache=None)
        openai.backend.base_url = server.url  # OpenAI's API, but answered here
        await openai.complete("hi", PARAMS)
    assert len(server.bodies) == 2
    assert not any({"id_slot", "cache_prompt"} & set(b) for b in server.bodies)


def test_more_prefixes_than_slots_reuse_the_least_recently_used_slot():
    affinity = SlotAffinity(4)
    first = [affinity.slot_for(agent_prompt(a, 0)) for a in range(4)]
    assert first == [0, 1, 2, 3]
    assert affinity.slot_for(agent_prompt(0, 5)) == 0  # agent 0 again: now the most recent
    assert affinity.slot_for(agent_prompt(4, 0)) == 1  # agent 1 was least recently used
    assert affinity.slot_for(agent_prompt(1, 1)) == 2  # ...so agent 1 comes back elsewhere
    assert affinity.slot_for(agent_prompt(0, 6)) == 0


def test_a_prompt_without_a_system_message_is_keyed_by_its_first_message():
    affinity = SlotAffinity(2)
    one = [Message(role="user", content="a"), Message(role="assistant", content="b")]
    assert affinity.slot_for(one[:1]) == affinity.slot_for([*one, Message(role="user", content="c")])
    assert affinity.slot_for([Message(role="user", content="other")]) == 1


def test_prefixes_taking_turns_on_too_few_slots_go_unpinned():
    # Eight agents in turn on four slots would evict each other whatever the assignment; pinning
    # them only makes requests queue behind each other, so the server is left to choose.
    affinity = SlotAffinity(4)
    got = []
    for _ in range(3):
        for a in range(8):
            slot = affinity.acquire(agent_prompt(a, 0))
            got.append(slot)
            affinity.release(slot)
    assert got[:4] == [0, 1, 2, 3] and set(got[4:]) == {-1}
    for _ in range(2):  # back to four agents: once they alone fill the recent calls, pinned again
        for a in range(4):
            affinity.release(affinity.acquire(agent_prompt(a, 1)))
    assert [affinity.acquire(agent_prompt(a, 2)) for a in range(4)] == [0, 1, 2, 3]


def test_a_busy_slot_is_not_pinned_twice():
    # llama-server queues a request pinned to a busy slot; a second call goes to any idle one.
    affinity = SlotAffinity(4)
    held = affinity.acquire(agent_prompt(2, 0))
    assert affinity.acquire(agent_prompt(2, 1)) == -1
    affinity.release(-1)
    affinity.release(held)
    assert affinity.acquire(agent_prompt(2, 1)) == held


async def test_concurrent_calls_of_one_prefix_do_not_all_wait_for_its_slot():
    with RecordingServer(delay=0.3) as server:  # all four are in flight at once
        c = client(server.url, slots=4, concurrency=4)
        await asyncio.gather(*(c.complete(agent_prompt(0, 0), GenerationParams(max_tokens=4, seed=s))
                               for s in range(4)))
    assert sorted(b["id_slot"] for b in server.bodies) == [-1, -1, -1, 0]
    assert c.backend.slot_affinity._busy[0] == 0  # every slot given back


async def test_a_server_that_refuses_the_slot_fields_is_asked_without_them_from_then_on():
    with RecordingServer(refuse_slots=True) as server:
        c = client(server.url, slots=4)
        first = await c.complete(agent_prompt(0, 0), PARAMS)
        second = await c.complete(agent_prompt(0, 1), PARAMS)
    assert first.text == second.text == "ok"
    assert ["id_slot" in b for b in server.bodies] == [True, False, False]
    assert c.backend.slot_affinity is None


@pytest.mark.parametrize("reply, cached", [
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 64}}}, 64),
    ({"usage": {"prompt_tokens": 100}, "timings": {"cache_n": 80, "prompt_n": 20}}, 80),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 70}},
      "timings": {"cache_n": 70}}, 70),  # llama-server today: both agree
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": None}}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": "64"}}}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": -5}}}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 1.5}}}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": True}}}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": [64]}, "timings": "fast"}, 0),
    ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": None}},
      "timings": {"cache_n": 12}}, 12),  # a null detail falls through to the timings
    ({"usage": {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 64}}}, 10),
    ({"usage": "lots", "timings": {"cache_n": 5}}, 0),  # no prompt tokens to be cached
])
async def test_cached_tokens_from_each_reply_shape(reply, cached):
    with RecordingServer({"choices": [CHOICE], **reply}) as server:
        c = client(server.url)
        out = await c.complete("hi", PARAMS)
    assert out.text == "ok"  # a garbled count never fails the call
    assert out.usage.cached_tokens == cached == c.stats.cached_tokens


def test_cached_prompt_tokens_prefers_the_usage_details():
    reply = {"usage": {"prompt_tokens_details": {"cached_tokens": 3}}, "timings": {"cache_n": 7}}
    assert cached_prompt_tokens(reply) == 3
    assert cached_prompt_tokens({}) == 0


@pytest.mark.model
def test_llama_cpp_python_server_tolerates_the_slot_fields(llama_server):
    c = ModelClient(ModelSettings(model=f"openai-compat:{llama_server}#smollm2", slots=4),
                    cache=None)
    for turns in range(2):
        out = c.complete_sync(agent_prompt(0, turns), GenerationParams(max_tokens=8, seed=1))
        assert out.text.strip() and out.usage.prompt_tokens > 0
    assert c.backend.slot_affinity is not None  # accepted as sent, no fallback needed
    assert 0 <= c.stats.cached_tokens <= c.stats.prompt_tokens
