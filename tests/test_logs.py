"""The libraries' own output goes to scai's log file; `--verbose` also shows it on stderr."""

from __future__ import annotations

import logging
import warnings

import pytest

from scai import logs


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    logs.setup(False)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def test_library_warnings_reach_the_log_file_not_the_terminal(tmp_path, capfd, restore_logging):
    path = logs.setup(verbose=False)
    assert path == tmp_path / "cache" / "logs" / "scai.log"  # under $SCAI_CACHE_DIR
    logging.getLogger("transformers.modeling_utils").warning("a library warning")
    logging.getLogger("trl.trainer").info("a library detail")  # below warnings: dropped
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
    logging.getLogger(logs.LLAMA_LOGGER).warning("llama_kv_cache_iswa: using full-size SWA cache")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    text = path.read_text()
    assert "WARNING transformers.modeling_utils: a library warning" in text
    assert "is_gradient_checkpointing" in text and "SWA cache" in text
    assert "a library detail" not in text


def test_verbose_also_shows_them_on_stderr(capfd, restore_logging):
    logs.setup(verbose=True)
    logging.getLogger("transformers").info("loading weights")
    assert "INFO transformers: loading weights" in capfd.readouterr().err


def test_the_cli_takes_verbose_and_a_bad_command_still_fails_in_one_line():
    from tests.conftest import scai

    r = scai("--verbose", "models")
    assert r.returncode == 0, r.stderr
    bad = scai("-v", "ask", "-m", "nonsense:model", "hi")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
