"""Shared fixtures: an isolated store and cache per test, and a real llama.cpp server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]

# What a test needs; `slow` is their union, so `-m "not slow"` and `-m "not model"` both select.
NEEDS = ("model", "embedder", "ray", "browser", "train", "wheel")


def pytest_collection_modifyitems(config, items):
    """Mark `slow` every test that carries one of the NEEDS markers."""
    for item in items:
        if any(item.get_closest_marker(name) for name in NEEDS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own run store and response cache."""
    monkeypatch.setenv("SCAI_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("SCAI_CACHE_DIR", str(tmp_path / "cache"))
    # The prefix cache stays on (the default path), smaller: one test process holds every model.
    monkeypatch.setenv("SCAI_PREFIX_CACHE_MB", "256")
    # The converted HF checkpoint is expensive: share it across tests via a session folder.
    monkeypatch.setenv("SCAI_HF_DIR", str(_shared_hf_dir()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


_HF_DIR: Path | None = None


def _shared_hf_dir() -> Path:
    global _HF_DIR
    if _HF_DIR is None:
        import tempfile

        _HF_DIR = Path(os.environ.get("SCAI_TEST_HF_DIR") or tempfile.mkdtemp(prefix="scai-hf-"))
    return _HF_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scai(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `scai` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "scai.cli", *args], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def llama_server():
    """A real OpenAI-compatible server (llama_cpp.server) on 127.0.0.1 serving the bundled GGUF."""
    from scai.llm.llamacpp import bundled_gguf_path

    port = free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
         "--model_alias", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited early; see {log.name}")
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("llama_cpp.server did not start within 120 s")
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
