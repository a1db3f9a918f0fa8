"""Step keys of a conversation, built and parsed in this one place.

A key names one model call: `<path>|r<round>|t<turn>|<what>`. The path is `main` for the main
conversation; a deliberation's path is the key of the turn it produced, so its keys nest
(`main|r1|t0|Lab|r1|t0|Engineer`). Keys are stable forever: a killed run resumes by them and
each step's seed is derived from them, so never change this format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAIN = "main"
_MAIN_STEP = re.compile(r"^main\|r(\d+)\|t(\d+)\|(.+)$")


def step_key(path: str, round_: int, turn: int, what: str) -> str:
    """The key of one call: `what` (a speaker, `moderator-choice`, ...) at a round and turn."""
    return f"{path or MAIN}|r{round_}|t{turn}|{what}"


@dataclass(frozen=True)
class StepKey:
    """A parsed key of the main conversation: its round, turn and what was called there."""

    round: int
    turn: int
    what: str

    @property
    def nested(self) -> bool:
        """A step inside a deliberation (its `what` continues with the inner key)."""
        return "|" in self.what


def parse_step_key(key: str) -> StepKey | None:
    """The round, turn and `what` of a main-conversation key; None for any other key."""
    m = _MAIN_STEP.match(key)
    return StepKey(int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def judge_key(judge: str, part: str | None = None) -> str:
    """A final judge's key (`judge|<name>`; its seed derives from it) and its steps' keys
    (`judge|<name>|summary`, `judge|<name>|scores`)."""
    return f"judge|{judge}" + (f"|{part}" if part else "")
