"""Personas: who a simulated user is. Shipped set in scai/data/contract; more from YAML/JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scai.config import format_validation_error, parse_yaml
from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "contract"


class Persona(BaseModel):
    """A simulated person: background, values and how they speak (their policy is hidden)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    background: str = ""
    values: str = ""
    manner: str = Field("", description="How they speak, in their own words.")
    request: str = Field("", description="What they ask an assistant for (assistance task).")
    prefers: Literal["brief", "detailed"] = "brief"

    def describe(self) -> str:
        """The persona in one sentence, as a user's system prompt introduces it."""
        return f"{self.name}, {self.background}. You value {self.values}. You speak {self.manner}."


def _rows(path: Path) -> list[tuple[str, object]]:
    text = read_text(path)
    if path.suffix == ".jsonl":
        return [(f"{path}:{n}", row) for n, row in jsonl_rows(path, text)]
    data = parse_yaml(text, str(path))
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of personas, got {type(data).__name__}")
    return [(f"{path}: item {i}", row) for i, row in enumerate(data)]


def load_personas(path: Path | None = None) -> list[Persona]:
    """The shipped personas, or those in `path` (YAML list or JSONL); one-line errors."""
    if path is None:
        path = DATA_DIR / "personas.yaml"
    out = []
    for where, row in _rows(Path(path)):
        try:
            out.append(Persona.model_validate(row))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(where, exc)) from None
    if not out:
        raise ConfigError(f"{path}: no personas")
    return out
