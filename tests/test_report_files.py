"""The one report path: pages as files (named PNGs, Markdown, HTML) without a model or a store."""

from __future__ import annotations

import re

import pytest

from scai.report import Figure, Page, markdown_to_html, pyplot, to_html, write_files, write_report
from scai.report.as_html import html_of
from scai.report.as_markdown import md_of
from scai.report.blocks import (
    Chat,
    ChatLine,
    Code,
    Heading,
    Image,
    Markdown,
    Notice,
    Section,
    Table,
    Tabs,
)


def _figure(name: str = "") -> Figure:
    fig, ax = pyplot().subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    return Figure(fig, name=name, caption=f"{name or 'unnamed'} plot")


def _page() -> Page:
    line = ChatLine("Ann", "Hello *there*", note="turn 1",
                    nested=[Markdown("thinking")], nested_title="deliberation")
    return Page("A title", "a subtitle", [
        Heading("Shares"), Markdown("The **offered** share, `share_fixed`."),
        _figure("offered_share"), _figure(), Notice("careful", "warning"),
        Table(["metric", "a|b"], [["x", 1.5], ["y", None]], caption="numbers"),
        Code("a = 1", "python"), Chat([line]),
        Section("More", [_figure("acceptance")]), Tabs([("one", [Markdown("first tab")])]),
    ])


def test_every_output_renders_every_block_type():
    assert html_of.missing() == [] and md_of.missing() == []


def test_write_files_leaves_markdown_html_and_figures_under_their_names(tmp_path):
    files = write_files(_page(), tmp_path, markdown="summary.md", html="report.html")
    names = [f.name for f in files]
    assert names == ["summary.md", "report.html", "offered_share.png", "summary-01.png",
                     "acceptance.png"]
    assert all((tmp_path / n).read_bytes()[:4] == b"\x89PNG" for n in names[2:])
    md = (tmp_path / "summary.md").read_text()
    assert md.startswith("# A title\n\n*a subtitle*")
    assert "![offered_share plot](offered_share.png)" in md and "| x | 1.5 |" in md
    assert "a\\|b" in md  # a pipe in a cell does not split the column
    html = (tmp_path / "report.html").read_text()
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3
    assert "<b>offered</b>" in html and "<details" in html


def test_write_files_without_markdown_still_writes_the_plots(tmp_path):
    files = write_files(Page("", "", [_figure("drift")]), tmp_path, markdown=None)
    assert [f.name for f in files] == ["drift.png"] and not list(tmp_path.glob("*.md"))


def test_an_image_already_in_the_folder_is_linked_not_copied(tmp_path):
    write_files(Page("", "", [_figure("diff_map")]), tmp_path, markdown=None)
    files = write_files(Page("", "", [Image(tmp_path / "diff_map.png", caption="map")]),
                        tmp_path, markdown="report.md")
    assert [f.name for f in files] == ["report.md"]
    assert "![map](diff_map.png)" in (tmp_path / "report.md").read_text()


def test_write_report_numbers_pngs_and_refuses_other_suffixes(tmp_path):
    files = write_report(_page(), tmp_path / "r.md")
    assert [f.name for f in files] == ["r.md", "r-01-offered_share.png", "r-02.png",
                                       "r-03-acceptance.png"]
    again = write_report(Page("t", "", [_figure("x")]), tmp_path / "r.md")
    assert [f.name for f in again] == ["r.md", "r-01-x.png"]  # stale PNGs removed
    assert not (tmp_path / "r-02.png").exists()
    with pytest.raises(Exception, match="must end in .html or .md"):
        write_report(_page(), tmp_path / "r.pdf")


def test_markdown_to_html_reads_what_the_reports_write(tmp_path):
    (tmp_path / "map.png").write_bytes(b"\x89PNG fake")
    text = ("# Diff\n\nSome **bold** and _italic_ and `snake_case_name`.\n\n"
            "| cluster | share |\n|---|---|\n| refuses \\| politely | 0.8 |\n\n"
            "- **a** on _Help?_: No.\n- second\n\n> quoted\n> twice\n\n![map](map.png)\n\n"
            "```\n<raw> & code\n```\n<script>x</script>")
    html = markdown_to_html(text, images=tmp_path)
    assert "<h1>Diff</h1>" in html and "<i>italic</i>" in html
    assert "<code>snake_case_name</code>" in html
    assert "<td>refuses | politely</td>" in html and "<th>cluster</th>" in html
    assert html.count("<li>") == 2 and "<blockquote>quoted<br>twice</blockquote>" in html
    assert 'src="data:image/png;base64,' in html and "&lt;raw&gt; &amp; code" in html
    assert "<script>" not in html
    assert "map" in markdown_to_html("![map](map.png)") and "<img" not in markdown_to_html(
        "![map](map.png)")


def test_to_html_is_one_document(tmp_path):
    html = to_html(_page())
    assert html.startswith("<!doctype html>") and html.count("<h1>") == 1
    assert not re.search(r'(src|href)="(https?:|/|\.)', html)
