"""Critique/revision data: the model answers, then critiques and revises its answer under
sampled principles for K rounds; every round's text is kept.

Output: chains (the full record), preference pairs (chosen = final revision, rejected = the
original answer) and SFT examples (prompt -> final revision), as JSONL a person can read.
With `fewshot`, every call opens with the worked examples of prompts.yaml (`fewshot_answer`,
`fewshot_revision`) as a system message: what a base model needs to continue the conversation.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from pydantic import BaseModel, Field

from scai.cai.data import Constitution, PromptItem
from scai.llm import GenerationParams, Message, ModelClient
from scai.progress import progress_bar
from scai.prompts import PromptBook
from scai.steps import KeyedLog, derive_seed, keyed_call

PROMPTS = PromptBook.load(Path(__file__).with_name("prompts.yaml"))


class RevisionRound(BaseModel):
    """One critique and the revision that followed it."""

    principle_id: str
    critique: str
    revision: str


class CritiqueChain(BaseModel):
    """A prompt, the model's first answer, and every critique/revision round after it."""

    prompt_id: str
    prompt: str
    category: str | None = None
    sample_index: int = 0
    original: str
    rounds: list[RevisionRound] = Field(default_factory=list)

    @property
    def final(self) -> str:
        """The last revision (the original answer when there was no round)."""
        return self.rounds[-1].revision if self.rounds else self.original


class PreferencePair(BaseModel):
    """DPO data in TRL's plain format, plus provenance."""

    prompt: str
    chosen: str
    rejected: str
    prompt_id: str
    principles: list[str]


class SFTExample(BaseModel):
    """SFT data as chat messages."""

    prompt_id: str
    messages: list[Message]


async def build_chain(
    client: ModelClient, item: PromptItem, constitution: Constitution, *, rounds: int,
    seed: int, params: GenerationParams, sample_index: int = 0, log: KeyedLog | None = None,
    fewshot: bool = False,
) -> CritiqueChain:
    """Answer one prompt, then run `rounds` critique/revision rounds on the answer.

    Each call is keyed `<prompt id>|<sample>|<step>` and seeded `derive_seed(seed, key)`.
    """
    log = log if log is not None else KeyedLog(type_="generate")
    rng = random.Random(derive_seed(seed, item.id, sample_index, "principles"))
    convo = [Message(role="user", content=item.prompt)]

    async def ask(messages: list[Message], what: str) -> str:
        if fewshot:
            examples = PROMPTS["fewshot_answer" if what == "original" else "fewshot_revision"]
            messages = [Message(role="system", content=examples.render()), *messages]
        step = await keyed_call(client, log, f"{item.id}|{sample_index}|{what}", messages, params,
                                seed=seed, kind=what.split("-")[0], clean=str.strip,
                                tags={"prompt_id": item.id, "step": what})
        return step.text

    original = await ask(convo, "original")
    chain = CritiqueChain(prompt_id=item.id, prompt=item.prompt, category=item.category,
                          sample_index=sample_index, original=original)
    current = original
    for k in range(rounds):
        principle = rng.choice(constitution.principles)
        history = [*convo, Message(role="assistant", content=current)]
        critique_msgs = [*history, Message(role="user", content=PROMPTS["critique_request"].render(
            instruction=principle.critique.strip()))]
        critique = await ask(critique_msgs, f"critique-{k}")
        revision_msgs = [*critique_msgs, Message(role="assistant", content=critique),
                         Message(role="user", content=PROMPTS["revision_request"].render(
                             instruction=principle.revision.strip()))]
        revision = await ask(revision_msgs, f"revision-{k}")
        chain.rounds.append(RevisionRound(principle_id=principle.id, critique=critique,
                                          revision=revision or current))
        current = chain.rounds[-1].revision
    return chain


async def generate_chains(
    client: ModelClient, items: list[PromptItem], constitution: Constitution, *, rounds: int = 1,
    samples: int = 1, seed: int = 0, params: GenerationParams | None = None,
    progress: bool = True, log: KeyedLog | None = None, fewshot: bool = False,
) -> list[CritiqueChain]:
    """Chains for every prompt x sample, concurrently (bounded by the client's concurrency).
    `log` keeps finished calls (default: in memory; a CAI run resumes by its folder)."""
    params = params or GenerationParams(temperature=0.7, max_tokens=160)
    log = log if log is not None else KeyedLog(type_="generate")
    jobs = [(item, k) for item in items for k in range(samples)]
    with progress_bar("critique/revision" if progress else None, total=len(jobs)) as advance:
        async def one(item: PromptItem, k: int) -> CritiqueChain:
            chain = await build_chain(client, item, constitution, rounds=rounds, seed=seed,
                                      params=params, sample_index=k, log=log,
                                      fewshot=fewshot)
            advance(1)
            return chain

        return list(await asyncio.gather(*(one(item, k) for item, k in jobs)))


def to_pairs(chains: list[CritiqueChain]) -> list[PreferencePair]:
    """Preference pairs; chains whose revision equals the original teach nothing and are skipped."""
    return [
        PreferencePair(prompt=c.prompt, chosen=c.final, rejected=c.original, prompt_id=c.prompt_id,
                       principles=[r.principle_id for r in c.rounds])
        for c in chains if c.rounds and c.final.strip() and c.final.strip() != c.original.strip()
    ]


def to_sft(chains: list[CritiqueChain]) -> list[SFTExample]:
    """SFT examples: each prompt with its final revision (empty ones skipped)."""
    return [
        SFTExample(prompt_id=c.prompt_id, messages=[
            Message(role="user", content=c.prompt), Message(role="assistant", content=c.final)])
        for c in chains if c.final.strip()
    ]
