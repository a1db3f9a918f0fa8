"""GGUF models run in-process by llama.cpp: the embedded catalog (scai.llm.catalog) or any file.

A model is `chat` (it has a chat template: messages go through it) or `completion` (a base model:
messages are rendered as a plain transcript, scai.llm.transcript); `prompting: auto` reads which
from the GGUF's metadata. Structured output is grammar-constrained either way. `score` gives the
log-probabilities of given continuations (scai.llm.scoring), evaluating the shared prompt once.
Every call starts from the longest prompt prefix any earlier call evaluated (scai.llm.prefix_cache,
on unless `prefix_cache_mb: 0`), and reports how many prompt tokens that saved.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from scai.errors import ModelError, ModelUnavailable
from scai.llm.backend import Backend
from scai.llm.catalog import BUNDLED_NAME, CATALOG, bundled_gguf_path, catalog_path
from scai.llm.prefix_cache import (
    DEFAULT_BUDGET_MB,
    MIB,
    CacheStats,
    PrefixCache,
    budget_mb,
    held_prefix,
    restore_best,
    reused_tokens,
    save_sequence,
)
from scai.llm.scoring import score_tokens
from scai.llm.spec import ModelSettings, ModelSpec
from scai.llm.transcript import TRANSCRIPT_VERSION, completion_stops, render_transcript
from scai.llm.types import GenerationParams, Message, RawCompletion, ScoreResult

# The bundled model's paths live in scai.llm.catalog; tests and benchmarks still import them here.
__all__ = ["BUNDLED_NAME", "LlamaCppBackend", "bundled_gguf_path", "load_llama", "model_worker"]

# One loaded model per (file, context size) per process; llama.cpp contexts are not thread-safe,
# so every call on a model holds its lock.
_MODELS: dict[tuple[str, int], Any] = {}
_MODEL_LOCKS: dict[tuple[str, int], threading.Lock] = {}
# One long-lived worker thread per model: llama.cpp runs measurably slower when each call
# lands on a fresh thread (as asyncio.to_thread under a new event loop would do).
_WORKERS: dict[tuple[str, int], ThreadPoolExecutor] = {}
# Saved KV states of earlier prompts, per loaded model (a state belongs to its context).
_PREFIXES: dict[tuple[str, int], PrefixCache] = {}
_REGISTRY_LOCK = threading.Lock()


def _file_identity(path: Path) -> str:
    """Name + size + hash of the first MiB: cheap, and changes when the weights do."""
    with path.open("rb") as fh:
        head = hashlib.sha256(fh.read(1 << 20)).hexdigest()[:16]
    return f"{path.name}:{path.stat().st_size}:{head}"


@lru_cache(maxsize=64)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


def load_llama(path: Path, n_ctx: int) -> tuple[Any, threading.Lock]:
    """Load (once per process) the llama.cpp model at `path`; return it and its lock."""
    key = (str(path), n_ctx)
    with _REGISTRY_LOCK:
        if key not in _MODELS:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelUnavailable(
                    "the local backend needs llama-cpp-python: pip install llama-cpp-python"
                ) from exc
            from scai.logs import quiet_llama

            quiet_llama()  # its log lines to scai's log, not over the progress bars
            # Prompt evaluation too: llama.cpp's default batch threads = every core, so
            # two workers of one thread each would otherwise fight over the cores.
            threads = int(os.environ.get("SCAI_THREADS", "0")) or max(1, os.cpu_count() or 1)
            try:
                _MODELS[key] = Llama(
                    model_path=str(path), n_ctx=n_ctx, n_threads=threads,
                    n_threads_batch=threads, verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelUnavailable(f"cannot load GGUF model {path}: {exc}") from exc
            _MODEL_LOCKS[key] = threading.Lock()
            _PREFIXES[key] = PrefixCache(DEFAULT_BUDGET_MB * MIB)  # until a backend sets its own
            _WORKERS[key] = ThreadPoolExecutor(1, thread_name_prefix=f"llama-{path.stem[:20]}")
        return _MODELS[key], _MODEL_LOCKS[key]


def model_worker(path: Path, n_ctx: int) -> ThreadPoolExecutor:
    """The thread that runs every call on this model."""
    load_llama(path, n_ctx)
    return _WORKERS[(str(path), n_ctx)]


def _next_logprobs(llama: Any) -> Any:
    """Log-softmax of the logits of the last token evaluated (float64)."""
    import numpy as np

    logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
    x = logits.astype(np.float64)
    return x - np.logaddexp.reduce(x)


class LlamaCppBackend(Backend):
    """A GGUF file run by llama-cpp-python in this process; JSON schemas become grammars."""

    enforces_schema = True
    parallel = False

    def __init__(self, spec: ModelSpec, n_ctx: int = 4096,
                 settings: ModelSettings | None = None):
        if spec.name == "bundled" or spec.name in CATALOG:
            self.path = catalog_path(spec.name)
        else:
            self.path = Path(spec.name).expanduser()
            if not self.path.is_file():
                known = ", ".join(f"local:{k}" for k in CATALOG)
                raise ModelUnavailable(f"model file not found: {self.path} "
                                       f"(embedded models: local, {known})")
        self.n_ctx = n_ctx
        requested = settings.prompting if settings is not None else "auto"
        self._prompting: str | None = None if requested == "auto" else requested
        self._file = _file_identity(self.path)
        self.prefix_budget_mb = budget_mb(settings.prefix_cache_mb if settings else None)

    @property
    def prompting(self) -> str:
        """`chat` or `completion`: the setting, or (auto) whether the GGUF has a chat template."""
        if self._prompting is None:
            llama, _ = self._llama()
            self._prompting = "chat" if llama.metadata.get("tokenizer.chat_template") \
                else "completion"
        return self._prompting

    @property
    def identity(self) -> str:  # type: ignore[override]
        base = f"llamacpp:{self._file}:ctx{self.n_ctx}"
        # A chat model's identity is what it always was, so recorded caches stay valid.
        return base if self.prompting == "chat" else f"{base}:{TRANSCRIPT_VERSION}"

    def _llama(self) -> tuple[Any, threading.Lock]:
        return load_llama(self.path, self.n_ctx)

    def _prefix_cache(self) -> PrefixCache | None:
        """This model's prefix cache, held to this backend's budget; None when it is off."""
        if self.prefix_budget_mb == 0:
            return None
        cache = _PREFIXES[(str(self.path), self.n_ctx)]
        if cache.budget_bytes != self.prefix_budget_mb * MIB:
            cache.shrink(self.prefix_budget_mb * MIB)
        return cache

    def prefix_stats(self) -> CacheStats:
        """What this model's prefix cache has done in this process."""
        self._llama()
        return _PREFIXES[(str(self.path), self.n_ctx)].stats

    def _start_from_cache(self, llama: Any, prompt: list[int]) -> tuple[int, PrefixCache | None]:
        """Restore the best cached prefix of `prompt`; (tokens the context now holds, cache)."""
        cache = self._prefix_cache()
        if cache is None:
            return held_prefix(llama, prompt), None
        return restore_best(llama, cache, prompt), cache

    def _prompt_tokens(self, llama: Any, messages: list[Message]) -> list[int]:
        """The tokens the model sees before its reply (chat template or transcript)."""
        if self.prompting == "completion":
            return llama.tokenize(render_transcript(messages).encode(), add_bos=True,
                                  special=False)
        text = _chat_formatter(llama)(messages=[m.model_dump() for m in messages])
        return llama.tokenize(text.prompt.encode(), add_bos=not text.added_special, special=True)

    def _generate_sync(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        llama, lock = self._llama()
        kwargs: dict[str, Any] = dict(
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            repeat_penalty=params.repeat_penalty,
        )
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.json_schema is not None:
            kwargs["grammar"] = _grammar(json.dumps(params.json_schema, sort_keys=True))
        completion = self.prompting == "completion"
        with lock:
            prompt = self._prompt_tokens(llama, messages)
            held, cache = self._start_from_cache(llama, prompt)
            try:
                if completion:
                    out = llama.create_completion(
                        prompt=prompt, stop=completion_stops(params.stop), **kwargs)
                else:
                    out = llama.create_chat_completion(
                        messages=[m.model_dump() for m in messages],
                        stop=list(params.stop) or None, **kwargs)
            except ValueError as exc:  # e.g. the prompt is longer than the context window
                raise ModelError(f"{self.path.name}: {exc}") from exc
            if cache is not None:
                save_sequence(llama, cache)
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        text = choice["text"] if completion else choice["message"].get("content")
        return RawCompletion(
            text=(text or "").strip() if completion else text or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            cached_tokens=reused_tokens(held, len(prompt)),
        )

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        return await self._on_worker(self._generate_sync, messages, params)

    def _score_sync(self, messages: list[Message], continuations: list[str]) -> ScoreResult:
        llama, lock = self._llama()
        with lock:
            prompt = self._prompt_tokens(llama, messages)
            if len(prompt) >= self.n_ctx - 8:
                raise ModelError(f"{self.path.name}: prompt of {len(prompt)} tokens does not fit "
                                 f"the context window ({self.n_ctx})")
            seqs = [llama.tokenize(c.encode(), add_bos=False, special=False)
                    for c in continuations]
            # Start from the longest prefix evaluated before; at least the prompt's last token is
            # re-run so its logits are the ones read.
            held, cache = self._start_from_cache(llama, prompt)
            keep = reused_tokens(held, len(prompt))
            llama.n_tokens = keep
            llama.eval(prompt[keep:])
            base = llama.n_tokens

            def evaluate(tokens, pos):
                llama.n_tokens = pos
                llama.eval(list(tokens))
                return _next_logprobs(llama)

            totals, steps = score_tokens(_next_logprobs(llama), base, seqs, evaluate)
            # Keep the prompt, not the last continuation walked: the next call on this prompt
            # (often a sample from the same distribution) starts from it.
            llama.n_tokens = base
            llama._ctx.kv_cache_seq_rm(-1, base, -1)
            llama._requires_eval = True
            if cache is not None:
                save_sequence(llama, cache)
        return ScoreResult(logprobs=totals, prompt_tokens=len(prompt) - keep,
                           evaluated_tokens=steps, reused_tokens=keep)

    async def score(self, messages: list[Message], continuations: list[str]) -> ScoreResult:
        return await self._on_worker(self._score_sync, messages, continuations)

    async def _on_worker(self, fn, *args):
        worker = model_worker(self.path, self.n_ctx)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(worker, fn, *args)

    async def check(self) -> str:
        size_mb = self.path.stat().st_size / 1e6
        return f"{self.path.name} ({size_mb:.0f} MB, {self.prompting} model, in-process llama.cpp)"


@lru_cache(maxsize=16)
def _formatter_for(template: str, eos: str, bos: str) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)


def _chat_formatter(llama: Any) -> Any:
    """The GGUF's own chat template, as llama-cpp-python applies it in create_chat_completion."""
    def text(token: int) -> str:
        return llama._model.token_get_text(token) if token != -1 else ""

    return _formatter_for(llama.metadata["tokenizer.chat_template"],
                          text(llama.token_eos()), text(llama.token_bos()))
