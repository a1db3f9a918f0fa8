"""Markdown output: a page as Markdown text, its figures and images written as PNGs beside it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from scai.report.blocks import (
    Block,
    Chat,
    Code,
    Figure,
    Heading,
    Image,
    Markdown,
    Notice,
    Page,
    Renderers,
    Section,
    Table,
    Tabs,
)
from scai.report.figures import png_bytes


@dataclass
class PngFolder:
    """Where a Markdown page's PNGs go and what they are called.

    `named`: a figure with a `name` is `<name>.png` (stable names a feature's users know);
    otherwise, and for unnamed figures, PNGs are numbered `<stem>-01-<name>.png`.
    """

    folder: Path
    stem: str
    named: bool = False
    written: list[Path] = field(default_factory=list)
    depth: int = 0

    def _numbered(self, name: str, suffix: str = ".png") -> Path:
        n = sum(1 for p in self.written if p.name.startswith(f"{self.stem}-")) + 1
        return self.folder / f"{self.stem}-{n:02d}{'-' + name if name else ''}{suffix}"

    def _unique(self, path: Path) -> Path:
        # two figures of one page under one name: keep both (the second gets -2)
        candidate, k = path, 2
        while candidate in self.written:
            candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
            k += 1
        return candidate

    def figure(self, fig: Figure) -> Path:
        """Write a figure's PNG; returns its path."""
        target = (self._unique(self.folder / f"{fig.name}.png") if self.named and fig.name
                  else self._numbered(fig.name))
        target.write_bytes(png_bytes(fig.figure))
        self.written.append(target)
        return target

    def image(self, img: Image) -> Path:
        """An image on disk: linked where it is if it lies in the folder, else copied here."""
        if self.named and img.path.resolve().parent == self.folder.resolve():
            return img.path
        target = self.folder / img.path.name if self.named else self._numbered(img.path.name, "")
        if self.named:
            target = self._unique(target)
        shutil.copyfile(img.path, target)
        self.written.append(target)
        return target


md_of: Renderers[list[str]] = Renderers("Markdown")


def blocks_markdown(blocks: list[Block], files: PngFolder) -> list[str]:
    """Markdown lines for a list of blocks (PNGs written through `files`)."""
    return [line for b in blocks for line in md_of(b, files)]


def cell(v: object) -> str:
    """A Markdown table cell: pipes escaped, on one line."""
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")


@md_of.register(Heading)
def _heading(b: Heading, files: PngFolder) -> list[str]:
    return ["#" * min(6, b.level + files.depth) + " " + b.text, ""]


@md_of.register(Markdown)
def _markdown(b: Markdown, files: PngFolder) -> list[str]:
    return [b.text, ""]


@md_of.register(Notice)
def _notice(b: Notice, files: PngFolder) -> list[str]:
    return [f"> **{b.level}:** {b.text}", ""]


@md_of.register(Table)
def _table(b: Table, files: PngFolder) -> list[str]:
    out = [f"*{b.caption}*", ""] if b.caption else []
    out += ["| " + " | ".join(cell(c) for c in b.columns) + " |", "|" + "---|" * len(b.columns)]
    return out + ["| " + " | ".join(cell(v) for v in row) + " |" for row in b.rows] + [""]


@md_of.register(Figure)
def _figure(b: Figure, files: PngFolder) -> list[str]:
    target = files.figure(b)
    return [f"![{b.caption or target.stem}]({target.name})", ""]


@md_of.register(Image)
def _image(b: Image, files: PngFolder) -> list[str]:
    if not b.path.is_file():
        return [f"> **warning:** missing image {b.path}", ""]
    target = files.image(b)
    return [f"![{b.caption or target.stem}]({target.name})", ""]


@md_of.register(Code)
def _code(b: Code, files: PngFolder) -> list[str]:
    return [f"```{b.language}", b.text.rstrip(), "```", ""]


@md_of.register(Chat)
def _chat(b: Chat, files: PngFolder) -> list[str]:
    out: list[str] = []
    for line in b.lines:
        out += [f"**{line.speaker}** *({line.note})*:", ""]
        out += ["> " + t if t else ">" for t in line.text.splitlines()] + [""]
        if line.nested:
            out += [f"<details><summary>{line.nested_title}</summary>", ""]
            out += blocks_markdown(line.nested, files) + ["</details>", ""]
    return out


@md_of.register(Section)
def _section(b: Section, files: PngFolder) -> list[str]:
    return [f"<details><summary>{b.title}</summary>", "",
            *blocks_markdown(b.blocks, files), "</details>", ""]


@md_of.register(Tabs)
def _tabs(b: Tabs, files: PngFolder) -> list[str]:
    return [line for label, inner in b.tabs
            for line in [f"**{label}**", "", *blocks_markdown(inner, files)]]


def to_markdown(page: Page, files: PngFolder) -> str:
    """The page as Markdown: `# title`, the subtitle in italics (each only if set), its blocks."""
    top = [f"# {page.title}", ""] if page.title else []
    if page.subtitle:
        top += [f"*{page.subtitle}*", ""]
    return "\n".join([*top, *blocks_markdown(page.blocks, files)])
