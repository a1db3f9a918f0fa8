"""The constitution: the natural-language principles in the assistant's system prompt.

A run records the constitution in force at each epoch as a `constitution` event keyed
`c{epoch}`; `constitution_key` writes that key and `constitution_epoch` reads it, here only.
The principle helpers every learner shares (`generality_problem`, `merge_similar`,
`merge_by_meaning`) live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from scai.contract.mediator_record import Mediation
from scai.errors import ConfigError

if TYPE_CHECKING:
    from scai.store import RunStore


class Candidate(BaseModel):
    """One principle the bayes learner weighs: its log-likelihood of the users' actions and its
    posterior probability; `source` says where it came from (prior:selfish, proposed:e0, ...)."""

    principle: str
    log_likelihood: float
    probability: float
    source: str = ""


class Constitution(BaseModel):
    """Principles the assistant follows, with where they came from."""

    principles: list[str] = Field(default_factory=list)
    epoch: int = 0
    rationale: str = Field("", description="The meta-learner's critique or vote tally.")
    source: str = Field("prior", description="prior, given, rewrite, voting, bayes, kept")
    posterior: list[Candidate] | None = Field(
        None, description="bayes: every candidate weighed when this constitution was chosen "
        "(the pool the next epoch starts from), in the order they joined.")
    mediation: Mediation | None = Field(
        None, description="mediator: the deliberation that wrote this constitution.")

    def text(self) -> str:
        """The principles as the assistant's prompt shows them (numbered when several)."""
        if not self.principles:
            return "(no principles)"
        if len(self.principles) == 1:
            return self.principles[0]
        return "\n".join(f"{i}. {p}" for i, p in enumerate(self.principles, 1))


def constitution_key(epoch: int) -> str:
    """The event key of the constitution in force at `epoch`."""
    return f"c{epoch}"


def constitution_epoch(key: str | None) -> int | None:
    """The epoch a `constitution` event key names, or None for a key that is not one."""
    if key and key.startswith("c") and key[1:].isdigit():
        return int(key[1:])
    return None


@dataclass(frozen=True)
class Learned:
    """The last constitution a contract run arrived at, with the run and event key it came from."""

    run_id: str
    key: str
    constitution: Constitution


def learned_constitution(store: RunStore, ref: str, *, where: str | None = None) -> Learned:
    """The last constitution of contract run `ref`; errors are one line, prefixed by `where`."""
    where = where or ref
    info = store.get(ref)
    if info.kind != "contract":
        raise ConfigError(f"{where}: run {info.id} is a {info.kind} run, not a Social Contract "
                          "(`scai simulate`) run")
    found = [(constitution_epoch(e.key), e) for e in store.events(info.id, "constitution")]
    found = [(n, e) for n, e in found if n is not None]
    if not found:
        raise ConfigError(f"{where}: run {info.id} has no constitution yet")
    _, last = max(found, key=lambda pair: pair[0])
    return Learned(info.id, str(last.key), Constitution.model_validate(last.payload))


def generality_problem(principle: str, banned: list[str]) -> str | None:
    """Why a principle is not general (mentions numbers, banned words, the game), else None.

    `banned` holds the game's own words (`Task.game_words`) and its goods (`Task.banned_words`).
    """
    if len(re.findall(r"[A-Za-z]{2,}", principle)) < 3:
        return "is not a sentence"
    if re.search(r"\d", principle):
        return "mentions a number"
    low = principle.lower()
    for word in banned:
        for part in word.lower().split():
            if len(part) > 2 and re.search(rf"\b{re.escape(part)}", low):
                return f"mentions {part!r}"
    return None


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def merge_similar(principles: list[str], threshold: float = 0.5) -> list[str]:
    """Greedy clustering by word overlap (Jaccard); the first of each cluster represents it."""
    kept: list[str] = []
    for p in principles:
        if all(len(_words(p) & _words(k)) / max(1, len(_words(p) | _words(k))) < threshold
               for k in kept):
            kept.append(p)
    return kept


def merge_by_meaning(principles: list[str], threshold: float = 0.75) -> list[str]:
    """Greedy clustering by embedding cosine (all-MiniLM-L6-v2): a principle joins the first
    kept one it is at least `threshold` similar to; the first of each cluster represents it."""
    if len(principles) < 2:
        return list(principles)
    from scai.embed import embed

    x = embed(principles)
    kept: list[int] = []
    for i in range(len(principles)):
        if all(float(x[i] @ x[j]) < threshold for j in kept):
            kept.append(i)
    return [principles[i] for i in kept]
