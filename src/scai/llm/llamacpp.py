"""The embedded default: a GGUF model run in-process by llama.cpp (bundled SmolLM2-135M-Instruct)."""

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
from scai.llm.catalog import BUNDLED_NAME, bundled_gguf_path
from scai.llm.spec import ModelSpec
from scai.llm.types import GenerationParams, Message, RawCompletion

# The bundled model's paths live in scai.llm.catalog; tests and benchmarks still import them here.
__all__ = ["BUNDLED_NAME", "LlamaCppBackend", "bundled_gguf_path", "load_llama", "model_worker"]

# One loaded model per (file, context size) per process; llama.cpp contexts are not thread-safe,
# so every call on a model holds its lock.
_MODELS: dict[tuple[str, int], Any] = {}
_MODEL_LOCKS: dict[tuple[str, int], threading.Lock] = {}
# One long-lived worker thread per model: llama.cpp runs measurably slower when each call
# lands on a fresh thread (as asyncio.to_thread under a new event loop would do).
_WORKERS: dict[tuple[str, int], ThreadPoolExecutor] = {}
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
            _WORKERS[key] = ThreadPoolExecutor(1, thread_name_prefix=f"llama-{path.stem[:20]}")
        return _MODELS[key], _MODEL_LOCKS[key]


def model_worker(path: Path, n_ctx: int) -> ThreadPoolExecutor:
    """The thread that runs every call on this model."""
    load_llama(path, n_ctx)
    return _WORKERS[(str(path), n_ctx)]


class LlamaCppBackend(Backend):
    """A GGUF file run by llama-cpp-python in this process; JSON schemas become grammars."""

    enforces_schema = True
    parallel = False

    def __init__(self, spec: ModelSpec, n_ctx: int = 4096):
        if spec.name == "bundled":
            self.path = bundled_gguf_path()
        else:
            self.path = Path(spec.name).expanduser()
            if not self.path.is_file():
                raise ModelUnavailable(f"model file not found: {self.path}")
        self.n_ctx = n_ctx
        self.identity = f"llamacpp:{_file_identity(self.path)}:ctx{n_ctx}"

    def _llama(self) -> tuple[Any, threading.Lock]:
        return load_llama(self.path, self.n_ctx)

    def _generate_sync(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        llama, lock = self._llama()
        kwargs: dict[str, Any] = dict(
            messages=[m.model_dump() for m in messages],
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            repeat_penalty=params.repeat_penalty,
        )
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.json_schema is not None:
            kwargs["grammar"] = _grammar(json.dumps(params.json_schema, sort_keys=True))
        with lock:
            try:
                out = llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. the prompt is longer than the context window
                raise ModelError(f"{self.path.name}: {exc}") from exc
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return RawCompletion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
        )

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        worker = model_worker(self.path, self.n_ctx)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(worker, self._generate_sync, messages, params)

    async def check(self) -> str:
        size_mb = self.path.stat().st_size / 1e6
        return f"{self.path.name} ({size_mb:.0f} MB, in-process llama.cpp)"
