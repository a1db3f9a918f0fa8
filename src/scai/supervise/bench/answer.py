"""Asking a model one benchmark item: the same prompt and answer schema for tested models and
judges, so a judge sees exactly what the model under test sees."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelClient
from scai.prompts import PromptBook
from scai.supervise.bench.items import BenchItem, answer_schema


@lru_cache(maxsize=1)
def prompts() -> PromptBook:
    """The templates in `bench_prompts.yaml`."""
    return PromptBook.load(Path(__file__).resolve().parent.parent / "bench_prompts.yaml")


def item_messages(item: BenchItem) -> list[Message]:
    """The one user message that poses `item`."""
    name = "answer_choice" if item.kind == "choice" else "answer_statement"
    return [Message(role="user", content=prompts()[name].render(item=item.render()))]


def call_seed(seed: int, *parts: object) -> int:
    """A deterministic 31-bit seed for one call, from the run seed and what the call is for."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


class ItemAnswer(BaseModel):
    """One sampled answer to one item: the option chosen, or a parse failure (never defaulted)."""

    item_id: str
    subtask: str
    sample: int
    answer: str | None
    label: str
    correct: bool
    parse_failure: bool
    raw: str = ""


async def answer_item(client: ModelClient, item: BenchItem, *, sample: int, seed: int,
                      temperature: float, tags: dict | None = None) -> ItemAnswer:
    """Ask `client` the item once; a reply that fails the answer schema is a parse failure."""
    params = GenerationParams(temperature=temperature, max_tokens=24,
                              seed=call_seed(seed, item.id, sample), json_schema=answer_schema(item))
    try:
        done = await client.complete(item_messages(item), params, sample_index=sample,
                                     tags=tags or {})
    except ParseFailure as exc:
        return ItemAnswer(item_id=item.id, subtask=item.subtask, sample=sample, answer=None,
                          label=item.answer, correct=False, parse_failure=True,
                          raw=exc.raw_text[:200])
    choice = done.parsed["answer"]
    return ItemAnswer(item_id=item.id, subtask=item.subtask, sample=sample, answer=choice,
                      label=item.answer, correct=choice == item.answer, parse_failure=False,
                      raw=done.text[:200])
