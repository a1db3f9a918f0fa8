"""A page as a self-contained file: HTML with every image inlined as base64 PNG, or Markdown
with its PNGs written beside it."""

from __future__ import annotations

import base64
import html
import io
import shutil
from pathlib import Path

from scai.errors import ConfigError
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
    Section,
    Table,
    Tabs,
    close_figures,
)

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


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _md_to_html(text: str) -> str:
    """Just enough Markdown for the prose the pages write: paragraphs, bold, italics, quotes."""
    import re

    out = []
    for para in text.split("\n\n"):
        lines = para.splitlines()
        if lines and all(line.startswith(">") for line in lines):
            inner = "<br>".join(html.escape(line[1:].strip()) for line in lines)
            out.append(f"<blockquote>{inner}</blockquote>")
            continue
        t = html.escape(para)
        t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
        t = re.sub(r"(?<![*\w])\*(?!\s)(.+?)\*", r"<i>\1</i>", t)
        t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
        out.append(f"<p>{t.replace(chr(10), '<br>')}</p>")
    return "\n".join(out)


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode()}">')


def _html(blocks: list[Block]) -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Markdown):
            parts.append(_md_to_html(b.text))
        elif isinstance(b, Notice):
            parts.append(f'<div class="notice {b.level}">{html.escape(b.text)}</div>')
        elif isinstance(b, Table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>"
                                            for v in row) + "</tr>" for row in b.rows)
            cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
            parts.append(f"<table>{cap}<tr>{head}</tr>{body}</table>")
        elif isinstance(b, Figure):
            parts.append(_img(figure_png(b.figure), b.caption or b.name))
        elif isinstance(b, Image):
            if b.path.is_file():
                parts.append(_img(b.path.read_bytes(), b.caption or b.path.name))
            else:
                parts.append(f'<div class="notice warning">missing image {html.escape(str(b.path))}'
                             "</div>")
        elif isinstance(b, Code):
            parts.append(f"<pre>{html.escape(b.text)}</pre>")
        elif isinstance(b, Chat):
            for line in b.lines:
                nested = ""
                if line.nested:
                    nested = (f"<details><summary>{html.escape(line.nested_title)}</summary>"
                              f"{_html(line.nested)}</details>")
                parts.append(f'<div class="bubble"><span class="who">{html.escape(line.speaker)}'
                             f'</span> <span class="note">{html.escape(line.note)}</span>'
                             f"{nested}{_md_to_html(line.text)}</div>")
        elif isinstance(b, Section):
            parts.append(f"<details{' open' if b.expanded else ''}><summary>"
                         f"{html.escape(b.title)}</summary>{_html(b.blocks)}</details>")
        elif isinstance(b, Tabs):
            for label, inner in b.tabs:
                parts.append(f"<h4>{html.escape(label)}</h4>{_html(inner)}")
    return "\n".join(parts)


def to_html(page: Page) -> str:
    """One self-contained HTML document (no external files, images inlined)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(page.title)}"
            f"</title><style>{CSS}</style></head><body><h1>{html.escape(page.title)}</h1>"
            f"<p class='note'>{html.escape(page.subtitle)}</p>{_html(page.blocks)}</body></html>\n")


def _cell(v) -> str:
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")


def _md(blocks: list[Block], images: Path, stem: str, depth: int = 0) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * min(6, b.level + depth) + " " + b.text, ""]
        elif isinstance(b, Markdown):
            out += [b.text, ""]
        elif isinstance(b, Notice):
            out += [f"> **{b.level}:** {b.text}", ""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out += ["| " + " | ".join(_cell(c) for c in b.columns) + " |",
                    "|" + "---|" * len(b.columns)]
            out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in b.rows] + [""]
        elif isinstance(b, (Figure, Image)):
            name = f"{stem}-{len(list(images.glob(stem + '-*.png'))) + 1:02d}-"
            if isinstance(b, Figure):
                target = images / f"{name}{b.name}.png"
                target.write_bytes(figure_png(b.figure))
            elif b.path.is_file():
                target = images / f"{name}{b.path.name}"
                shutil.copyfile(b.path, target)
            else:
                out += [f"> **warning:** missing image {b.path}", ""]
                continue
            out += [f"![{b.caption or target.stem}]({target.name})", ""]
        elif isinstance(b, Code):
            out += [f"```{b.language}", b.text.rstrip(), "```", ""]
        elif isinstance(b, Chat):
            for line in b.lines:
                out += [f"**{line.speaker}** *({line.note})*:", ""]
                out += ["> " + t if t else ">" for t in line.text.splitlines()] + [""]
                if line.nested:
                    out += [f"<details><summary>{line.nested_title}</summary>", ""]
                    out += _md(line.nested, images, stem, depth) + ["</details>", ""]
        elif isinstance(b, Section):
            out += [f"<details><summary>{b.title}</summary>", ""]
            out += _md(b.blocks, images, stem, depth) + ["</details>", ""]
        elif isinstance(b, Tabs):
            for label, inner in b.tabs:
                out += [f"**{label}**", ""] + _md(inner, images, stem, depth)
    return out


def write_report(page: Page, path: Path) -> list[Path]:
    """Write `page` to `path` (.html or .md); returns every file written."""
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".md"):
        raise ConfigError(f"-o {path}: the report must end in .html or .md")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suffix == ".md":
            for old in path.parent.glob(f"{path.stem}-*.png"):
                old.unlink()
            lines = [f"# {page.title}", "", f"*{page.subtitle}*", "",
                     *_md(page.blocks, path.parent, path.stem)]
            path.write_text("\n".join(lines), encoding="utf-8")
            return [path, *sorted(path.parent.glob(f"{path.stem}-*.png"))]
        path.write_text(to_html(page), encoding="utf-8")
        return [path]
    finally:
        close_figures(page.blocks)
