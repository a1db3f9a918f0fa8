"""`scai models`: which backends exist here and whether each can be used right now."""

from __future__ import annotations

import importlib.util
import os

from pydantic import BaseModel

from scai.errors import ScaiError
from scai.llm.backend import make_backend
from scai.llm.client import run_sync
from scai.llm.spec import ModelSettings


class BackendStatus(BaseModel):
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

        return True, run_sync(go())
    except ScaiError as exc:
        return False, str(exc)
    except ValueError as exc:
        return False, str(exc).splitlines()[-1]


def check_models(extra: list[str]) -> list[BackendStatus]:
    """The built-in backends plus any model strings the user asked about."""
    rows: list[BackendStatus] = []
    ok, detail = _check("local")
    rows.append(BackendStatus(backend="llama.cpp (embedded)", model="local", ok=ok, detail=detail))
    rows.append(BackendStatus(
        backend="llama.cpp (any GGUF)", model="local:/path/model.gguf", ok=ok,
        detail="any GGUF file on disk" if ok else detail,
    ))
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
