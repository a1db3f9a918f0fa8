"""Kill a run mid-way, for resume tests: start a command, SIGKILL it once enough work is logged."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from scai.store import RunStore

REPO = Path(__file__).resolve().parents[1]


def events_of_first_run(store: RunStore, type_: str) -> Callable[[], int]:
    """How many `type_` events the store's first run has logged so far (0 before it starts)."""

    def count() -> int:
        runs = store.list_runs()
        return len(store.events(runs[0].id, type_)) if runs else 0

    return count


def run_and_kill(
    cmd: list[str], progress: Callable[[], int], *, at: int, timeout: float = 60,
    poll: float = 0.1, cwd: Path = REPO,
) -> int:
    """Run `cmd`; SIGKILL it (no clean-up) once `progress()` reaches `at` or `timeout` passes.

    Returns `progress()` after the kill, so a test can assert how much was already done.
    """
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and progress() < at:
            time.sleep(poll)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return progress()
