"""scai's GenerationParams and Inspect's GenerateConfig, each as the other: the one place the
two vocabularies meet (the tasks ask in Inspect's words, the provider answers in scai's)."""

from __future__ import annotations

from typing import Any

from inspect_ai.model import GenerateConfig, ResponseSchema
from inspect_ai.util import JSONSchema

from scai.llm import GenerationParams


def inspect_config(params: GenerationParams, *, only: tuple[str, ...] | None = None
                   ) -> dict[str, Any]:
    """`params` as GenerateConfig arguments (all, or the named scai fields only)."""
    out: dict[str, Any] = {
        "temperature": params.temperature, "max_tokens": params.max_tokens,
        "top_p": params.top_p, "seed": params.seed,
        "stop": list(params.stop) or None,
        "json_schema": (ResponseSchema(name="answer",
                                       json_schema=JSONSchema.model_validate(params.json_schema))
                        if params.json_schema is not None else None),
    }
    if only is not None:
        out = {k: v for k, v in out.items() if k in only}
    names = {"stop": "stop_seqs", "json_schema": "response_schema"}
    return {names.get(k, k): v for k, v in out.items() if v is not None}


def scai_params(config: GenerateConfig, default: GenerationParams | None = None
                ) -> GenerationParams:
    """Inspect's GenerateConfig as scai's GenerationParams; what Inspect leaves unset keeps
    scai's default."""
    given: dict[str, Any] = {
        "temperature": config.temperature, "max_tokens": config.max_tokens,
        "top_p": config.top_p, "seed": config.seed,
        "stop": tuple(config.stop_seqs) if config.stop_seqs else None,
        "json_schema": (config.response_schema.json_schema.model_dump(exclude_none=True)
                        if config.response_schema is not None else None),
    }
    base = default or GenerationParams()
    return GenerationParams.model_validate(
        {**base.model_dump(), **{k: v for k, v in given.items() if v is not None}})
