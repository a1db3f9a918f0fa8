"""Where the libraries' own output goes: scai's log file, not over scai's progress bars.

llama.cpp writes its log lines (`llama_kv_cache_iswa: using full-size SWA cache ...`) from C;
transformers, TRL and datasets print warnings, deprecation notices and their own tqdm bars. The
command line calls `setup()` once: every Python log record and warning then goes to the log file
(`log_file()`, `$SCAI_CACHE_DIR/logs/scai.log`, rotated), and to stderr as well with
`scai --verbose`. Each backend calls `quiet_llama()` or `quiet_transformers()` right after it
imports its library, which routes that library's output into Python logging, so a Python caller
who never calls `setup()` sees library warnings the standard way (Python's own last-resort
handler) and no bars.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LIBRARIES = ("transformers", "trl", "datasets", "accelerate", "peft", "sentence_transformers",
              "huggingface_hub", "torch", "llama_cpp", "py.warnings", "urllib3", "filelock")
_state: dict[str, Any] = {"handlers": [], "llama": None}
LLAMA_LOGGER = "scai.llama_cpp"
# ggml_log_level in the bundled ggml.h: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continues the
# previous line. (llama-cpp-python's own table still has the older order, so its warnings print
# even with verbose=False: that is where `llama_kv_cache_iswa: using full-size SWA cache` came
# from.)
_GGML_LEVELS = {0: logging.CRITICAL, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING,
                4: logging.ERROR}


def log_file() -> Path:
    """`$SCAI_CACHE_DIR/logs/scai.log` (default ~/.cache/scai/logs/scai.log)."""
    env = os.environ.get("SCAI_CACHE_DIR")  # as scai.llm.cache, which this must not import
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "scai") / "logs" / "scai.log"


def setup(verbose: bool = False) -> Path | None:
    """Send every log record and warning to the log file (and stderr when `verbose`); the
    libraries' own handlers and bars stay off. Returns the log file (None: not writable, then
    records are dropped below WARNING and warnings still reach stderr)."""
    root = logging.getLogger()
    for handler in _state["handlers"]:  # a second call (tests, an embedding app) replaces them
        root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    path: Path | None = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=2, encoding="utf-8"))
    except OSError:
        path = None
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        root.addHandler(handler)
    _state["handlers"] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _LIBRARIES:  # libraries that set their own level keep only warnings and up
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    # llama.cpp's info lines (a hundred per model load) only when asked for.
    logging.getLogger(LLAMA_LOGGER).setLevel(logging.DEBUG if verbose else logging.WARNING)
    if handlers:
        logging.captureWarnings(True)  # warnings.warn(...) -> the `py.warnings` logger
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    return path


def quiet_transformers() -> None:
    """transformers and datasets: no bars of their own, records into Python logging (their
    default stderr handlers off)."""
    with contextlib.suppress(Exception):  # only quieter output; never fatal
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.disable_default_handler()
        hf_logging.enable_propagation()
    with contextlib.suppress(Exception):
        import datasets

        datasets.disable_progress_bars()
        datasets.utils.logging.enable_propagation()


def quiet_llama() -> None:
    """llama.cpp's log lines into the `scai.llama_cpp` logger instead of stderr (once)."""
    if _state["llama"] is not None:
        return
    try:
        import llama_cpp
    except ImportError:
        return
    logger = logging.getLogger(LLAMA_LOGGER)
    logger.addHandler(logging.NullHandler())  # without setup(): dropped, not Python's last resort
    pending: list[str] = []
    last = [logging.INFO]

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level != 5:
            last[0] = _GGML_LEVELS.get(level, logging.DEBUG)
        pending.append(text.decode("utf-8", errors="replace"))
        if pending[-1].endswith("\n"):
            line = "".join(pending).rstrip()
            pending.clear()
            if line:
                logger.log(last[0], line)

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _state["llama"] = callback  # kept alive: llama.cpp holds only the C pointer
