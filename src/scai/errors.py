"""One exception hierarchy: the CLI turns any `ScaiError` into one clear line and an exit code."""

from __future__ import annotations


class ScaiError(Exception):
    """Base of every error scai raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(ScaiError):
    """A config file or override is wrong: names the file, the field path and the problem."""

    exit_code = 2


class ModelError(ScaiError):
    """A model call failed for good (after the retries it was allowed)."""


class ModelUnavailable(ModelError):
    """A backend cannot be used at all: server unreachable, file missing, extra not installed."""


class TransientModelError(ModelError):
    """A failure worth retrying: timeout, HTTP 429, HTTP 5xx, a dropped connection."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, unreachable: bool = False
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable


class ParseFailure(ModelError):
    """The model's reply did not satisfy the requested JSON schema, even after retries."""

    def __init__(self, message: str, *, raw_text: str = "", attempts: int = 0):
        super().__init__(message)
        self.raw_text = raw_text
        self.attempts = attempts


class StoreError(ScaiError):
    """The run store cannot be read or written, or a run does not exist."""
