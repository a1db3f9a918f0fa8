"""Any OpenAI-compatible chat server: OpenAI, vLLM, Ollama, llama.cpp's server.

Plain HTTP through httpx, so that every fault (timeout, 429, 5xx, a body that is not JSON) maps
to one of our errors exactly. The API key is read from the environment at call time and is
never part of the backend's identity, its errors or its reprs.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from typing import Any

import httpx

from scai.errors import ModelError, ModelUnavailable, TransientModelError
from scai.llm.backend import Backend
from scai.llm.spec import ModelSettings, ModelSpec
from scai.llm.types import GenerationParams, Message, RawCompletion

_SCHEMA_MODES = ("json_schema", "json_object", "none")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


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

    def _body(self, messages: list[Message], params: GenerationParams, mode: str) -> dict:
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
        modes = [self.schema_mode] if self.schema_mode != "auto" else list(_SCHEMA_MODES)
        if params.json_schema is None:
            modes = ["none"]
        for i, mode in enumerate(modes):
            response = await self._post(self._body(messages, params, mode))
            if i + 1 < len(modes) and self._refused_format(response):
                continue  # the server refused this way of asking for a schema: try the next
            if params.json_schema is not None and self.schema_mode == "auto":
                self.schema_mode = mode  # remember what this server accepts
            return self._parse(response)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _refused_format(response: httpx.Response) -> bool:
        # Servers say "no" to an unknown response_format differently: 400 or 422 (vLLM, OpenAI),
        # or a 500 that names the field (llama-cpp-python's server).
        if response.status_code in (400, 422):
            return True
        return response.status_code == 500 and "response_format" in response.text

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
        usage = data.get("usage") or {}
        return RawCompletion(
            text=text,
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
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
