"""A transformers model in-process: for checkpoints that scai trains, and for log-probabilities.

`hf:local` is the bundled SmolLM2-135M-Instruct and `hf:local:gemma-270m` the Gemma 3 270M base
model, each converted once from its GGUF into a cached transformers checkpoint (nothing is
downloaded; scai.llm.checkpoints). A checkpoint without a chat template (a base model, or one
trained from it) is prompted as a completion model, with the same transcript text, tokens and
stop markers as llama.cpp's `prompting: completion`. Needs the `train` extra (torch, transformers).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.llm.backend import Backend
from scai.llm.checkpoints import (
    Prompting,
    bundled_checkpoint,
    checkpoint_path,
    checkpoint_prompting,
    default_checkpoint_dir,
    require_torch,
    resolve_base,
)
from scai.llm.spec import ModelSettings, ModelSpec
from scai.llm.transcript import TRANSCRIPT_VERSION, completion_stops, render_transcript
from scai.llm.types import GenerationParams, Message, RawCompletion, ScoreResult

# Where checkpoints come from lives in scai.llm.checkpoints; callers still import them here.
__all__ = ["HFBackend", "TokenLogprobs", "bundled_checkpoint", "default_checkpoint_dir",
           "finite_values", "prompt_token_ids", "release", "resolve_base"]

_LOADED: dict[str, tuple[Any, Any]] = {}
_LOCKS: dict[str, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


def _dir_identity(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.glob("*.json")) + sorted(path.glob("*.safetensors")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _batch_group(params: GenerationParams) -> tuple:
    """Requests that may share a batch: everything but the seed and the schema is equal."""
    return (params.temperature, params.max_tokens, params.top_p, params.repeat_penalty,
            params.stop)


class _Batcher:
    """Gathers requests that arrive while the model is busy and runs them as one batch.

    The first caller to find the model idle becomes the leader: it runs batches until the queue is
    empty, then hands back. Others wait for their own result. On CPU a batch of 8 yields about
    3x the tokens/s of one request at a time.
    """

    def __init__(self, max_batch: int):
        self.max_batch = max_batch
        self.pending: list[tuple[Any, Future]] = []
        self.lock = threading.Lock()
        self.busy = False

    def submit(self, request: tuple[list[Message], GenerationParams], run_batch) -> Any:
        mine: Future = Future()
        with self.lock:
            self.pending.append((request, mine))
            lead = not self.busy
            self.busy = True
        while lead:
            with self.lock:
                if not self.pending:
                    self.busy = False
                    break
                group = _batch_group(self.pending[0][0][1])
                batch = [p for p in self.pending if _batch_group(p[0][1]) == group]
                batch = batch[: self.max_batch]
                taken = {id(p) for p in batch}
                self.pending = [p for p in self.pending if id(p) not in taken]
            try:
                results = run_batch([req for req, _ in batch])
                for (_, fut), res in zip(batch, results, strict=True):
                    fut.set_result(res)
            except BaseException as exc:  # every waiter hears the failure, none hangs
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
        return mine.result()


_BATCHERS: dict[str, _Batcher] = {}


def _batcher_for(key: str, max_batch: int) -> _Batcher:
    with _REGISTRY_LOCK:
        if key not in _BATCHERS:
            _BATCHERS[key] = _Batcher(max_batch)
        return _BATCHERS[key]


class TokenLogprobs(BaseModel):
    """Log-probabilities of a continuation given a prompt, token by token."""

    tokens: list[str]
    logprobs: list[float]

    @property
    def total(self) -> float:
        return float(sum(self.logprobs))


def release(model: str) -> bool:
    """Drop the weights of `hf:` model string `model` from this process (True if it was loaded);
    the next call loads them again. Other model strings are left alone."""
    if not model.startswith("hf:"):
        return False
    key = str(checkpoint_path(model).resolve())
    with _REGISTRY_LOCK:
        _BATCHERS.pop(key, None)
        _LOCKS.pop(key, None)
        return _LOADED.pop(key, None) is not None


def prompt_token_ids(tok: Any, messages: list[Message], prompting: Prompting) -> list[int]:
    """The tokens a model sees before its reply: the chat template's, or (completion) the
    transcript's text with a BOS and no special tokens parsed, as llama.cpp tokenizes it."""
    if prompting == "completion":
        return list(tok(render_transcript(messages), split_special_tokens=True)["input_ids"])
    return list(tok.apply_chat_template(
        [m.model_dump() for m in messages], add_generation_prompt=True, return_dict=True,
    )["input_ids"])


def finite_values(schema: dict[str, Any], limit: int = 64) -> list[Any] | None:
    """Every value `schema` admits, when it admits at most `limit` (const, enum, boolean, and
    objects whose properties are all required and finite); None for anything open-ended."""
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"]) if len(schema["enum"]) <= limit else None
    kind = schema.get("type")
    if kind == "boolean":
        return [True, False]
    if kind != "object":
        return None
    props = schema.get("properties") or {}
    if not props or set(schema.get("required", [])) != set(props):
        return None
    combos: list[dict[str, Any]] = [{}]
    for name, sub in props.items():
        values = finite_values(sub, limit) if isinstance(sub, dict) else None
        if values is None:
            return None
        combos = [{**c, name: v} for c in combos for v in values]
        if len(combos) > limit:
            return None
    return combos


class HFBackend(Backend):
    """transformers causal LM on the CPU (or GPU when present). There is no grammar: a schema
    with few possible values (enums, booleans, objects of them: multiple-choice answers, rubric
    scores) is answered by scoring every value's JSON text and taking the likeliest (or sampling
    by likelihood at temperature > 0); other schemas are enforced by validation and re-asking
    in ModelClient."""

    enforces_schema = False
    parallel = False
    #: Most concurrent requests generated together as one padded batch.
    max_batch = 8

    def __init__(self, spec: ModelSpec, settings: ModelSettings | None = None):
        require_torch()
        self.path = resolve_base(spec.name)
        requested = settings.prompting if settings is not None else "auto"
        #: `chat` (the tokenizer's chat template) or `completion` (scai.llm.transcript).
        self.prompting: Prompting = checkpoint_prompting(self.path) if requested == "auto" \
            else requested
        identity = f"hf:{self.path.name}:{_dir_identity(self.path)}"
        # A chat checkpoint's identity is what it always was, so recorded caches stay valid.
        self.identity = identity if self.prompting == "chat" else f"{identity}:{TRANSCRIPT_VERSION}"

    def _load(self) -> tuple[Any, Any, threading.Lock]:
        key = str(self.path.resolve())
        with _REGISTRY_LOCK:
            if key not in _LOADED:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                from scai.logs import quiet_transformers

                quiet_transformers()  # no "Loading weights" bar per call; warnings to the log
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
        import torch

        return torch.tensor([prompt_token_ids(tok, messages, self.prompting)], dtype=torch.long)

    def _stops(self, params: GenerationParams) -> list[str]:
        """The request's stop sequences (a completion model's also end at the next turn)."""
        return completion_stops(params.stop) if self.prompting == "completion" else \
            list(params.stop)

    def _generate_sync(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        lock = self._load()[2]
        batcher = _batcher_for(str(self.path.resolve()), self.max_batch)
        return batcher.submit((messages, params), lambda reqs: self._generate_batch(reqs, lock))

    def _generate_batch(
        self, requests: list[tuple[list[Message], GenerationParams]], lock: threading.Lock
    ) -> list[RawCompletion]:
        """One padded batch; every request shares the decoding settings (the batcher groups
        them), and the batch is seeded with its first request's seed."""
        import torch

        model, tok, _ = self._load()
        params = requests[0][1]
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with lock, torch.no_grad():
            prompts = [self._prompt_ids(tok, msgs)[0] for msgs, _ in requests]
            width = max(len(p) for p in prompts)
            ids = torch.full((len(prompts), width), pad, dtype=torch.long)
            mask = torch.zeros((len(prompts), width), dtype=torch.long)
            for i, p in enumerate(prompts):  # left padding: every prompt ends where generation starts
                ids[i, width - len(p):] = p
                mask[i, width - len(p):] = 1
            seed = next((r[1].seed for r in requests if r[1].seed is not None), None)
            if seed is not None:
                torch.manual_seed(seed)
            sample = params.temperature > 0
            kwargs: dict[str, Any] = dict(max_new_tokens=params.max_tokens, do_sample=sample,
                                          pad_token_id=pad)
            if sample:
                kwargs.update(temperature=params.temperature, top_p=params.top_p)
            if params.repeat_penalty != 1.0:
                kwargs.update(repetition_penalty=params.repeat_penalty)
            stops = self._stops(params)
            if stops:
                kwargs.update(stop_strings=stops, tokenizer=tok)
            out = model.generate(ids.to(model.device), attention_mask=mask.to(model.device),
                                 **kwargs)
        results = []
        for i, p in enumerate(prompts):
            new = out[i, width:].tolist()
            ended = tok.eos_token_id is not None and tok.eos_token_id in new
            if ended:
                new = new[: new.index(tok.eos_token_id) + 1]
            text = tok.decode(new, skip_special_tokens=True)
            cut = min((text.find(s) for s in stops if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
            if self.prompting == "completion":  # as llama.cpp's completion prompting returns it
                text = text.strip()
            finish = "stop" if ended or cut >= 0 or len(new) < params.max_tokens else "length"
            results.append(RawCompletion(text=text, finish_reason=finish,
                                         prompt_tokens=len(p), completion_tokens=len(new)))
        return results

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        values = finite_values(params.json_schema) if params.json_schema else None
        if values:
            return await asyncio.to_thread(self._choose_sync, messages, params, values)
        return await asyncio.to_thread(self._generate_sync, messages, params)

    def _choose_sync(self, messages: list[Message], params: GenerationParams,
                     values: list[Any]) -> RawCompletion:
        """The value whose JSON text the model finds likeliest as its reply (greedy), or one
        drawn in proportion to exp(logprob / temperature) with the request's seed."""
        import math
        import random

        texts = [json.dumps(v, ensure_ascii=False) for v in values]
        scored = [self.logprobs_sync(messages, t) for t in texts]
        totals = [s.total for s in scored]
        if params.temperature <= 0:
            pick = max(range(len(texts)), key=totals.__getitem__)
        else:
            top = max(totals)
            weights = [math.exp((t - top) / params.temperature) for t in totals]
            pick = random.Random(params.seed).choices(range(len(texts)), weights=weights)[0]
        _, tok, _ = self._load()
        prompt_tokens = int(self._prompt_ids(tok, messages).shape[1])
        return RawCompletion(text=texts[pick], finish_reason="stop", prompt_tokens=prompt_tokens,
                             completion_tokens=len(scored[pick].tokens))

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

    async def score(self, messages: list[Message], continuations: list[str]) -> ScoreResult:
        def run() -> ScoreResult:
            scored = [self.logprobs_sync(messages, c) for c in continuations]
            return ScoreResult(logprobs=[s.total for s in scored],
                               evaluated_tokens=sum(len(s.tokens) for s in scored))
        return await asyncio.to_thread(run)

    async def check(self) -> str:
        return f"transformers checkpoint {self.path}"
