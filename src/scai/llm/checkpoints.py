"""Transformers checkpoints on disk: the embedded GGUFs converted once, and how each is prompted.

    hf:local, hf:local:smollm2   SmolLM2-135M-Instruct (chat: it has a chat template)
    hf:local:gemma-270m          Gemma 3 270M *base* (completion: no chat template)
    hf:DIR                       any checkpoint directory (one scai trained, for instance)

A checkpoint is prompted as `chat` (through its tokenizer's chat template) or `completion` (the
plain transcript of scai.llm.transcript, the same text and stop markers as llama.cpp's
`prompting: completion`). Which is written in the checkpoint itself (`PROMPTING_FILE`, by the
conversion here and by scai's training); a checkpoint without that file is `chat` when it has a
chat template and `completion` otherwise. Nothing here is ever downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Literal

from scai.errors import ModelUnavailable
from scai.llm.catalog import BUNDLED_NAME, CATALOG, catalog_path
from scai.llm.transcript import TRANSCRIPT_VERSION

Prompting = Literal["chat", "completion"]
#: Written into a checkpoint directory: {"prompting": "chat"|"completion", "transcript": ...}.
PROMPTING_FILE = "scai-prompting.json"
# The directory each embedded model converts into, and how it is prompted.
_CONVERTED: dict[str, tuple[str, Prompting]] = {
    "smollm2": (BUNDLED_NAME, "chat"),
    "gemma-270m": ("gemma-3-270m", "completion"),
}
_CONVERT_LOCK = threading.Lock()


def default_checkpoint_dir() -> Path:
    """Where converted checkpoints live: `$SCAI_HF_DIR`, else `$SCAI_CACHE_DIR/hf`."""
    from scai.llm.cache import default_cache_dir

    env = os.environ.get("SCAI_HF_DIR")
    return Path(env).expanduser() if env else default_cache_dir() / "hf"


def embedded_name(name: str) -> str | None:
    """The catalog name `name` stands for ('local', 'bundled', 'local:gemma-270m', an `hf:`
    prefix allowed), or None when it names a directory."""
    name = name.removeprefix("hf:")
    if name in ("local", "bundled"):
        return "smollm2"
    if name.startswith("local:") and name.removeprefix("local:") in CATALOG:
        return name.removeprefix("local:")
    return None


def resolve_base(name: str) -> Path:
    """A transformers checkpoint directory for `name` (an embedded model, converted on first
    use, or a directory holding config.json); never downloads."""
    embedded = embedded_name(name)
    if embedded is not None:
        return embedded_checkpoint(embedded)
    path = Path(name.removeprefix("hf:")).expanduser()
    if not (path / "config.json").is_file():
        known = ", ".join(["local", *(f"local:{k}" for k in _CONVERTED if k != "smollm2")])
        raise ModelUnavailable(f"no transformers checkpoint at {path} (config.json missing; "
                               f"embedded models: {known}; models are never downloaded at run "
                               "time)")
    return path


def checkpoint_path(name: str) -> Path:
    """Where `name` (an embedded model or a directory) lives as a checkpoint, converting
    nothing: an embedded model's directory may not exist yet."""
    embedded = embedded_name(name)
    if embedded in _CONVERTED:
        return default_checkpoint_dir() / _CONVERTED[embedded][0]
    return Path(name.removeprefix("hf:")).expanduser()


def bundled_checkpoint(target: Path | None = None) -> Path:
    """The bundled SmolLM2 GGUF as a transformers checkpoint directory, converted on first use."""
    return embedded_checkpoint("smollm2", target)


def embedded_checkpoint(name: str, target: Path | None = None) -> Path:
    """Catalog model `name` as a float32 transformers checkpoint, converted once from its GGUF
    (into a private temporary directory, renamed into place when complete)."""
    if name not in _CONVERTED:
        raise ModelUnavailable(f"embedded model {name!r} has no transformers form (one of: "
                               f"{', '.join(_CONVERTED)})")
    prompting = _CONVERTED[name][1]
    target = target or checkpoint_path(f"local:{name}")
    if _complete(target):
        _drop_quantization_config(target)
        return target
    gguf = catalog_path(name)
    require_torch()
    with _CONVERT_LOCK:
        if _complete(target):
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from scai.logs import quiet_transformers

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        quiet_transformers()  # no per-tensor "de-quantizing" bars (once, a minute); warnings to log
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                      dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A model de-quantised from GGUF refuses save_pretrained: rebuild it from its parts.
        model = type(loaded)(loaded.config)
        model.load_state_dict(loaded.state_dict())
        model.to(torch.float32)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _drop_quantization_config(tmp)
        mark_prompting(tmp, prompting)
        if _complete(target):  # another process finished first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
            return target
        if target.exists():
            shutil.rmtree(target)  # a half-written conversion from a killed process
        tmp.replace(target)
    return target


def _complete(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def require_torch() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(
            "the hf backend needs torch and transformers: pip install 'scai[train]'"
        ) from exc


def _drop_quantization_config(checkpoint: Path) -> None:
    """The weights are plain float32 after conversion; a leftover GGUF `quantization_config`
    would make transformers' Trainer refuse to fine-tune them."""
    path = checkpoint / "config.json"
    config = json.loads(path.read_text())
    if config.pop("quantization_config", None) is not None:
        path.write_text(json.dumps(config, indent=2) + "\n")


def mark_prompting(checkpoint: Path, prompting: Prompting) -> None:
    """Record in `checkpoint` how it is prompted (a checkpoint trained from it inherits this)."""
    body = {"prompting": prompting}
    if prompting == "completion":
        body["transcript"] = TRANSCRIPT_VERSION
    (checkpoint / PROMPTING_FILE).write_text(json.dumps(body) + "\n", encoding="utf-8")


def checkpoint_prompting(checkpoint: Path) -> Prompting:
    """How `checkpoint` is prompted: its `PROMPTING_FILE`, else `chat` when its tokenizer has a
    chat template and `completion` (a base model) when it has none."""
    marker = checkpoint / PROMPTING_FILE
    if marker.is_file():
        try:
            value = json.loads(marker.read_text(encoding="utf-8")).get("prompting")
        except (ValueError, AttributeError):
            value = None
        if value not in ("chat", "completion"):
            raise ModelUnavailable(f"{marker}: expected {{\"prompting\": \"chat\" or "
                                   "\"completion\"}")
        return value
    if (checkpoint / "chat_template.jinja").is_file() or (checkpoint / "chat_template.json").is_file():
        return "chat"
    config = checkpoint / "tokenizer_config.json"
    try:
        has = bool(json.loads(config.read_text(encoding="utf-8")).get("chat_template"))
    except (OSError, ValueError, AttributeError):
        has = False
    return "chat" if has else "completion"
