"""Glue between the model layer and the run store: a run's lifecycle and its call log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel

from scai.llm.client import CallRecord
from scai.store.runs import Run, RunStore

M = TypeVar("M", bound=BaseModel)


def call_logger(run: Run) -> Callable[[CallRecord], None]:
    """An `on_call` hook that appends every model call to the run as it finishes.

    A successful call whose tags carry a `key` is logged under that key, which is how a resumed
    run knows the call is done; failures are logged without a key so they are retried.
    """

    def log(record: CallRecord) -> None:
        payload = record.model_dump(mode="json")
        if record.error is None:
            run.log("model_call", payload, key=record.tags.get("key"))
        else:
            run.log("model_error", payload)

    return log


@contextmanager
def recorded_run(
    store: RunStore, kind: str, config: BaseModel | dict[str, Any], *, name: str | None = None,
    resume: str | None = None,
) -> Iterator[Run]:
    """Create (or reopen) a run; mark it completed, failed or interrupted on the way out."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    if resume:
        run = store.open_run(resume)
        run.resume()
    else:
        run = store.create_run(kind, data, name=name)
    try:
        yield run
    except KeyboardInterrupt:
        run.finish("interrupted", error="interrupted by the user (Ctrl-C); resume with --resume")
        raise
    except BaseException as exc:
        run.finish("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    else:
        info = store.get(run.id)
        if info.status == "running":
            run.finish("completed")


def stored_config(store: RunStore, ref: str, kind: str, model: type[M]) -> M:
    """The config a run was started with, to resume it; a clear error for a run of another kind."""
    from scai.config import validate_as
    from scai.errors import ConfigError

    info = store.get(ref)
    if info.kind != kind:
        raise ConfigError(f"--resume {ref}: run {info.id} is a {info.kind} run, not {kind}")
    return validate_as(model, info.config, f"stored config of {info.id}")
