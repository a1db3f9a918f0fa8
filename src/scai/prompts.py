"""Prompts are data: YAML files of named templates, each declaring the variables it takes.

    greet:
      variables: [name]
      text: "Hello {name}."

`PromptBook.load(path)["greet"].render(name="Ada")`. Rendering with a missing or unexpected
variable is an error, so a template and its caller cannot drift apart silently.
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from pydantic import BaseModel, model_validator


class PromptTemplate(BaseModel):
    """One template: `{variable}` placeholders, all of them declared."""

    name: str
    text: str
    variables: list[str] = []

    @model_validator(mode="after")
    def _declared(self) -> PromptTemplate:
        used = {f for _, f, _, _ in string.Formatter().parse(self.text) if f}
        if used != set(self.variables):
            raise ValueError(
                f"prompt {self.name!r}: uses {sorted(used)} but declares {sorted(self.variables)}"
            )
        return self

    def render(self, **values: object) -> str:
        missing = set(self.variables) - set(values)
        extra = set(values) - set(self.variables)
        if missing or extra:
            raise KeyError(f"prompt {self.name!r}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return self.text.format(**values)


class PromptBook(dict[str, PromptTemplate]):
    """The templates of one feature, by name."""

    @classmethod
    def load(cls, path: Path) -> PromptBook:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls({name: PromptTemplate(name=name, **body) for name, body in data.items()})
