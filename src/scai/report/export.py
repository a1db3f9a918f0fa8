"""Pages as files: the one path by which scai leaves reports on disk.

`write_report(page, path)` writes one file (`scai report -o FILE`); `write_files(page, folder)`
leaves the files a command leaves in its output folder (summary.md, report.html, named PNGs).
"""

from __future__ import annotations

from pathlib import Path

from scai.errors import ConfigError
from scai.report.as_html import document, markdown_to_html, to_html
from scai.report.as_markdown import PngFolder, to_markdown
from scai.report.blocks import Page, close_figures
from scai.report.figures import png_bytes

__all__ = ["figure_png", "markdown_file_to_html", "markdown_to_html", "to_html", "write_files",
           "write_report"]

figure_png = png_bytes  # the name this module has always exported


def write_report(page: Page, path: Path) -> list[Path]:
    """Write `page` to `path` (.html or .md, PNGs numbered beside it); returns every file."""
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".md"):
        raise ConfigError(f"-o {path}: the report must end in .html or .md")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suffix == ".md":
            for old in path.parent.glob(f"{path.stem}-*.png"):
                old.unlink()
            files = PngFolder(path.parent, path.stem)
            path.write_text(to_markdown(page, files), encoding="utf-8")
            return [path, *sorted(files.written)]
        path.write_text(to_html(page), encoding="utf-8")
        return [path]
    finally:
        close_figures(page.blocks)


def write_files(page: Page, out_dir: Path, *, markdown: str | None = "summary.md",
                html: str | None = None, close: bool = True) -> list[Path]:
    """Leave `page` in `out_dir`: Markdown at `markdown` (None: none), self-contained HTML at
    `html` (None: none), and every `Figure` with a `name` as `<name>.png` beside them.

    PNGs are written even without Markdown, so a command keeps its plot files; unnamed figures
    are numbered after the Markdown's stem. Returns every file written, Markdown first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(markdown).stem if markdown else "figure"
    files = PngFolder(out_dir, stem, named=True)
    written: list[Path] = []
    try:
        text = to_markdown(page, files)
        if markdown:
            target = out_dir / markdown
            target.write_text(text, encoding="utf-8")
            written.append(target)
        if html:
            target = out_dir / html
            target.write_text(to_html(page), encoding="utf-8")
            written.append(target)
        return written + files.written
    finally:
        if close:
            close_figures(page.blocks)


def markdown_file_to_html(md_path: Path, html_path: Path, *, title: str) -> Path:
    """A Markdown file (its PNGs beside it) as a self-contained HTML page at `html_path`."""
    body = markdown_to_html(md_path.read_text(encoding="utf-8"), images=md_path.parent)
    html_path.write_text(document(title, body), encoding="utf-8")
    return html_path
