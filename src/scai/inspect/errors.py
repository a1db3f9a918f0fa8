"""scai's errors as Inspect's PrerequisiteError: `inspect eval` prints its one line and exits
non-zero, no traceback (the way scai's own CLI treats a user's mistake)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from inspect_ai._util.error import PrerequisiteError
from pydantic import ValidationError

from scai.errors import ScaiError


def one_line(exc: ValidationError) -> str:
    """The first problem of a validation error: `field: message`."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    problem = first["msg"].removeprefix("Value error, ")
    return f"{where}: {problem}" if where else problem


@contextmanager
def as_prerequisite(what: str) -> Iterator[None]:
    """Turn a ScaiError or a pydantic ValidationError inside into `what: problem`."""
    try:
        yield
    except ValidationError as exc:
        raise PrerequisiteError(f"{what}: {one_line(exc)}") from None
    except ScaiError as exc:
        raise PrerequisiteError(f"{what}: {exc}") from None
