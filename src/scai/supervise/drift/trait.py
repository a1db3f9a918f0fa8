"""A trait seeded before round 0 and watched as self-training goes on (the idempotence experiment).

"Iterative finetuning is mostly idempotent" (arXiv 2605.01130) finds that a trait put into a
model by fine-tuning fades under repeated SFT on the model's own outputs and grows only under
continual preference training. `trait:` in a drift config reproduces the design on scai's own
loop: the base model is fine-tuned on the trait's demonstrations (`seed/`), that checkpoint is
round 0, and every round reads the trait twice:

- **behaviour**: the share of the round's probe answers in which a trait marker appears (whole
  words; the trait file's `markers`), with a Wilson 95% interval over answers;
- **representation**: how much of the seeding's shift in the hidden states remains. With mu_m the
  mean hidden state (per layer) of model m on the probe prompts as it is about to answer (chat
  format), and d = mu_seeded - mu_base the shift the seeding made, round k keeps
  (mu_k - mu_base) . d / |d|^2 of it: 1 at round 0, 0 back at the base model, above 1 amplified.
  A 95% interval comes from resampling the probes. The trait's contrast pairs also join the
  concepts whose directions representation drift follows.

This module holds the trait file and the two measures; seeding.py trains the seed and takes a
round's reading.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from scai.config import format_validation_error, load_yaml
from scai.errors import ConfigError
from scai.supervise.representations.concepts import Concept, ConceptSet, Pair

BOOTSTRAP = 200


def default_trait_path() -> Path:
    return Path(str(resources.files("scai.data") / "supervise" / "traits" / "pirate.yaml"))


class Trait(BaseModel):
    """A trait file: what it is, how a reply shows it, how to seed it, and its contrast pairs."""

    name: str = Field(min_length=1, pattern=r"^[\w-]+$")
    description: str = ""
    demonstrations: Path = Field(description="JSONL {id, prompt, reply}, relative to the file.")
    markers: list[str] = Field(min_length=1, description="Regular expressions, matched as whole "
                               "words, case-insensitive.")
    pairs: list[Pair] = Field(min_length=4)

    @field_validator("markers")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for m in v:
            try:
                re.compile(m)
            except re.error as exc:
                raise ValueError(f"marker {m!r} is not a regular expression ({exc})") from None
        return v

    def pattern(self) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(self.markers) + r")\b", re.IGNORECASE)

    def concept(self) -> Concept:
        return Concept(description=self.description, pairs=self.pairs)


def load_trait(path: Path | None) -> Trait:
    """The trait at `path` (default: the shipped pirate voice); one ConfigError line if bad."""
    path = Path(path) if path is not None else default_trait_path()
    try:
        trait = Trait.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None
    if not trait.demonstrations.is_absolute():
        trait.demonstrations = path.parent / trait.demonstrations
    if not trait.demonstrations.is_file():
        raise ConfigError(f"{path}: demonstrations: no file {trait.demonstrations}")
    return trait


def with_trait(concepts: ConceptSet, trait: Trait) -> ConceptSet:
    """The concept set with the trait's pairs added under its name."""
    return concepts.model_copy(update={"concepts": {**concepts.concepts,
                                                    trait.name: trait.concept()}})


class Interval(BaseModel):
    value: float | None
    low: float | None
    high: float | None


class TraitReading(BaseModel):
    """One round's trait: in its answers (behaviour) and in its hidden states (retained shift)."""

    trait: str
    answers: int
    with_marker: int
    rate: Interval = Field(description="Share of the probe answers with a marker (Wilson 95%).")
    retained: Interval | None = Field(None, description="Share of the seeding's shift kept, mean "
                                      "over the transformer layers (probe-bootstrap 95%).")
    retained_by_layer: list[float] = Field(default_factory=list, description="Layer 1..L.")


def marker_count(texts: list[str], trait: Trait) -> int:
    """How many of `texts` show a marker."""
    pattern = trait.pattern()
    return sum(bool(pattern.search(t)) for t in texts)


def behaviour(texts: list[str], trait: Trait) -> tuple[int, Interval]:
    from scai.supervise.bench.score import wilson

    k = marker_count(texts, trait)
    low, high = wilson(k, len(texts))
    return k, Interval(value=k / len(texts) if texts else None, low=low, high=high)


def retained_shift(base: np.ndarray, seeded: np.ndarray, current: np.ndarray, *, seed: int = 0
                   ) -> tuple[list[float], Interval]:
    """Per layer (1..L) the share of the seeding's mean shift that `current` keeps, and its mean
    over layers with a bootstrap over the probes. Arrays: (layers + 1, probes, hidden)."""

    def per_layer(idx: np.ndarray) -> np.ndarray:
        mb, ms, mc = (x[1:, idx].mean(1) for x in (base, seeded, current))
        d = ms - mb
        norm = (d * d).sum(1)
        return np.where(norm > 0, ((mc - mb) * d).sum(1) / np.where(norm > 0, norm, 1), np.nan)

    n = base.shape[1]
    layers = per_layer(np.arange(n))
    rng = np.random.default_rng(seed)
    means = [float(np.nanmean(per_layer(rng.integers(0, n, n)))) for _ in range(BOOTSTRAP)]
    low, high = np.percentile(means, [2.5, 97.5])
    return ([round(float(v), 4) for v in layers],
            Interval(value=float(np.nanmean(layers)), low=float(low), high=float(high)))


def answering_states(model: str, prompts: list[str], cache: Path) -> np.ndarray:
    """Model's hidden states on each prompt as it reads it before answering (its chat template,
    or the User/Assistant transcript for a completion model); kept in `cache` (an .npy)."""
    if cache.is_file():
        return np.load(cache)
    from scai.llm import Message
    from scai.llm.checkpoints import checkpoint_prompting, resolve_base
    from scai.llm.transcript import render_transcript
    from scai.supervise.representations.activations import hidden_states, load_model

    m, tok = load_model(model)
    chats = [[Message(role="user", content=p)] for p in prompts]
    if checkpoint_prompting(resolve_base(model)) == "chat":
        texts = [tok.apply_chat_template([c.model_dump(include={"role", "content"}) for c in chat],
                                         tokenize=False, add_generation_prompt=True)
                 for chat in chats]
    else:
        texts = [render_transcript(chat) for chat in chats]
    states = hidden_states(m, tok, texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, states)
    return states

