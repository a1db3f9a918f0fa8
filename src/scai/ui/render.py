"""Draw a report `Page` with Streamlit: the dashboard's renderer, one function per block type
(the same blocks `scai report` writes to HTML and Markdown)."""

from __future__ import annotations

import streamlit as st

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
    close_figures,
)

AVATARS = {"moderator": "🎙️"}


def table_frame(t: Table):
    """A Table block as a DataFrame Streamlit can show (unique column names, Arrow-safe)."""
    import pandas as pd

    columns = list(dict.fromkeys(str(c) or " " for c in t.columns))
    if len(columns) != len(t.columns):  # duplicate names: keep them apart
        columns = [f"{c} ({i})" if c in t.columns[:i] else str(c) or " "
                   for i, c in enumerate(t.columns)]
    # mixed-type columns as text: Arrow refuses a column of numbers and words
    frame = pd.DataFrame(t.rows, columns=columns)
    for c in frame.columns:
        kinds = {type(v) for v in frame[c] if v is not None}
        if (len(kinds) > 1 and not kinds <= {int, float}) or kinds == {str}:
            frame[c] = frame[c].map(lambda v: "" if v is None else str(v))
    return frame


def _fold(title: str, expanded: bool, folded: bool):
    """An expander, or (Streamlit cannot nest expanders) a bordered box inside one."""
    if not folded:
        return st.expander(title, expanded=expanded)
    box = st.container(border=True)
    box.markdown(f"**{title}**")
    return box


streamlit_of: Renderers[None] = Renderers("Streamlit")


def draw(blocks: list[Block], folded: bool = False) -> None:
    """Streamlit elements for `blocks`; `folded` when already inside an expander."""
    i = 0
    while i < len(blocks):
        # consecutive figures side by side, up to three a row
        run = 0
        while i + run < len(blocks) and isinstance(blocks[i + run], Figure) and run < 3:
            run += 1
        if run > 1:
            for col, fig in zip(st.columns(run), blocks[i:i + run]):
                with col:
                    figure(fig)
            i += run
            continue
        streamlit_of(blocks[i], folded)
        i += 1


@streamlit_of.register(Heading)
def _heading(b: Heading, folded: bool) -> None:
    (st.header if b.level <= 2 else st.subheader)(b.text)


@streamlit_of.register(Markdown)
def _markdown(b: Markdown, folded: bool) -> None:
    st.markdown(b.text)


@streamlit_of.register(Notice)
def _notice(b: Notice, folded: bool) -> None:
    {"info": st.info, "warning": st.warning, "error": st.error}[b.level](b.text)


@streamlit_of.register(Table)
def _table(b: Table, folded: bool) -> None:
    if b.caption:
        st.caption(b.caption)
    st.dataframe(table_frame(b), hide_index=True, width="stretch")


def figure(b: Figure) -> None:
    """A figure that carries its numbers as an interactive chart (values on hover), its PNG (the
    one report files keep) in a second tab; any other figure as its PNG."""
    if b.data is None or not b.data.rows:
        st.pyplot(b.figure, clear_figure=False)
        return
    from scai.ui.charts import line_chart

    chart, png = st.tabs(["chart", "PNG"])
    with chart:
        st.altair_chart(line_chart(b.data, b.caption), width="stretch", theme=None)
    with png:
        st.pyplot(b.figure, clear_figure=False)


@streamlit_of.register(Figure)
def _figure(b: Figure, folded: bool) -> None:
    with st.columns([3, 2])[0]:  # a lone figure at a readable size
        figure(b)


@streamlit_of.register(Image)
def _image(b: Image, folded: bool) -> None:
    if b.path.is_file():
        st.image(str(b.path), caption=b.caption)
    else:
        st.warning(f"missing image {b.path}")


@streamlit_of.register(Code)
def _code(b: Code, folded: bool) -> None:
    st.code(b.text, language=b.language or None)


@streamlit_of.register(Chat)
def _chat(b: Chat, folded: bool) -> None:
    for line in b.lines:
        with st.chat_message(line.speaker, avatar=AVATARS.get(line.role)):
            st.markdown(f"**{line.speaker}** · {line.note}")
            if line.nested:
                with _fold(line.nested_title, False, folded):
                    draw(line.nested, True)
            st.markdown(line.text)


@streamlit_of.register(Section)
def _section(b: Section, folded: bool) -> None:
    with _fold(b.title, b.expanded, folded):
        draw(b.blocks, True)


@streamlit_of.register(Tabs)
def _tabs(b: Tabs, folded: bool) -> None:
    if not b.tabs:
        return
    for tab, (_, inner) in zip(st.tabs([label for label, _ in b.tabs]), b.tabs):
        with tab:
            draw(inner, folded)


def draw_page(page: Page) -> None:
    """Title, subtitle and blocks; figures are freed afterwards."""
    st.title(page.title)
    st.caption(page.subtitle)
    try:
        draw(page.blocks)
    finally:
        close_figures(page.blocks)
