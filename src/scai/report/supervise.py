"""What the supervise pages (diff, bench, drift in report/diff.py, bench.py, drift.py) share:
loading a run's `result` event through the kind's result model, and a Notice when it cannot be.

Each kind has one page function (`diff_page`, `bench_page`, `drift_page`) from its result model;
the command writes that page as its files, the dashboard shows the same page from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from scai.report.blocks import Block, Heading, Notice, Page
from scai.report.reader import RunData

M = TypeVar("M", bound=BaseModel)


def no_result(data: RunData) -> list[Block]:
    """What a page says when its run logged no `result` event (yet)."""
    if data.info.status == "running":
        return [Notice("No result yet: the run is still working.", "info")]
    return [Notice("This run recorded no `result` event; only its events are shown.", "warning")]


def load_result(data: RunData, model: type[M]) -> M | Notice | None:
    """The run's last `result` event through `model`; a Notice naming the first problem when it
    does not validate (an older or newer version, a damaged record); None when there is none."""
    event = data.last("result")
    if event is None:
        return None
    try:
        return model.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        return Notice(f"This run's result could not be read as a {model.__name__} "
                      f"({exc.error_count()} problem(s); first: {where}: {first['msg']}); only "
                      "its events are shown.", "error")


def result_blocks(data: RunData, model: type[M], page_of: Callable[[M], Page]) -> list[Block]:
    """A page builder's body: load the result, render it with the kind's page function."""
    result = load_result(data, model)
    if result is None:
        return no_result(data)
    if isinstance(result, Notice):
        return [result]
    page = page_of(result)
    return [Heading(page.title), *page.blocks]
