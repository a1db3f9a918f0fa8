"""The Streamlit dashboard (`scai ui`): the Runs table, and one page per run (`?run=ID`).

Read-only over the store named by `$SCAI_RUNS_DIR`; every figure and table comes from
`scai.report`, the same code `scai report` writes files with.
"""

from __future__ import annotations

import streamlit as st

from scai.errors import ScaiError
from scai.report.blocks import Table
from scai.report.pages import RUN_COLUMNS, kind_label, kinds_present, run_page, runs_rows
from scai.report.reader import StoreReader
from scai.ui.render import draw_page, table_frame

REFRESH_S = 2.0


def open_reader() -> StoreReader | None:
    """The store named by $SCAI_RUNS_DIR, or None (with the reason shown) when it cannot open."""
    try:
        return StoreReader()
    except ScaiError as exc:
        st.error(str(exc))
        return None


@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def cached_runs(root: str) -> list[dict]:
    """The Runs table; summing tokens over a large store is worth a few seconds' cache."""
    reader = StoreReader(root)
    try:
        return runs_rows(reader)
    finally:
        reader.close()


def runs_view(reader: StoreReader) -> None:
    """The Runs table with its filters, and a way to open one run."""
    st.title("Runs")
    st.caption(f"store: {reader.path} (read-only)")
    rows = cached_runs(str(reader.root))
    if not rows:
        st.info("No runs yet. Start one, e.g. `scai simulate examples/contract/ultimatum.yaml`.")
        return
    c1, c2, c3 = st.columns(3)
    # labelled by each kind's record ("Social Contract (contract)"), filtered by its name
    kinds = c1.multiselect("kind", kinds_present([r["kind"] for r in rows]),
                           format_func=kind_label)
    statuses = c2.multiselect("status", sorted({r["status"] for r in rows}))
    text = c3.text_input("name or id contains")
    shown = [r for r in rows if (not kinds or r["kind"] in kinds)
             and (not statuses or r["status"] in statuses)
             and (not text or text.lower() in (r["name"] + " " + r["id"]).lower())]
    frame = table_frame(Table(RUN_COLUMNS, [[r[c] for c in RUN_COLUMNS] for r in shown]))
    frame.insert(0, "page", [f"?run={r['id']}" for r in shown])
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "page": st.column_config.LinkColumn("page", display_text="open"),
        "cost_usd": st.column_config.NumberColumn("cost ($)", format="%.4f"),
        "duration_s": st.column_config.NumberColumn("duration (s)"),
    })
    st.caption(f"{len(shown)} of {len(rows)} runs")
    choice = st.selectbox("Open a run", [r["id"] for r in shown], index=None,
                          placeholder="choose a run")
    if choice:
        st.query_params["run"] = choice
        st.rerun()


def run_view(reader: StoreReader, ref: str) -> None:
    """One run's page; a running run refreshes itself until it ends."""
    if st.button("← all runs"):
        st.query_params.clear()
        st.rerun()
    try:
        info = reader.get(ref)
    except ScaiError as exc:
        st.error(str(exc))
        return
    live = info.status == "running" and st.toggle(
        f"Live: refresh every {REFRESH_S:g} s while the run is running", value=True)
    if not live:
        draw_page(run_page(reader, info.id))
        return

    @st.fragment(run_every=REFRESH_S)
    def live_page() -> None:
        fresh = StoreReader(reader.root)
        try:
            draw_page(run_page(fresh, info.id))
            if fresh.get(info.id).status != "running":
                st.rerun()  # finished: redraw once without the timer
        finally:
            fresh.close()

    live_page()


def main() -> None:
    """The dashboard: a run's page with `?run=ID`, else the Runs table."""
    st.set_page_config(page_title="scai", layout="wide")
    reader = open_reader()
    if reader is None:
        return
    try:
        ref = st.query_params.get("run")
        if ref:
            run_view(reader, ref)
        else:
            runs_view(reader)
    finally:
        reader.close()


main()
