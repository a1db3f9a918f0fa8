"""ModelClient: the one way scai calls a model.

Adds to a backend what every caller needs: a concurrency bound, retries with backoff, the
response cache, JSON-schema validation with bounded re-asks, and usage/cost accounting.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from scai.errors import ModelError, ModelUnavailable, ParseFailure, TransientModelError
from scai.llm.backend import Backend
from scai.llm.cache import ResponseCache, cache_key, score_cache_key
from scai.llm.factory import make_backend
from scai.llm.spec import ModelSettings
from scai.llm.types import Completion, GenerationParams, Message, Usage, as_messages

T = TypeVar("T")


class ChatRequest(BaseModel):
    """One call to make: messages, parameters, which sample, and tags for the store."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    params: GenerationParams = Field(default_factory=GenerationParams)
    sample_index: int = 0
    tags: dict[str, Any] = Field(default_factory=dict)


class CallRecord(BaseModel):
    """What a finished (or failed) call reports to an observer such as the run store."""

    model: str
    messages: list[Message]
    params: GenerationParams
    sample_index: int = 0
    completion: Completion | None = None
    error: str | None = None
    tags: dict[str, Any] = Field(default_factory=dict)


class ClientStats(BaseModel):
    """Running totals for one client."""

    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    retries: int = 0
    parse_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from a cached prefix
    cost_usd: float = 0.0
    model_seconds: float = 0.0

    @property
    def reuse_rate(self) -> float | None:
        """The share of prompt tokens served from a cached prefix (None before any call)."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None


def sample_seed(seed: int, sample_index: int) -> int:
    """The seed actually sent for sample `sample_index` of a seeded request."""
    if sample_index == 0:
        return seed
    return (seed * 1_000_003 + sample_index * 7_919) % (2**31 - 1)


def validate_json(text: str, schema: dict) -> Any:
    """Parse `text` as JSON and check it against `schema`; raise ValueError saying why not."""
    try:
        # strict=False: a raw newline inside a string (common from small models) is not a reason
        # to throw an otherwise well-formed answer away.
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at char {exc.pos})") from exc
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(root)"
        raise ValueError(f"schema violation at {where}: {exc.message}") from exc
    return value


OnCall = Callable[[CallRecord], None]
"""An observer of every finished call (e.g. `scai.recording.call_logger`)."""


class ModelClient:
    """Async client for one model; safe to share between coroutines and event loops."""

    def __init__(
        self,
        model: ModelSettings | str = "local",
        *,
        cache: ResponseCache | bool | None = True,
        on_call: OnCall | None = None,
        backend: Backend | None = None,
    ):
        self.settings = ModelSettings(model=model) if isinstance(model, str) else model
        self.backend = backend or make_backend(self.settings)
        self.cache: ResponseCache | None = ResponseCache() if cache is True else (cache or None)
        self.on_call = on_call
        self.stats = ClientStats()
        # Keyed by the loop itself (weakly): an id() can be reused by the next asyncio.run().
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.settings.model

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            if loop not in self._semaphores:
                self._semaphores[loop] = asyncio.Semaphore(self.settings.concurrency)
            return self._semaphores[loop]

    async def complete(
        self,
        messages: list[Message] | list[dict] | str,
        params: GenerationParams | None = None,
        *,
        sample_index: int = 0,
        use_cache: bool | None = None,
        tags: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Completion:
        """One completion. Cached by default when seeded; raises ModelError/ParseFailure."""
        msgs = as_messages(messages)
        params = params or GenerationParams()
        if overrides:  # validated, unlike model_copy(update=...)
            params = GenerationParams.model_validate({**params.model_dump(), **overrides})
        record = CallRecord(
            model=self.name, messages=msgs, params=params, sample_index=sample_index,
            tags=tags or {},
        )
        try:
            completion = await self._complete(msgs, params, sample_index, use_cache)
        except ModelError as exc:
            self.stats.failures += 1
            record.error = str(exc)
            self._report(record)
            raise
        record.completion = completion
        self._report(record)
        return completion

    def _report(self, record: CallRecord) -> None:
        if self.on_call is not None:
            self.on_call(record)

    async def _complete(
        self, msgs: list[Message], params: GenerationParams, sample_index: int,
        use_cache: bool | None,
    ) -> Completion:
        cacheable = self.cache is not None and (
            use_cache if use_cache is not None else params.seed is not None
        )
        key = cache_key(self.backend.identity, msgs, params, sample_index) if cacheable else ""
        if cacheable:
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.calls += 1
                self.stats.cache_hits += 1
                return hit.model_copy(update={"cached": True})
        async with self._semaphore():
            completion = await self._generate_validated(msgs, params, sample_index)
        self.stats.calls += 1
        self.stats.prompt_tokens += completion.usage.prompt_tokens
        self.stats.completion_tokens += completion.usage.completion_tokens
        self.stats.cached_tokens += completion.usage.cached_tokens
        self.stats.cost_usd += completion.usage.cost_usd or 0.0
        self.stats.model_seconds += completion.usage.latency_s
        if cacheable:
            self.cache.put(key, self.backend.identity, completion)
        return completion

    async def _generate_validated(
        self, msgs: list[Message], params: GenerationParams, sample_index: int
    ) -> Completion:
        schema = params.json_schema
        attempts, tokens_in, tokens_out, tokens_cached, seconds = 0, 0, 0, 0, 0.0
        problem, text = "", ""
        for parse_try in range(self.settings.parse_retries + 1):
            send = params
            if params.seed is not None:
                # Re-asks must differ from the failed ask, deterministically.
                send = params.model_copy(
                    update={"seed": sample_seed(params.seed, sample_index) + 104_729 * parse_try}
                )
            raw, tries, latency = await self._generate_with_retries(msgs, send)
            attempts += tries
            tokens_in += raw.prompt_tokens
            tokens_out += raw.completion_tokens
            tokens_cached += raw.cached_tokens
            seconds += latency
            text = raw.text
            parsed = None
            if schema is not None:
                try:
                    parsed = validate_json(text, schema)
                except ValueError as exc:
                    problem = str(exc)
                    self.stats.parse_retries += 1
                    continue
            price = self.settings.price
            usage = Usage(
                prompt_tokens=tokens_in, completion_tokens=tokens_out,
                cached_tokens=min(tokens_cached, tokens_in), latency_s=seconds,
                cost_usd=price.cost(tokens_in, tokens_out) if price else None,
            )
            return Completion(
                text=text, parsed=parsed, finish_reason=raw.finish_reason, usage=usage,
                model=self.name, attempts=attempts, sample_index=sample_index,
            )
        self.stats.parse_retries -= 1  # the last failed try was not followed by a re-ask
        raise ParseFailure(
            f"{self.name}: reply failed its JSON schema after {self.settings.parse_retries + 1} "
            f"tries: {problem}; reply began {text[:80]!r}",
            raw_text=text, attempts=attempts,
        )

    async def _generate_with_retries(self, msgs: list[Message], params: GenerationParams):
        delay = self.settings.backoff_s
        last: TransientModelError | None = None
        for attempt in range(self.settings.max_retries + 1):
            start = time.perf_counter()
            try:
                raw = await self.backend.generate(msgs, params)
                return raw, attempt + 1, time.perf_counter() - start
            except TransientModelError as exc:
                last = exc
            # A refused connection is most often a wrong address: give up on it sooner.
            if last.unreachable and attempt >= min(2, self.settings.max_retries):
                break
            if attempt < self.settings.max_retries:
                self.stats.retries += 1
                wait = last.retry_after if last.retry_after is not None else delay
                await asyncio.sleep(min(wait, 60.0) * (0.8 + 0.4 * random.random()))
                delay *= 2
        assert last is not None
        tries = attempt + 1
        if last.unreachable:
            raise ModelUnavailable(f"{last} (gave up after {tries} tries)") from last
        raise ModelError(f"{last} (gave up after {tries} tries)") from last

    async def complete_many(
        self,
        requests: Sequence[ChatRequest],
        *,
        progress: str | None = None,
        return_exceptions: bool = False,
        use_cache: bool | None = None,
    ) -> list[Completion | ModelError]:
        """Run many requests concurrently (bounded by `concurrency`), results in request order."""
        from scai.progress import progress_bar

        async def one(req: ChatRequest) -> Completion | ModelError:
            try:
                return await self.complete(
                    req.messages, req.params, sample_index=req.sample_index,
                    use_cache=use_cache, tags=req.tags,
                )
            except ModelError as exc:
                if return_exceptions:
                    return exc
                raise

        with progress_bar(progress, total=len(requests)) as advance:
            async def tracked(req: ChatRequest):
                result = await one(req)
                advance(1)
                return result

            return list(await asyncio.gather(*(tracked(r) for r in requests)))

    async def score(
        self, messages: list[Message] | list[dict] | str, continuations: Sequence[str], *,
        use_cache: bool = True, tags: dict[str, Any] | None = None,
    ) -> list[float]:
        """Log-probability of each continuation as the start of the model's reply (summed over
        its tokens; deterministic, so cached by default). Raises ModelError where the backend
        cannot score (servers)."""
        completion = await self.score_completion(messages, continuations, use_cache=use_cache,
                                                 tags=tags)
        return list(completion.parsed)

    async def score_completion(
        self, messages: list[Message] | list[dict] | str, continuations: Sequence[str], *,
        use_cache: bool = True, tags: dict[str, Any] | None = None,
    ) -> Completion:
        """`score` with its accounting: the log-probabilities in `parsed`, this call's usage."""
        msgs = as_messages(messages)
        conts = list(continuations)
        record = CallRecord(model=self.name, messages=msgs, tags={**(tags or {}), "score": len(conts)},
                            params=GenerationParams(temperature=0.0, max_tokens=1))
        key = score_cache_key(self.backend.identity, msgs, conts) \
            if self.cache is not None and use_cache else ""
        hit = self.cache.get(key) if key else None
        if hit is not None:
            self.stats.calls += 1
            self.stats.cache_hits += 1
            record.completion = hit.model_copy(update={"cached": True})
            self._report(record)
            return record.completion
        start = time.perf_counter()
        try:
            async with self._semaphore():
                result = await self.backend.score(msgs, conts)
        except ModelError as exc:
            self.stats.failures += 1
            record.error = str(exc)
            self._report(record)
            raise
        seconds = time.perf_counter() - start
        completion = Completion(
            text=json.dumps(result.logprobs), parsed=result.logprobs, model=self.name,
            usage=Usage(prompt_tokens=result.prompt_tokens + result.reused_tokens
                        + result.evaluated_tokens, cached_tokens=result.reused_tokens,
                        latency_s=seconds))
        self.stats.calls += 1
        self.stats.prompt_tokens += completion.usage.prompt_tokens
        self.stats.cached_tokens += completion.usage.cached_tokens
        self.stats.model_seconds += seconds
        if key:
            self.cache.put(key, self.backend.identity, completion)
        record.completion = completion
        self._report(record)
        return completion

    async def check(self) -> str:
        return await self.backend.check()

    async def aclose(self) -> None:
        await self.backend.aclose()

    # -- sync helpers for notebooks and scripts ---------------------------------------------
    def complete_sync(self, messages, params: GenerationParams | None = None, **kw) -> Completion:
        """Blocking `complete`, usable from plain scripts and from running notebooks alike."""
        return run_sync(self.complete(messages, params, **kw))

    def complete_many_sync(self, requests: Sequence[ChatRequest], **kw) -> list:
        """Blocking `complete_many`."""
        return run_sync(self.complete_many(requests, **kw))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, even when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
