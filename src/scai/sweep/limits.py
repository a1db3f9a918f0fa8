"""A server's concurrency limit shared by every run in one worker process.

A sweep's `max_concurrency` bounds the requests in flight to each model server from the whole
sweep. It is split evenly among the workers (`shares`); inside a worker, every backend that talks
to a server (anything with a `base_url`) is wrapped so that all the runs of that process, each on
its own thread and event loop, draw from one `ProcessLimit` per server URL. No cross-process
locking: a worker that dies cannot strand permits.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from scai.llm.backend import BACKEND_WRAPPERS, Backend
from scai.llm.types import GenerationParams, Message, RawCompletion


def shares(limit: int, workers: int) -> list[int]:
    """`limit` split among `workers` as evenly as possible (each at least 1)."""
    base, extra = divmod(limit, workers)
    return [max(1, base + (i < extra)) for i in range(workers)]


class ProcessLimit:
    """A semaphore for coroutines on any thread's event loop (asyncio's is bound to one loop)."""

    def __init__(self, permits: int):
        self.permits = permits
        self._free = permits
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()
        self.in_flight_max = 0  # the most permits ever held at once: what tests check

    def _note(self) -> None:
        self.in_flight_max = max(self.in_flight_max, self.permits - self._free)

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                self._note()
                return
            fut = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except asyncio.CancelledError:
            with self._lock:
                waiting = (loop, fut) in self._waiters
                if waiting:
                    self._waiters.remove((loop, fut))
            if not waiting and fut.done() and not fut.cancelled():
                self.release()  # granted just as we were cancelled: pass it on
            raise

    def _grant(self, fut: asyncio.Future) -> None:
        if fut.done():  # cancelled meanwhile
            self.release()
        else:
            fut.set_result(None)

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                if loop.is_closed():
                    continue
                # The permit moves straight to the waiter: _free stays as it is.
                loop.call_soon_threadsafe(self._grant, fut)
                return
            self._free += 1


class LimitedBackend(Backend):
    """A server backend whose calls wait for a permit of its server's process-wide limit."""

    def __init__(self, inner: Backend, limit: ProcessLimit):
        self.inner = inner
        self.limit = limit
        self.identity = inner.identity  # same cache keys as the bare backend
        self.enforces_schema = inner.enforces_schema
        self.parallel = inner.parallel

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        await self.limit.acquire()
        try:
            return await self.inner.generate(messages, params)
        finally:
            self.limit.release()

    async def check(self) -> str:
        return await self.inner.check()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str):  # e.g. `schema_mode`, `base_url` of the inner backend
        return getattr(self.inner, name)


_LIMITS: dict[str, ProcessLimit] = {}
_LIMITS_LOCK = threading.Lock()


def server_limit(base_url: str, permits: int) -> ProcessLimit:
    """This process's limit for one server URL (created on first use)."""
    with _LIMITS_LOCK:
        if base_url not in _LIMITS:
            _LIMITS[base_url] = ProcessLimit(permits)
        return _LIMITS[base_url]


def limit_servers(permits: int) -> None:
    """From now on, every server backend built in this process shares `permits` per server."""

    def wrap(backend: Backend) -> Backend:
        url = getattr(backend, "base_url", None)
        if url is None or isinstance(backend, LimitedBackend):
            return backend
        return LimitedBackend(backend, server_limit(url, permits))

    wrap.__name__ = "scai_sweep_limit"
    BACKEND_WRAPPERS[:] = [w for w in BACKEND_WRAPPERS if w.__name__ != wrap.__name__]
    BACKEND_WRAPPERS.append(wrap)


def server_stats() -> dict[str, dict[str, int]]:
    """Per server URL: the permits of this process and the most ever in flight at once."""
    with _LIMITS_LOCK:
        return {url: {"permits": lim.permits, "in_flight_max": lim.in_flight_max}
                for url, lim in _LIMITS.items()}
