"""A run's page, whatever its kind: the kind's own blocks (if it has a builder) above the
generic ones; a builder that fails on damaged data yields an error notice, never a crash."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from scai.cli_common import when
from scai.kinds import all_kinds, get_kind
from scai.report.blocks import Block, Heading, Notice, Page, Table
from scai.report.generic import generic_blocks, status_blocks, usage_blocks
from scai.report.reader import RunData, StoreReader
from scai.store.usage import RunUsage


def kind_title(kind: str) -> str:
    """A kind as people read it: its record's title (e.g. "Social Contract"), else its name."""
    record = get_kind(kind)
    return record.title if record is not None else kind


def kind_label(kind: str) -> str:
    """A kind in a filter or a heading: "Social Contract (contract)"; unknown kinds as named."""
    title = kind_title(kind)
    return f"{title} ({kind})" if title != kind else kind


def kinds_present(kinds: list[str]) -> list[str]:
    """The kinds among `kinds`, once each, in the order their records declare them."""
    declared = list(all_kinds())
    return sorted(set(kinds), key=lambda k: (declared.index(k) if k in declared else len(declared),
                                             k))


def kind_blocks(load_builder: Callable[[], Callable[..., list] | None], reader: StoreReader,
                data: RunData) -> list[Block]:
    """The kind's own blocks; a builder that cannot be loaded or fails on this run's data
    yields one error notice (the generic view still follows), never a crash."""
    try:
        builder = load_builder()
        return list(builder(reader, data)) if builder is not None else []
    except Exception as exc:  # damaged data (or a broken view) must not take the page down
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [Notice(f"The {data.info.kind} view could not be built from this run's data "
                       f"({type(exc).__name__}: {exc}; at {where.name}:{where.lineno}); the "
                       "generic view follows.", "error")]


def run_page(reader: StoreReader, ref: str) -> Page:
    """Everything the dashboard and `scai report` show for one run."""
    data = reader.load(ref)
    info = data.info
    subtitle = (f"{info.kind} · {info.status} · started {when(info.created_at)} · "
                f"{info.duration_s:.1f} s · {info.n_events} events")
    blocks: list[Block] = status_blocks(data)
    record = get_kind(info.kind)
    if record is None:
        blocks.append(Notice(f"Unknown run kind {info.kind!r}: showing the generic view.",
                             "warning"))
    elif record.page:
        blocks += kind_blocks(record.page_builder, reader, data)
    blocks += usage_blocks(reader.run_usage(info.id))
    blocks += generic_blocks(data, reader.root)
    return Page(title=f"{kind_title(info.kind)} run {info.id}"
                + (f" — {info.name}" if info.name else ""),
                subtitle=subtitle, blocks=blocks)


RUN_COLUMNS = ["id", "kind", "name", "status", "started", "duration_s", "tokens", "cost_usd",
               "events"]


def runs_rows(reader: StoreReader) -> list[dict]:
    """One row per run, newest first: what the Runs table shows."""
    usage = reader.usage()
    rows = []
    for r in reader.list_runs():
        calls = usage.get(r.id, RunUsage())
        rows.append({"id": r.id, "kind": r.kind, "name": r.name or "", "status": r.status,
                     "started": when(r.created_at), "duration_s": round(r.duration_s, 1),
                     "tokens": calls.total_tokens, "cost_usd": calls.cost_usd,
                     "events": r.n_events})
    return rows


def runs_page(reader: StoreReader) -> Page:
    """The list of runs as a page (for `scai report` of a whole store)."""
    rows = runs_rows(reader)
    blocks: list[Block] = [Heading("Runs")]
    if rows:
        blocks.append(Table(RUN_COLUMNS, [[r[c] for c in RUN_COLUMNS] for r in rows]))
    else:
        blocks.append(Notice("No runs yet.", "info"))
    return Page(title=f"Runs in {reader.root}", subtitle=f"{len(rows)} runs", blocks=blocks)
