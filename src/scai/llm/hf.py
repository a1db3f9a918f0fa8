"""A transformers model in-process: for checkpoints that scai trains, and for log-probabilities.

`hf:local` is the bundled SmolLM2-135M-Instruct, converted once from its GGUF into a cached
transformers checkpoint (nothing is downloaded). Needs the `train` extra (torch, transformers).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.errors import ModelUnavailable
from scai.llm.backend import Backend
from scai.llm.spec import ModelSpec
from scai.llm.types import GenerationParams, Message, RawCompletion

_LOADED: dict[str, tuple[Any, Any]] = {}
_LOCKS: dict[str, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()
_CONVERT_LOCK = threading.Lock()


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(
            "the hf backend needs torch and transformers: pip install 'scai[train]'"
        ) from exc


def default_checkpoint_dir() -> Path:
    """Where converted checkpoints live: `$SCAI_HF_DIR`, else `$SCAI_CACHE_DIR/hf`."""
    from scai.llm.cache import default_cache_dir

    env = os.environ.get("SCAI_HF_DIR")
    return Path(env).expanduser() if env else default_cache_dir() / "hf"


def bundled_checkpoint(target: Path | None = None) -> Path:
    """The bundled GGUF as a transformers checkpoint directory, converted on first use."""
    from scai.llm.llamacpp import BUNDLED_NAME, bundled_gguf_path

    gguf = bundled_gguf_path()
    target = target or default_checkpoint_dir() / BUNDLED_NAME
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    _require_torch()
    with _CONVERT_LOCK:
        if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A model de-quantised from GGUF refuses save_pretrained: rebuild it from its parts.
        model = type(loaded)(loaded.config)
        model.load_state_dict(loaded.state_dict())
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)  # a half-written conversion from a killed process
        tmp.replace(target)
    return target


def _dir_identity(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.glob("*.json")) + sorted(path.glob("*.safetensors")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


class TokenLogprobs(BaseModel):
    """Log-probabilities of a continuation given a prompt, token by token."""

    tokens: list[str]
    logprobs: list[float]

    @property
    def total(self) -> float:
        return float(sum(self.logprobs))


class HFBackend(Backend):
    """transformers causal LM on the CPU (or GPU when present); no grammar, so schemas are
    enforced by validation and re-asking in ModelClient."""

    enforces_schema = False
    parallel = False

    def __init__(self, spec: ModelSpec):
        _require_torch()
        if spec.name in ("local", "bundled"):
            self.path = bundled_checkpoint()
        else:
            self.path = Path(spec.name).expanduser()
            if not (self.path / "config.json").is_file():
                raise ModelUnavailable(
                    f"no transformers checkpoint at {self.path} (expected config.json there; "
                    "models are never downloaded at run time)"
                )
        self.identity = f"hf:{self.path.name}:{_dir_identity(self.path)}"

    def _load(self) -> tuple[Any, Any, threading.Lock]:
        key = str(self.path.resolve())
        with _REGISTRY_LOCK:
            if key not in _LOADED:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                tok = AutoTokenizer.from_pretrained(key)
                model = AutoModelForCausalLM.from_pretrained(key, dtype=torch.float32)
                if torch.cuda.is_available():
                    model = model.to("cuda")
                model.eval()
                _LOADED[key] = (model, tok)
                _LOCKS[key] = threading.Lock()
            model, tok = _LOADED[key]
            return model, tok, _LOCKS[key]

    def _prompt_ids(self, tok: Any, messages: list[Message]) -> Any:
        return tok.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True, return_tensors="pt",
            return_dict=True,
        )["input_ids"]

    def _generate_sync(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        import torch

        model, tok, lock = self._load()
        with lock, torch.no_grad():
            ids = self._prompt_ids(tok, messages).to(model.device)
            if params.seed is not None:
                torch.manual_seed(params.seed)
            sample = params.temperature > 0
            kwargs: dict[str, Any] = dict(
                max_new_tokens=params.max_tokens, do_sample=sample,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            )
            if sample:
                kwargs.update(temperature=params.temperature, top_p=params.top_p)
            if params.repeat_penalty != 1.0:
                kwargs.update(repetition_penalty=params.repeat_penalty)
            if params.stop:
                kwargs.update(stop_strings=list(params.stop), tokenizer=tok)
            out = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
        new = out[0, ids.shape[1]:]
        text = tok.decode(new, skip_special_tokens=True)
        cut = min((text.find(s) for s in params.stop if s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
        ended = tok.eos_token_id is not None and int(new[-1]) == tok.eos_token_id if len(new) else True
        finish = "stop" if ended or cut >= 0 or len(new) < params.max_tokens else "length"
        return RawCompletion(
            text=text, finish_reason=finish, prompt_tokens=int(ids.shape[1]),
            completion_tokens=len(new),
        )

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        return await asyncio.to_thread(self._generate_sync, messages, params)

    def logprobs_sync(self, messages: list[Message], continuation: str) -> TokenLogprobs:
        """Log-probability of `continuation` as the assistant's reply to `messages`."""
        import torch

        model, tok, lock = self._load()
        with lock, torch.no_grad():
            prompt = self._prompt_ids(tok, messages)
            cont = tok(continuation, add_special_tokens=False, return_tensors="pt")["input_ids"]
            ids = torch.cat([prompt, cont], dim=1).to(model.device)
            logits = model(ids).logits[0, prompt.shape[1] - 1 : -1]
            lp = torch.log_softmax(logits.float(), dim=-1)
            picked = lp.gather(1, ids[0, prompt.shape[1]:].unsqueeze(1)).squeeze(1)
        return TokenLogprobs(
            tokens=tok.convert_ids_to_tokens(cont[0].tolist()), logprobs=picked.tolist()
        )

    async def logprobs(self, messages: list[Message], continuation: str) -> TokenLogprobs:
        return await asyncio.to_thread(self.logprobs_sync, messages, continuation)

    async def check(self) -> str:
        return f"transformers checkpoint {self.path}"
