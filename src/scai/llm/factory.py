"""Model string -> backend, and `scai models`: which backends can be built here right now.

Backends are imported inside `_build`, so an extra that is not installed (torch for `hf:`) only
matters to the model strings that need it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os

from pydantic import BaseModel

from scai.errors import ScaiError
from scai.llm.backend import BACKEND_WRAPPERS, Backend
from scai.llm.spec import ModelSettings


def make_backend(settings: ModelSettings) -> Backend:
    """Build the backend a model string names, wrapped by every `BACKEND_WRAPPERS` entry."""
    backend = _build(settings)
    for wrap in BACKEND_WRAPPERS:
        backend = wrap(backend)
    return backend


def _build(settings: ModelSettings) -> Backend:
    spec = settings.spec
    if spec.kind == "local":
        from scai.llm.llamacpp import LlamaCppBackend

        return LlamaCppBackend(spec, n_ctx=settings.n_ctx, settings=settings)
    if spec.kind in ("openai", "openai-compat"):
        from scai.llm.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(spec, settings)
    from scai.llm.hf import HFBackend

    return HFBackend(spec)


class BackendStatus(BaseModel):
    """One row of `scai models`: a backend, an example model string, and whether it works."""

    backend: str
    model: str
    ok: bool
    detail: str
    requested: bool = False


def _check(model: str) -> tuple[bool, str]:
    try:
        settings = ModelSettings(model=model)
        backend = make_backend(settings)

        async def go() -> str:
            try:
                return await backend.check()
            finally:
                await backend.aclose()

        # asyncio.run, not client.run_sync: `scai models` runs outside any event loop, and the
        # client module imports this one.
        return True, asyncio.run(go())
    except ScaiError as exc:
        return False, str(exc)
    except ValueError as exc:
        return False, str(exc).splitlines()[-1]


def check_models(extra: list[str]) -> list[BackendStatus]:
    """The built-in backends plus any model strings the user asked about."""
    ok, detail = _check("local")
    rows = [
        BackendStatus(backend="llama.cpp (embedded)", model="local", ok=ok, detail=detail),
        BackendStatus(backend="llama.cpp (any GGUF)", model="local:/path/model.gguf", ok=ok,
                      detail="any GGUF file on disk" if ok else detail),
    ]
    ok_g, detail_g = _check("local:gemma-270m")
    rows.append(BackendStatus(backend="llama.cpp (embedded base model)", model="local:gemma-270m",
                              ok=ok_g, detail=detail_g))
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    rows.append(BackendStatus(
        backend="OpenAI", model="openai:MODEL", ok=has_key,
        detail="$OPENAI_API_KEY is set" if has_key else "set $OPENAI_API_KEY to use it",
    ))
    rows.append(BackendStatus(
        backend="OpenAI-compatible server", model="openai-compat:http://HOST:PORT/v1#MODEL",
        ok=True, detail="vLLM, Ollama, llama.cpp server; check one with --model",
    ))
    has_hf = all(importlib.util.find_spec(m) for m in ("torch", "transformers"))
    rows.append(BackendStatus(
        backend="transformers", model="hf:PATH (hf:local = bundled model)", ok=has_hf,
        detail="torch and transformers installed" if has_hf
        else "needs the train extra: pip install 'scai[train]'",
    ))
    for model in extra:
        ok, detail = _check(model)
        rows.append(BackendStatus(backend="requested", model=model, ok=ok, detail=detail,
                                  requested=True))
    return rows
