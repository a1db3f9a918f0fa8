"""The step kernel: seeds, the client pool, the keyed event log and the one keyed model call.

Every feature makes its model calls through `keyed_call`: a call has a *step key* that is stable
forever, its seed is derived from the run seed and that key, its reply is cached by the model
layer, and the finished step is logged to the run as it completes. A resumed run reads the log
back and replays finished steps instead of calling the model again; that is the whole of resume.

Step keys and the seed function must never change meaning: a run recorded before a change must
resume after it and replay from the cache with zero model calls (tests/fixtures/recorded_runs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from scai.errors import ModelError, ParseFailure
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings
from scai.llm.backend import Backend
from scai.llm.cache import ResponseCache
from scai.llm.client import OnCall
from scai.store import Run


def derive_seed(seed: int, *parts: object) -> int:
    """The one seed function: a 31-bit seed, stable for (seed, parts), different across parts.

    `derive_seed(s, "a", "b") == derive_seed(s, "a|b")`: parts are joined by "|" after the seed.
    """
    text = "|".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % (2**31 - 1)


class ClientPool:
    """One ModelClient per distinct model setting, sharing a cache, a call logger and a backend."""

    def __init__(
        self, default: ModelSettings, *, cache: ResponseCache | bool | None = True,
        on_call: OnCall | None = None, backend: Backend | None = None,
    ):
        self.default = default
        self.backend = backend  # one backend for every model: scripted tests
        self.cache = ResponseCache() if cache is True else (cache or None)
        self.on_call = on_call
        self._clients: dict[str, ModelClient] = {}

    def get(self, settings: ModelSettings | None = None) -> ModelClient:
        settings = settings or self.default
        key = settings.model_dump_json()
        if key not in self._clients:
            self._clients[key] = ModelClient(
                settings, cache=self.cache, on_call=self.on_call, backend=self.backend)
        return self._clients[key]

    def clients(self) -> list[ModelClient]:
        return list(self._clients.values())


class KeyedLog:
    """Finished work of one event type, by key: read back once on resume, appended as it finishes.

    Without a run it is an in-memory log (a run that is not recorded still never repeats a step).
    """

    def __init__(self, run: Run | None = None, type_: str = "step"):
        self.run = run
        self.type = type_
        self._done: dict[str, dict[str, Any]] = (
            {e.key: e.payload for e in run.events(type_) if e.key is not None} if run else {}
        )
        self.replayed = 0

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._done.get(key)
        if found is not None:
            self.replayed += 1
        return found

    def __contains__(self, key: str) -> bool:
        return key in self._done

    def all(self) -> dict[str, dict[str, Any]]:
        return dict(self._done)

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self._done[key] = payload
        if self.run is not None:
            self.run.log(self.type, payload, key=key)

    def event(self, type_: str, payload: dict[str, Any]) -> None:
        """An unkeyed side event (a failure, a note): recorded, never replayed."""
        if self.run is not None:
            self.run.log(type_, payload)


@dataclass
class Counts:
    """Calls made, tokens spent, steps replayed and parse failures, shared across a run."""

    calls: int = 0
    tokens: int = 0
    parse_failures: int = 0
    replayed: int = 0


@dataclass(frozen=True)
class Step:
    """What a keyed call gives back: the reply, or the failure that stood in for it."""

    text: str
    parsed: Any
    tokens: int
    replayed: bool = False
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


Failures = Literal["raise", "record", "retry"]


async def keyed_call(
    client: ModelClient, log: KeyedLog, key: str, messages: list[Message],
    params: GenerationParams, *, seed: int | None = None, kind: str = "step",
    tags: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
    failures: Failures = "raise", counts: Counts | None = None, sample_index: int = 0,
    clean: Callable[[str], str] | None = None,
) -> Step:
    """One seeded, cached, logged, resumable model call under a stable `key`.

    - A step already in `log` is replayed: no model call (its tokens still count).
    - `seed`: the run seed; the call's seed is `derive_seed(seed, key)`. Without it, `params.seed`
      is sent as given.
    - `failures` (a reply that fails its schema, or for "retry" any model error):
      "raise" propagates the error and logs nothing (the step is redone on resume);
      "record" logs the failure under the key (never redone) and returns a failed Step;
      "retry" logs an unkeyed `<type>_failure` event (redone on resume) and returns a failed Step.
      Failures are counted in `counts.parse_failures` whatever the mode.
    - `clean` post-processes the text before it is logged; `extra` adds fields to the record.
    """
    counts = counts if counts is not None else Counts()
    done = log.get(key)
    if done is not None:
        tokens = done.get("tokens", 0)
        counts.replayed += 1
        counts.tokens += tokens
        parsed = done["parsed"] if "parsed" in done else done.get("reply")
        return Step(text=done.get("text", ""), parsed=parsed, tokens=tokens, replayed=True,
                    error=done.get("error"))
    if seed is not None:
        params = params.model_copy(update={"seed": derive_seed(seed, key)})
    caught: tuple[type[BaseException], ...] = (
        () if failures == "raise" else (ParseFailure, ModelError) if failures == "retry"
        else (ParseFailure,))
    try:
        completion = await client.complete(messages, params, sample_index=sample_index,
                                           tags=tags if tags is not None else {"step": key})
    except caught as exc:
        counts.parse_failures += 1
        raw = getattr(exc, "raw_text", "")
        if failures == "record":
            log.put(key, {"kind": kind, "parsed": None, "error": str(exc), "text": raw,
                          **(extra or {})})
        else:
            log.event(f"{log.type}_failure", {"kind": kind, "key": key, "error": str(exc)[:500]})
        return Step(text=raw, parsed=None, tokens=0, error=str(exc))
    except ParseFailure:
        counts.parse_failures += 1
        raise
    text = clean(completion.text) if clean is not None else completion.text
    tokens = completion.usage.total_tokens
    counts.calls += 1
    counts.tokens += tokens
    log.put(key, {"kind": kind, "text": text, "parsed": completion.parsed, "tokens": tokens,
                  **(extra or {})})
    return Step(text=text, parsed=completion.parsed, tokens=tokens)


async def keyed_score(
    client: ModelClient, log: KeyedLog, key: str, messages: list[Message],
    continuations: list[str], *, kind: str = "score", counts: Counts | None = None,
) -> list[float]:
    """One logged, resumable scoring call: the log-probability of each continuation as the
    start of the reply (scoring is deterministic: no seed). A model error propagates and logs
    nothing, so the step is redone on resume."""
    counts = counts if counts is not None else Counts()
    done = log.get(key)
    if done is not None:
        counts.replayed += 1
        counts.tokens += done.get("tokens", 0)
        return list(done["logprobs"])
    completion = await client.score_completion(messages, continuations, tags={"step": key})
    logprobs, tokens = list(completion.parsed), completion.usage.total_tokens
    counts.calls += 1
    counts.tokens += tokens
    log.put(key, {"kind": kind, "logprobs": logprobs, "tokens": tokens,
                  "continuations": len(continuations)})
    return logprobs
