"""What a page is made of: a few plain block types that both the dashboard and `scai report`
render (Streamlit widgets there, HTML or Markdown here), so no figure is built twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass
class Heading:
    """A section title (level 2 is a page section, 3 a subsection)."""

    text: str
    level: int = 2


@dataclass
class Markdown:
    """Prose in Markdown."""

    text: str


@dataclass
class Notice:
    """A message the reader must not miss: a broken file, an interrupted run, missing data."""

    text: str
    level: Literal["info", "warning", "error"] = "info"


@dataclass
class Table:
    """Rows of scalars under named columns."""

    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Figure:
    """A matplotlib figure; `name` becomes its file name when written beside a Markdown report."""

    figure: Any
    name: str
    caption: str = ""


@dataclass
class Image:
    """A PNG already on disk (a plot the run wrote itself)."""

    path: Path
    caption: str = ""


@dataclass
class Code:
    """Preformatted text: a diff, a config, JSON."""

    text: str
    language: str = ""


@dataclass
class ChatLine:
    """One statement as a chat bubble; `nested` holds a deliberation folded under it."""

    speaker: str
    text: str
    note: str = ""
    role: Literal["assistant", "user", "moderator"] = "assistant"
    nested: list[Block] = field(default_factory=list)
    nested_title: str = ""


@dataclass
class Chat:
    """A conversation shown as chat bubbles."""

    lines: list[ChatLine]


@dataclass
class Section:
    """Blocks folded under a title: an expander in the dashboard, `<details>` in HTML."""

    title: str
    blocks: list[Block]
    expanded: bool = False


@dataclass
class Tabs:
    """Alternative views side by side: tabs in the dashboard, consecutive sections in a file."""

    tabs: list[tuple[str, list[Block]]]


Block = Heading | Markdown | Notice | Table | Figure | Image | Code | Chat | Section | Tabs


@dataclass
class Page:
    """One run's page: a title, a one-line subtitle and its blocks, top to bottom."""

    title: str
    subtitle: str
    blocks: list[Block]


def walk(blocks: list[Block]):
    """Every block, depth first, including those inside sections, tabs and chat deliberations."""
    for b in blocks:
        yield b
        if isinstance(b, Section):
            yield from walk(b.blocks)
        elif isinstance(b, Tabs):
            for _, inner in b.tabs:
                yield from walk(inner)
        elif isinstance(b, Chat):
            for line in b.lines:
                yield from walk(line.nested)


def close_figures(blocks: list[Block]) -> None:
    """Free the matplotlib figures of a page once it has been rendered."""
    import matplotlib.pyplot as plt

    for b in walk(blocks):
        if isinstance(b, Figure):
            plt.close(b.figure)
