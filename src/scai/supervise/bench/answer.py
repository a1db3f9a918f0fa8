"""Asking a model one benchmark item: the same prompt and answer schema for tested models and
judges, so a judge sees exactly what the model under test sees."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelClient
from scai.prompts import PromptBook
from scai.steps import derive_seed
from scai.supervise.bench.items import BenchItem, answer_schema


@lru_cache(maxsize=1)
def prompts() -> PromptBook:
    """The templates in `bench/prompts.yaml`."""
    return PromptBook.load(Path(__file__).resolve().parent / "prompts.yaml")


def item_messages(item: BenchItem) -> list[Message]:
    """The one user message that poses `item`."""
    name = "answer_choice" if item.kind == "choice" else "answer_statement"
    return [Message(role="user", content=prompts()[name].render(item=item.render()))]


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


def answer_params(item: BenchItem, *, sample: int, seed: int, temperature: float
                  ) -> GenerationParams:
    """Decoding for one answer: the seed is `derive_seed(seed, item id, sample)`, the same for
    the model under test and for judges."""
    return GenerationParams(temperature=temperature, max_tokens=24,
                            seed=derive_seed(seed, item.id, sample),
                            json_schema=answer_schema(item))


def to_answer(item: BenchItem, sample: int, parsed: dict | None, text: str) -> ItemAnswer:
    """The answer a reply gives (`parsed` None: it failed the schema, a parse failure)."""
    choice = parsed["answer"] if parsed is not None else None
    return ItemAnswer(item_id=item.id, subtask=item.subtask, sample=sample, answer=choice,
                      label=item.answer, correct=choice is not None and choice == item.answer,
                      parse_failure=parsed is None, raw=text[:200])


async def answer_item(client: ModelClient, item: BenchItem, *, sample: int, seed: int,
                      temperature: float, tags: dict | None = None) -> ItemAnswer:
    """Ask `client` the item once, unlogged (judges); a reply that fails the answer schema is a
    parse failure."""
    params = answer_params(item, sample=sample, seed=seed, temperature=temperature)
    try:
        done = await client.complete(item_messages(item), params, sample_index=sample,
                                     tags=tags or {})
    except ParseFailure as exc:
        return to_answer(item, sample, None, exc.raw_text)
    return to_answer(item, sample, done.parsed, done.text)
