"""Runs recorded before the "One house" restructure replay after it with zero model calls.

tests/fixtures/recorded/ holds a run store and a response cache written by the code at commit
ecc867f (the embedded SmolLM2 model): one contract run and two converse runs (see its README).
The backend here answers nothing: it has the recorded model's identity, so every cached reply is
found, and it counts (and fails) any call that reaches it. If a step key, a prompt, a message
order or a seed changes, the cache misses and these tests fail.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from scai.kinds import load_config
from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion
from scai.store import RunStore

FIXTURES = Path(__file__).parent / "fixtures" / "recorded"
CONTRACT = "contract-20261201-093343-b250de"
CONVERSE = {"converse.yaml": "converse-20261201-093748-da5b70",
            "converse-memory.yaml": "converse-20261201-093817-c62733"}


def _identity() -> str:
    with sqlite3.connect(FIXTURES / "cache.sqlite") as db:
        (identity,), = db.execute("SELECT DISTINCT identity FROM responses").fetchall()
    return identity


class ReplayOnly(Backend):
    """The recorded model's identity, and no model: a call that reaches it is counted and gets
    an unparsable reply (what the recorded model gave where its step failed)."""

    def __init__(self, identity: str):
        self.identity = identity
        self.calls: list[list[Message]] = []

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append(messages)
        return RawCompletion(text="<not recorded>", prompt_tokens=1, completion_tokens=1)

    async def check(self) -> str:
        return "replay only"


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A copy of the recorded store and cache (the originals stay untouched)."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "cache").mkdir()
    shutil.copy(FIXTURES / "store.sqlite", tmp_path / "runs" / "scai.sqlite")
    shutil.copy(FIXTURES / "cache.sqlite", tmp_path / "cache" / "responses.sqlite")
    monkeypatch.setenv("SCAI_CACHE_DIR", str(tmp_path / "cache"))
    return RunStore(tmp_path / "runs")


def _payloads(store: RunStore, run_id: str, type_: str) -> list[tuple[str | None, dict]]:
    return [(e.key, e.payload) for e in store.events(run_id, type_)]


def _steps(store: RunStore, run_id: str) -> dict[str, tuple]:
    """Step key -> (text, parsed reply, ok); a failed step's raw text is the failing reply."""
    found = {}
    for e in store.events(run_id, "step"):
        ok = e.payload.get("error") is None
        found[e.key] = (e.payload.get("text") if ok else None, e.payload.get("parsed"), ok)
    return found


def _same_steps(now: dict[str, tuple], recorded: dict[str, tuple]) -> None:
    """Every recorded step is there unchanged; judgements, which became steps, may be added."""
    assert {k: now.get(k) for k in recorded} == recorded
    assert all(k.startswith("judge|") for k in set(now) - set(recorded))


def _interrupt(store: RunStore, run_id: str, keep_steps: int) -> None:
    """Cut a finished run back to its first `keep_steps` steps, as a kill would have left it."""
    steps = store.events(run_id, "step")
    cut = steps[keep_steps].id
    with sqlite3.connect(store.root / "scai.sqlite") as db:
        db.execute("DELETE FROM events WHERE run_id = ? AND id >= ?", (run_id, cut))
        db.execute("UPDATE runs SET status = 'interrupted', finished_at = NULL WHERE id = ?",
                   (run_id,))


def test_a_recorded_contract_run_reruns_from_the_cache(recorded, tmp_path):
    from scai.contract import simulate

    before = _steps(recorded, CONTRACT)
    backend = ReplayOnly(_identity())
    cfg = load_config(FIXTURES / "contract.yaml")
    sim = simulate(cfg, recorded, out_dir=tmp_path / "out", progress=False, backend=backend)
    new = sim.runs[0].run_id
    # Failed replies are never cached: only the step that failed when recorded reaches the
    # backend (once per parse try), and it fails again the same way.
    failed = [k for k, (_, _, ok) in before.items() if not ok]
    assert failed == ["e0|g3|propose"]
    assert len(backend.calls) == cfg.model.parse_retries + 1
    assert _steps(recorded, new) == before
    assert _payloads(recorded, new, "constitution") == _payloads(recorded, CONTRACT,
                                                                  "constitution")
    assert _payloads(recorded, new, "epoch") == _payloads(recorded, CONTRACT, "epoch")


def test_an_interrupted_contract_run_resumes_with_zero_model_calls(recorded, tmp_path):
    from scai.contract import simulate

    before = _steps(recorded, CONTRACT)
    constitutions = _payloads(recorded, CONTRACT, "constitution")
    epochs = _payloads(recorded, CONTRACT, "epoch")
    _interrupt(recorded, CONTRACT, keep_steps=5)  # epoch 0's games and part of its learning
    backend = ReplayOnly(_identity())
    cfg = load_config(FIXTURES / "contract.yaml")
    simulate(cfg, recorded, out_dir=tmp_path / "out", resume=CONTRACT, progress=False,
             backend=backend)
    assert backend.calls == []  # the recorded failure is a logged step: replayed, not retried
    assert recorded.get(CONTRACT).status == "completed"
    assert _steps(recorded, CONTRACT) == before
    assert _payloads(recorded, CONTRACT, "constitution") == constitutions
    assert _payloads(recorded, CONTRACT, "epoch") == epochs


@pytest.mark.parametrize("config", list(CONVERSE))
def test_a_recorded_conversation_reruns_from_the_cache_with_zero_model_calls(
        recorded, tmp_path, config):
    from scai.converse import run_converse

    old = CONVERSE[config]
    backend = ReplayOnly(_identity())
    result = run_converse(load_config(FIXTURES / config), recorded, out_dir=tmp_path / "out",
                          progress=False, backend=backend)
    new = result.runs[0].run_id
    assert backend.calls == []
    _same_steps(_steps(recorded, new), _steps(recorded, old))
    judged = [p for _, p in _payloads(recorded, old, "judgement")]
    assert [p for _, p in _payloads(recorded, new, "judgement")] == judged
    assert result.runs[0].judgements[0].scores == judged[0]["scores"]


@pytest.mark.parametrize("config", list(CONVERSE))
def test_an_interrupted_conversation_resumes_with_zero_model_calls(recorded, tmp_path, config):
    from scai.converse import run_converse

    old = CONVERSE[config]
    before = _steps(recorded, old)
    judged = [p for _, p in _payloads(recorded, old, "judgement")]
    _interrupt(recorded, old, keep_steps=len(before) // 2)
    backend = ReplayOnly(_identity())
    run_converse(load_config(FIXTURES / config), recorded, out_dir=tmp_path / "out",
                 resume=old, progress=False, backend=backend)
    assert backend.calls == []
    assert recorded.get(old).status == "completed"
    _same_steps(_steps(recorded, old), before)
    assert [p for _, p in _payloads(recorded, old, "judgement")][-1:] == judged
