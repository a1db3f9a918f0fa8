"""What a page is made of: a few plain block types that every output renders (Streamlit
widgets in the dashboard, HTML or Markdown in files), so no figure is built twice.

Each output is a `Renderers` table: one function per block type. A new block type is a
dataclass here, added to `Block`, plus one registered function per output (`as_html`,
`as_markdown`, `scai.ui.render`); `Renderers.missing()` names any output that lacks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, get_args

from scai.report.figures import ChartData


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
    """A matplotlib figure; `name` (e.g. "offered_share") is its stable PNG file name when a
    page is written to a folder (`write_files`); unnamed figures are numbered. `data`, when
    set, is what the figure plots, for the dashboard's interactive chart."""

    figure: Any
    name: str = ""
    caption: str = ""
    data: ChartData | None = None


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


BLOCK_TYPES: tuple[type, ...] = get_args(Block)

R = TypeVar("R")


class Renderers(Generic[R]):
    """One output target's renderers: a function per block type, looked up by the block's class."""

    def __init__(self, target: str):
        self.target = target
        self._by_type: dict[type, Callable[..., R]] = {}

    def register(self, block_type: type) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator: `fn(block, *context)` renders blocks of `block_type`."""
        def add(fn: Callable[..., R]) -> Callable[..., R]:
            self._by_type[block_type] = fn
            return fn
        return add

    def __call__(self, block: Block, *context: Any) -> R:
        fn = self._by_type.get(type(block))
        if fn is None:
            raise TypeError(f"no {self.target} renderer for {type(block).__name__} blocks")
        return fn(block, *context)

    def missing(self) -> list[str]:
        """Block types this target cannot render yet (a test keeps this empty)."""
        return [t.__name__ for t in BLOCK_TYPES if t not in self._by_type]


def walk(blocks: list[Block]) -> Iterator[Block]:
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
    from scai.report.figures import close

    for b in walk(blocks):
        if isinstance(b, Figure):
            close(b.figure)
