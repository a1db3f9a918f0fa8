"""`scai ask`: one question to one model, recorded as a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scai.errors import ConfigError
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings
from scai.recording import call_logger, recorded_run
from scai.store import RunStore


def load_schema(path: Path) -> dict[str, Any]:
    """Read a JSON schema file; ConfigError if it is missing or is not a JSON object."""
    if not path.is_file():
        raise ConfigError(f"{path}: schema file not found")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON file: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: a JSON schema must be an object")
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"{path}: not a valid JSON schema: {exc.message}") from None
    return schema


def ask_once(
    prompt: str, *, model: str = "local", system: str | None = None,
    schema: dict[str, Any] | None = None, seed: int | None = None, temperature: float = 0.7,
    max_tokens: int = 256, use_cache: bool = True, store: RunStore | None = None,
):
    """Ask once; return the completion and the id of the run that recorded it."""
    settings = ModelSettings(model=model)
    params = GenerationParams(
        temperature=temperature, max_tokens=max_tokens, seed=seed, json_schema=schema
    )
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=prompt))
    store = store or RunStore()
    config = {"model": settings.model_dump(mode="json"), "params": params.model_dump(mode="json"),
              "prompt": prompt, "system": system}
    with recorded_run(store, "ask", config) as run:
        client = ModelClient(settings, cache=True if use_cache else None, on_call=call_logger(run))
        completion = client.complete_sync(messages, params, tags={"key": "ask"})
        run.finish("completed", summary={"usage": completion.usage.model_dump(),
                                         "cached": completion.cached})
    return completion, run.id
