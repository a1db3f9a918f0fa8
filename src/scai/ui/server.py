"""Start the dashboard: Streamlit in a subprocess on 127.0.0.1, stopped cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from scai.errors import ConfigError
from scai.store.runs import default_runs_dir

APP = Path(__file__).with_name("app.py")


def streamlit_command(port: int, host: str) -> list[str]:
    """The `streamlit run` command line for the dashboard."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "viewer",
            "--global.developmentMode", "false"]


def serve(runs_dir: Path | None, port: int, host: str, echo=print) -> int:
    """Run the dashboard until it exits or the user presses Ctrl-C; returns its exit code."""
    try:
        import streamlit  # noqa: F401
    except ImportError as exc:
        raise ConfigError("scai ui needs Streamlit: pip install 'scai[ui]'") from exc
    root = (runs_dir or default_runs_dir()).resolve()
    if not (root / "scai.sqlite").is_file():
        raise ConfigError(f"no run store at {root / 'scai.sqlite'} (run something first, or "
                          "pass --runs-dir)")
    env = {**os.environ, "SCAI_RUNS_DIR": str(root)}
    proc = subprocess.Popen(streamlit_command(port, host), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # single-threaded here, so preexec_fn is safe
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)  # noqa: PLW1509
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    echo(f"scai dashboard on http://{shown}:{port}  (store {root}, read-only; Ctrl-C stops it)")
    # `kill` (SIGTERM) stops the dashboard the way Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # Streamlit's own banner repeats the URL: keep errors only
            if "Error" in line or "Traceback" in line or "error" in line.lower()[:20]:
                echo(line.rstrip())
        return proc.wait()
    except KeyboardInterrupt:
        _stop(proc)
        echo("dashboard stopped")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            _stop(proc)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen) -> None:
    """Ask Streamlit to stop (SIGINT), then insist: it can linger on open browser sessions."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _die_with_parent() -> None:
    """Linux: the Streamlit child is killed if `scai ui` itself is killed outright."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
