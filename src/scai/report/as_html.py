"""HTML output: a page as one self-contained document (images inlined as base64 PNG), and the
one Markdown-to-HTML converter in scai (`markdown_to_html`)."""

from __future__ import annotations

import base64
import html
import re
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

CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}td,th{border:1px solid #ccc;
padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f3f3}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px;white-space:pre-wrap}
.notice{padding:.5em .8em;border-radius:4px;margin:.5em 0}.info{background:#e8f1fb}
.warning{background:#fdf3d8}.error{background:#fbe3e3}.bubble{border:1px solid #ddd;
border-radius:8px;padding:.4em .8em;margin:.4em 0}.who{font-weight:600}.note{color:#777;
font-size:12px}details{margin:.3em 0 .3em 1em}summary{cursor:pointer}img{max-width:100%}
blockquote{border-left:3px solid #ccc;margin:.4em 0;padding-left:.8em;color:#444}
"""

# The only raw HTML our own Markdown writer emits (folded sections); anything else is escaped.
_FOLD = re.compile(r"^(</details>|<details( open)?>(<summary>.*</summary>)?)$")
_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_RULE = re.compile(r"^:?-+:?$")


def img_tag(data: bytes, alt: str) -> str:
    """An <img> with the PNG inlined, so the document needs no other file."""
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode()}">')


def _inline_plain(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![*\w])\*(?!\s)(.+?)\*", r"<i>\1</i>", t)
    return re.sub(r"(?<![\w*])_(?!\s)(.+?)_(?!\w)", r"<i>\1</i>", t)


def inline(text: str) -> str:
    """Inline Markdown: `code` (taken literally), **bold**, *italics* and _italics_."""
    parts = re.split(r"(`[^`]+`)", text.replace("\\|", "|"))
    return "".join(f"<code>{html.escape(p[1:-1])}</code>" if p.startswith("`") and len(p) > 1
                   else _inline_plain(p) for p in parts)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


class _Converter:
    """A line-by-line reader of the Markdown scai writes: headings, paragraphs, quotes, lists,
    tables, fenced code, images (inlined from `images`) and folded sections."""

    def __init__(self, images: Path | None):
        self.images = images
        self.out: list[str] = []
        self.mode = ""  # "", "p", "quote", "list", "table", "code"
        self.buf: list[str] = []

    def flush(self) -> None:
        if self.mode == "p":
            self.out.append("<p>" + "<br>".join(inline(x) for x in self.buf) + "</p>")
        elif self.mode == "quote":
            self.out.append("<blockquote>" + "<br>".join(inline(x) for x in self.buf)
                            + "</blockquote>")
        elif self.mode == "list":
            self.out.append("<ul>" + "".join(f"<li>{inline(x)}</li>" for x in self.buf) + "</ul>")
        elif self.mode == "table":
            rows = [_cells(x) for x in self.buf]
            rows = [r for r in rows if not all(_RULE.match(c) for c in r)]
            head, body = (rows[0], rows[1:]) if rows else ([], [])
            self.out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head)
                            + "</tr>" + "".join("<tr>" + "".join(f"<td>{inline(c)}</td>"
                                                                  for c in r) + "</tr>"
                                                for r in body) + "</table>")
        elif self.mode == "code":
            self.out.append(f"<pre>{html.escape(chr(10).join(self.buf))}</pre>")
        self.mode, self.buf = "", []

    def add(self, mode: str, text: str) -> None:
        if self.mode != mode:
            self.flush()
            self.mode = mode
        self.buf.append(text)

    def image(self, alt: str, target: str) -> str:
        path = Path(target) if self.images is None else self.images / target
        if self.images is not None and path.is_file():
            return img_tag(path.read_bytes(), alt or path.stem)
        return f"<p class='note'>[image: {html.escape(alt or target)}]</p>"

    def line(self, line: str) -> None:
        if self.mode == "code":
            if line.startswith("```"):
                self.flush()
            else:
                self.buf.append(line)
        elif line.startswith("```"):
            self.flush()
            self.mode = "code"
        elif (single := self.single(line.strip())) is not None:
            self.flush()
            if single:
                self.out.append(single)
        else:
            self.grouped(line)

    def single(self, stripped: str) -> str | None:
        """HTML for a line that stands alone (blank, heading, image, fold), else None."""
        if not stripped:
            return ""
        if _FOLD.match(stripped):
            return stripped
        if stripped.startswith("#"):
            level = min(6, len(stripped) - len(stripped.lstrip("#")))
            return f"<h{level}>{inline(stripped.lstrip('#').strip())}</h{level}>"
        if m := _IMAGE.match(stripped):
            return self.image(m.group(1), m.group(2))
        return None

    def grouped(self, line: str) -> None:
        """A line of a table, quote, list or paragraph: kept until the group ends."""
        stripped = line.strip()
        if stripped.startswith("|"):
            self.add("table", stripped)
        elif stripped.startswith(">"):
            self.add("quote", stripped[1:].strip())
        elif stripped.startswith(("- ", "* ")):
            self.add("list", stripped[2:])
        else:
            self.add("list" if self.mode == "list" and line.startswith("  ") else "p", stripped)


def markdown_to_html(text: str, *, images: Path | None = None) -> str:
    """HTML for the Markdown scai writes; `![alt](file.png)` is inlined from the folder
    `images` (images are left out, named only, without it)."""
    conv = _Converter(images)
    for line in text.splitlines():
        conv.line(line)
    conv.flush()
    return "\n".join(conv.out)


html_of: Renderers[str] = Renderers("HTML")


def blocks_html(blocks: list[Block]) -> str:
    """The HTML of a list of blocks, top to bottom."""
    return "\n".join(html_of(b) for b in blocks)


@html_of.register(Heading)
def _heading(b: Heading) -> str:
    return f"<h{b.level}>{html.escape(b.text)}</h{b.level}>"


@html_of.register(Markdown)
def _markdown(b: Markdown) -> str:
    return markdown_to_html(b.text)


@html_of.register(Notice)
def _notice(b: Notice) -> str:
    return f'<div class="notice {b.level}">{html.escape(b.text)}</div>'


@html_of.register(Table)
def _table(b: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>"
                                    for v in row) + "</tr>" for row in b.rows)
    cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
    return f"<table>{cap}<tr>{head}</tr>{body}</table>"


@html_of.register(Figure)
def _figure(b: Figure) -> str:
    return img_tag(png_bytes(b.figure), b.caption or b.name or "figure")


@html_of.register(Image)
def _image(b: Image) -> str:
    if b.path.is_file():
        return img_tag(b.path.read_bytes(), b.caption or b.path.name)
    return f'<div class="notice warning">missing image {html.escape(str(b.path))}</div>'


@html_of.register(Code)
def _code(b: Code) -> str:
    return f"<pre>{html.escape(b.text)}</pre>"


@html_of.register(Chat)
def _chat(b: Chat) -> str:
    parts = []
    for line in b.lines:
        nested = ""
        if line.nested:
            nested = (f"<details><summary>{html.escape(line.nested_title)}</summary>"
                      f"{blocks_html(line.nested)}</details>")
        parts.append(f'<div class="bubble"><span class="who">{html.escape(line.speaker)}'
                     f'</span> <span class="note">{html.escape(line.note)}</span>'
                     f"{nested}{markdown_to_html(line.text)}</div>")
    return "\n".join(parts)


@html_of.register(Section)
def _section(b: Section) -> str:
    return (f"<details{' open' if b.expanded else ''}><summary>{html.escape(b.title)}</summary>"
            f"{blocks_html(b.blocks)}</details>")


@html_of.register(Tabs)
def _tabs(b: Tabs) -> str:
    return "\n".join(f"<h4>{html.escape(label)}</h4>{blocks_html(inner)}"
                     for label, inner in b.tabs)


def document(title: str, body: str) -> str:
    """A complete HTML document around `body`, with the report style sheet."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body>{body}</body></html>\n")


def to_html(page: Page) -> str:
    """One self-contained HTML document (no external files, images inlined)."""
    top = f"<h1>{html.escape(page.title)}</h1>" if page.title else ""
    if page.subtitle:
        top += f"<p class='note'>{html.escape(page.subtitle)}</p>"
    return document(page.title, top + blocks_html(page.blocks))
