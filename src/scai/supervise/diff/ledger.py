"""Finished work of a diff run, keyed, so a resumed run makes only the calls still missing."""

from __future__ import annotations

from typing import Any

from scai.store.runs import Run


class Ledger:
    """Keyed results by event type, read once from the run (or kept in memory without one)."""

    def __init__(self, run: Run | None):
        self.run = run
        self._done: dict[str, dict[str, dict]] = {}

    def _type(self, type_: str) -> dict[str, dict]:
        if type_ not in self._done:
            events = self.run.events(type_) if self.run is not None else []
            self._done[type_] = {e.key: e.payload for e in events if e.key is not None}
        return self._done[type_]

    def get(self, type_: str, key: str) -> dict | None:
        return self._type(type_).get(key)

    def all(self, type_: str) -> dict[str, dict]:
        return dict(self._type(type_))

    def put(self, type_: str, key: str, payload: dict[str, Any]) -> None:
        self._type(type_)[key] = payload
        if self.run is not None:
            self.run.log(type_, payload, key=key)

    def failure(self, what: str, key: str, error: str) -> None:
        """A parse or model failure: logged without a key, so a resumed run tries again."""
        if self.run is not None:
            self.run.log("diff_failure", {"what": what, "key": key, "error": error[:500]})
