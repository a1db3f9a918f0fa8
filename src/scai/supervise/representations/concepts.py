"""The shipped contrast pairs (scai/data/supervise/concepts.yaml), or a user's file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from scai.config import format_validation_error, load_yaml
from scai.errors import ConfigError


class Pair(BaseModel):
    """Two replies that share a situation and differ in the concept only."""

    positive: str = Field(min_length=1)
    negative: str = Field(min_length=1)


class Concept(BaseModel):
    description: str = ""
    pairs: list[Pair] = Field(min_length=4)


class ConceptSet(BaseModel):
    name: str = "concepts"
    version: str = "1"
    concepts: dict[str, Concept] = Field(min_length=1)


def default_concepts_path() -> Path:
    return Path(str(resources.files("scai.data") / "supervise" / "concepts.yaml"))


def load_concepts(path: Path | None = None) -> ConceptSet:
    """Concepts and their pairs; a bad file is one ConfigError line naming it."""
    path = Path(path) if path is not None else default_concepts_path()
    data = load_yaml(path)
    try:
        return ConceptSet.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None
