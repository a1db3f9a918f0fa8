"""`scai bench generate`: expand hand-written seed items with a model, few-shot, toward a target
number of items per subtask.

Each call shows a few seed items of one subtask and asks for one new item as JSON constrained by
a schema. Replies that fail the schema (parse failures) or make an invalid item (say, a label
that is not one of the options) are counted, never repaired. Items are appended to the output
file as they arrive, so a rerun continues toward the target where the last one stopped.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from scai.errors import ConfigError, ParseFailure
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings, run_sync
from scai.progress import progress_bar
from scai.steps import derive_seed
from scai.supervise.bench.answer import prompts
from scai.supervise.bench.items import (
    LETTERS,
    SUBTASK_TITLES,
    SUBTASKS,
    BenchItem,
    Provenance,
    check_lines,
    content_id,
    now_iso,
    structural_problems,
    write_items,
)

# No string length limits in the schemas: llama.cpp expands them into grammars so large that
# sampling slows to a crawl. Lengths are checked on the parsed item instead.
CHOICE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["question", "choices", "answer"],
    "properties": {
        "question": {"type": "string"},
        "choices": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "string"}},
        "answer": {"enum": list(LETTERS[:4])},
    },
}
STATEMENT_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["question", "statement", "answer"],
    "properties": {
        "question": {"type": "string"},
        "statement": {"type": "string"},
        "answer": {"enum": ["true", "false"]},
    },
}


class SubtaskGeneration(BaseModel):
    """One subtask's tally: what was there, what was added, and what failed."""

    existing: int = 0
    generated: int = 0
    parse_failures: int = 0
    invalid: int = 0
    exact_duplicates: int = 0
    calls: int = 0

    @property
    def total(self) -> int:
        """Items of this subtask in the output file now."""
        return self.existing + self.generated


class GenerationSummary(BaseModel):
    """What `generate_items` did, per subtask."""

    out: str
    model: str
    target: int
    per_subtask: dict[str, SubtaskGeneration]


def _example(item: BenchItem) -> str:
    if item.choices is not None:
        return prompts()["example_choice"].render(
            question=json.dumps(item.question), choices=json.dumps(item.choices),
            answer=json.dumps(item.answer))
    return prompts()["example_statement"].render(
        question=json.dumps(item.question), statement=json.dumps(item.statement),
        answer=json.dumps(item.answer))


def generation_request(seeds: list[BenchItem], subtask: str, attempt: int, seed: int,
                       shots: int) -> tuple[str, list[BenchItem], list[Message]]:
    """(kind, example items, messages) for generation call number `attempt` of a subtask.
    The kind (choice or statement) follows the seeds' mix; examples are of that kind."""
    pool = [it for it in seeds if it.subtask == subtask]
    rng = random.Random(derive_seed(seed, "generate", subtask, attempt))
    kinds = [it.kind for it in pool]
    kind = rng.choice(kinds)
    same = [it for it in pool if it.kind == kind]
    examples = rng.sample(same, min(shots, len(same)))
    text = prompts()[f"generate_{kind}"].render(
        subtask=subtask, description=SUBTASK_TITLES[subtask],
        examples="\n".join(_example(it) for it in examples))
    msgs = [Message(role="system", content=prompts()["generate_system"].render()),
            Message(role="user", content=text)]
    return kind, examples, msgs


def _existing(out: Path) -> list[BenchItem]:
    if not out.exists():
        return []
    good, bad = check_lines(out)
    if bad:
        raise ConfigError(f"{out}:{bad[0].line}: {bad[0].problem} (fix or remove the line to "
                          "continue generating into this file)")
    return [it for _, it in good]


def _chosen_subtasks(seeds: list[BenchItem], subtasks: list[str] | None, target: int
                     ) -> list[str]:
    """The subtasks to fill (default: every one the seeds have), checked against the seeds."""
    chosen = list(subtasks) if subtasks else [s for s in SUBTASKS if any(
        it.subtask == s for it in seeds)]
    unknown = sorted(set(chosen) - set(SUBTASKS))
    if unknown:
        raise ConfigError(f"unknown subtask {', '.join(unknown)}: use {', '.join(SUBTASKS)}")
    if target < 1:
        raise ConfigError(f"--target must be at least 1, got {target}")
    missing = [s for s in chosen if not any(it.subtask == s for it in seeds)]
    if missing:
        raise ConfigError(f"no seed items for subtask {', '.join(missing)}")
    return chosen


SCHEMAS = {"choice": CHOICE_SCHEMA, "statement": STATEMENT_SCHEMA}


@dataclass
class Filling:
    """One `generate_items` call under way: the seeds and the client, what the output file
    already holds (ids, next attempt per subtask), and the tally per subtask."""

    seeds: list[BenchItem]
    out: Path
    client: ModelClient
    chosen: list[str]
    target: int
    seed: int
    shots: int
    temperature: float
    max_attempts_factor: int
    have: list[BenchItem]
    tally: dict[str, SubtaskGeneration] = field(init=False)
    ids: set[str] = field(init=False)
    next_attempt: dict[str, int] = field(init=False)
    advance: Callable[[int], None] = lambda n: None

    def __post_init__(self) -> None:
        have = self.have
        self.ids = {it.id for it in have} | {it.id for it in self.seeds}
        self.tally = {s: SubtaskGeneration(existing=sum(it.subtask == s for it in have))
                      for s in self.chosen}
        self.next_attempt = {s: 1 + max([it.provenance.attempt or 0 for it in have
                                         if it.subtask == s], default=-1) for s in self.chosen}

    def batch(self) -> list[tuple[str, int]]:
        """The next (subtask, attempt) calls: as many as each subtask still needs, within its
        budget of calls."""
        batch = []
        for s in self.chosen:
            need = self.target - self.tally[s].total
            budget = self.max_attempts_factor * self.target - self.tally[s].calls
            for _ in range(max(0, min(need, budget))):
                batch.append((s, self.next_attempt[s]))
                self.next_attempt[s] += 1
        return batch

    def item(self, subtask: str, kind: str, examples: list[BenchItem], data: dict,
             params: GenerationParams, attempt: int) -> BenchItem | None:
        """The item a parsed reply makes, with its provenance; None (counted) when invalid."""
        t = self.tally[subtask]
        body = json.dumps(data.get("choices") or data.get("statement"))
        prov = Provenance(source="generated", model=self.client.name,
                          from_items=[e.id for e in examples], prompt=f"generate_{kind}",
                          sample_seed=params.seed, attempt=attempt, created_at=now_iso())
        try:
            item = BenchItem(id=content_id(subtask, data["question"], body), subtask=subtask,
                             provenance=prov, **data)
        except ValidationError:
            item = None
        if item is None or structural_problems(item):
            t.invalid += 1
            return None
        return item

    async def one(self, subtask: str, attempt: int) -> None:
        """One call for one new item of `subtask`; a new one is appended to the file."""
        kind, examples, msgs = generation_request(self.seeds, subtask, attempt, self.seed,
                                                  self.shots)
        params = GenerationParams(temperature=self.temperature, max_tokens=360,
                                  repeat_penalty=1.1,
                                  seed=derive_seed(self.seed, "generate", subtask, attempt),
                                  json_schema=SCHEMAS[kind])
        t = self.tally[subtask]
        t.calls += 1
        try:
            done = await self.client.complete(msgs, params,
                                              tags={"generate": subtask, "attempt": attempt})
        except ParseFailure:
            t.parse_failures += 1
            return
        item = self.item(subtask, kind, examples, done.parsed, params, attempt)
        if item is None:
            return
        if item.id in self.ids or t.total >= self.target:
            t.exact_duplicates += item.id in self.ids
            return
        self.ids.add(item.id)
        write_items(self.out, [item], append=True)
        t.generated += 1
        self.advance(1)

    async def fill(self) -> None:
        """Batches of calls until no subtask needs more (or its budget is spent)."""
        while batch := self.batch():
            await asyncio.gather(*(self.one(s, a) for s, a in batch))


def generate_items(
    seeds: list[BenchItem], out: Path, *, model: str = "local", target: int = 300,
    subtasks: list[str] | None = None, seed: int = 0, shots: int = 3, temperature: float = 0.9,
    max_attempts_factor: int = 3, cache: bool = True, client: ModelClient | None = None,
    progress: bool = True,
) -> GenerationSummary:
    """Append generated items to `out` until each subtask has `target` items there (seed items
    are not copied in). Gives up on a subtask after `max_attempts_factor` x target calls."""
    chosen = _chosen_subtasks(seeds, subtasks, target)
    have = _existing(out)
    # No re-asks on a bad reply: the next call (a new seed) is as good a retry, and a re-ask of
    # a reply that ran to max_tokens costs as much again.
    c = client or ModelClient(ModelSettings(model=model, concurrency=8, parse_retries=0),
                              cache=True if cache else None)
    filling = Filling(seeds, out, c, chosen, target, seed, shots, temperature,
                      max_attempts_factor, have)
    total_needed = sum(max(0, target - t.existing) for t in filling.tally.values())
    with progress_bar(f"generate {c.name}" if progress else None, total_needed) as advance:
        filling.advance = advance
        run_sync(filling.fill())
    return GenerationSummary(out=str(out), model=c.name, target=target,
                             per_subtask=filling.tally)
