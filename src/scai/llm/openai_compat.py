"""Any OpenAI-compatible chat server: OpenAI, vLLM, Ollama, llama.cpp's server.

Plain HTTP through httpx, so that every fault (timeout, 429, 5xx, a body that is not JSON) maps
to one of our errors exactly. The API key is read from the environment at call time and is
never part of the backend's identity, its errors or its reprs.

The body carries nothing volatile ahead of the messages (no ids, no timestamps), so a server's
automatic prefix cache (vLLM, SGLang, llama.cpp) sees identical leading tokens from call to call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import threading
import weakref
from collections import Counter, OrderedDict, deque
from typing import Any

import httpx

from scai.errors import ModelError, ModelUnavailable, TransientModelError
from scai.llm.backend import Backend
from scai.llm.spec import ModelSettings, ModelSpec
from scai.llm.types import GenerationParams, Message, RawCompletion

_SCHEMA_MODES = ("json_schema", "json_object", "none")
_SLOT_FIELDS = ("id_slot", "cache_prompt")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _count(value: Any) -> int | None:
    """A token count from a reply field, or None when the field is missing or garbled."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value):
        return None
    return int(value)


def cached_prompt_tokens(data: dict) -> int:
    """How many prompt tokens the server says it served from its cache; 0 when it does not say.

    OpenAI, vLLM and SGLang report `usage.prompt_tokens_details.cached_tokens`; llama.cpp's
    server reports that too and, in older builds, only `timings.cache_n`.
    """
    usage = data.get("usage")
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
    timings = data.get("timings")
    for found in (
        details.get("cached_tokens") if isinstance(details, dict) else None,
        timings.get("cache_n") if isinstance(timings, dict) else None,
    ):
        if (n := _count(found)) is not None:
            return n
    return 0


class SlotAffinity:
    """Which llama.cpp server slot each conversation prefix keeps to, so its KV state is reused.

    A prefix is the prompt's leading system messages (its first message when it has none). New
    prefixes take slots round-robin in order of first appearance; beyond `slots` of them, a new
    one takes the slot of the least recently used. A call goes unpinned (-1: the server picks an
    idle slot, by prompt similarity in current builds) in two cases. While one of our calls holds
    its slot, since the server queues a request pinned to a busy slot rather than serve it
    elsewhere. And while the prefixes of the last 2 x `slots` calls outnumber the slots: prefixes
    taking turns on too few slots evict each other under any assignment, and pinning them only
    makes requests wait (measured: 0.69x the throughput of unpinned calls, docs/benchmarks.md).
    """

    def __init__(self, slots: int):
        self.slots = slots
        self._slot_of: OrderedDict[str, int] = OrderedDict()  # prefix -> slot, least recent first
        self._busy: Counter[int] = Counter()
        self._recent: deque[str] = deque(maxlen=2 * slots)  # prefixes of the latest calls
        self._lock = threading.Lock()  # one backend may serve several event loops (threads)

    @staticmethod
    def prefix_key(messages: list[Message]) -> str:
        """The part of a prompt that names its conversation: a digest of the leading system turns."""
        lead: list[Message] = []
        for m in messages:
            if m.role != "system":
                break
            lead.append(m)
        raw = json.dumps([[m.role, m.content] for m in (lead or messages[:1])])
        return hashlib.sha256(raw.encode()).hexdigest()

    def _assign(self, key: str) -> int:
        # Under the lock: the prefix's slot, assigned if new, and marked most recently used.
        slot = self._slot_of.get(key)
        if slot is None:
            if len(self._slot_of) < self.slots:
                slot = len(self._slot_of)
            else:
                _, slot = self._slot_of.popitem(last=False)
            self._slot_of[key] = slot
        self._slot_of.move_to_end(key)
        return slot

    def slot_for(self, messages: list[Message]) -> int:
        """The slot this prefix keeps to (assigning one if new), without taking it."""
        key = self.prefix_key(messages)
        with self._lock:
            return self._assign(key)

    def acquire(self, messages: list[Message]) -> int:
        """The slot to send this call to, taken until `release`; -1 when that slot is busy."""
        key = self.prefix_key(messages)
        with self._lock:
            self._recent.append(key)
            if len(set(self._recent)) > self.slots:
                return -1
            slot = self._assign(key)
            if self._busy[slot]:
                return -1
            self._busy[slot] += 1
            return slot

    def release(self, slot: int) -> None:
        """Give back a slot that `acquire` returned (a no-op for -1)."""
        if slot >= 0:
            with self._lock:
                self._busy[slot] -= 1


class OpenAICompatBackend(Backend):
    """Chat completions over HTTP; schemas go as `response_format`, falling back when refused."""

    enforces_schema = True

    def __init__(self, spec: ModelSpec, settings: ModelSettings):
        assert spec.base_url is not None
        self.spec = spec
        self.base_url = spec.base_url
        self.timeout_s = settings.timeout_s
        self.key_env = settings.api_key_env or ("OPENAI_API_KEY" if spec.kind == "openai" else None)
        self.schema_mode = settings.schema_mode
        # llama.cpp's own fields, never sent to OpenAI's API (it rejects unknown parameters).
        self.slot_affinity = (
            SlotAffinity(settings.slots) if settings.slots and spec.kind == "openai-compat" else None
        )
        self.identity = f"openai-compat:{self.base_url}#{spec.name}"
        # One httpx client per event loop, keyed by the loop itself (weakly), never by id().
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"OpenAICompatBackend({self.identity!r})"

    def _headers(self) -> dict[str, str]:
        if not self.key_env:
            return {}
        key = os.environ.get(self.key_env)
        if not key:
            raise ModelUnavailable(
                f"{self.spec}: the API key variable ${self.key_env} is not set in the environment"
            )
        return {"Authorization": f"Bearer {key}"}

    def _client(self) -> httpx.AsyncClient:
        # An httpx client belongs to the event loop it was first used on.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            client = httpx.AsyncClient(timeout=self.timeout_s, limits=limits)
            self._clients[loop] = client
        return client

    def _body(self, messages: list[Message], params: GenerationParams, mode: str,
              slot: int | None = None) -> dict:
        body: dict[str, Any] = {
            "model": self.spec.name,
            "messages": [m.model_dump() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.repeat_penalty != 1.0:  # not OpenAI's API: llama.cpp and vLLM spell it so
            body["repeat_penalty"] = body["repetition_penalty"] = params.repeat_penalty
        if params.json_schema is not None and mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": params.json_schema, "strict": True},
            }
        elif params.json_schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": params.json_schema}
        if slot is not None:
            body["cache_prompt"] = True
            body["id_slot"] = slot
        return body

    async def _post(self, body: dict) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        try:
            return await self._client().post(url, json=body, headers=self._headers())
        except httpx.TimeoutException as exc:
            raise TransientModelError(f"{self.spec}: no reply within {self.timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise TransientModelError(
                f"cannot reach {self.base_url}: {type(exc).__name__} ({exc or 'connection failed'})",
                unreachable=True,
            ) from exc

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        affinity = self.slot_affinity
        slot = affinity.acquire(messages) if affinity is not None else None
        try:
            return await self._generate(messages, params, slot)
        finally:
            if affinity is not None and slot is not None:
                affinity.release(slot)

    async def _generate(self, messages: list[Message], params: GenerationParams,
                        slot: int | None) -> RawCompletion:
        modes = [self.schema_mode] if self.schema_mode != "auto" else list(_SCHEMA_MODES)
        if params.json_schema is None:
            modes = ["none"]
        for i, mode in enumerate(modes):
            response = await self._post(self._body(messages, params, mode, slot))
            if slot is not None and self._refused_request(response, _SLOT_FIELDS):
                # A server that is not llama.cpp's may refuse its fields: ask once without them,
                # and if that is accepted, stop sending them.
                retry = await self._post(self._body(messages, params, mode))
                if not self._refused_request(retry, ()):
                    self.slot_affinity = None
                    slot = None
                response = retry
            if i + 1 < len(modes) and self._refused_format(response):
                continue  # the server refused this way of asking for a schema: try the next
            if params.json_schema is not None and self.schema_mode == "auto":
                self.schema_mode = mode  # remember what this server accepts
            return self._parse(response)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _refused_request(response: httpx.Response, fields: tuple[str, ...]) -> bool:
        # Servers say "no" to a field they do not know differently: 400 or 422 (vLLM, OpenAI),
        # or a 500 that names the field (llama-cpp-python's server).
        if response.status_code in (400, 422):
            return True
        return response.status_code == 500 and any(f in response.text for f in fields)

    @classmethod
    def _refused_format(cls, response: httpx.Response) -> bool:
        return cls._refused_request(response, ("response_format",))

    def _parse(self, response: httpx.Response) -> RawCompletion:
        status = response.status_code
        if status == 429:
            raise TransientModelError(
                f"{self.spec}: rate limited (HTTP 429)", retry_after=_retry_after(response)
            )
        if status >= 500:
            raise TransientModelError(f"{self.spec}: server error (HTTP {status})")
        if status in (401, 403):
            raise ModelUnavailable(
                f"{self.spec}: the server refused the API key from ${self.key_env} (HTTP {status})"
            )
        if status == 404:
            raise ModelUnavailable(f"{self.spec}: not found (HTTP 404) at {response.url}")
        if status >= 400:
            raise ModelError(f"{self.spec}: request refused (HTTP {status}): {response.text[:200]}")
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TransientModelError(
                f"{self.spec}: the server's reply is not a chat completion: {response.text[:120]!r}"
            ) from exc
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        prompt_tokens = _count(usage.get("prompt_tokens")) or 0
        return RawCompletion(
            text=text,
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=_count(usage.get("completion_tokens")) or 0,
            cached_tokens=min(cached_prompt_tokens(data), prompt_tokens),
        )

    async def check(self) -> str:
        try:
            response = await self._client().get(
                f"{self.base_url}/models", headers=self._headers(), timeout=5.0
            )
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"cannot reach {self.base_url}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise ModelUnavailable(f"{self.base_url}/models answered HTTP {response.status_code}")
        try:
            names = [m.get("id") for m in response.json().get("data", [])]
        except (ValueError, AttributeError):
            names = []
        return f"server up, serves {', '.join(map(str, names)) or 'unnamed models'}"

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
