"""The transformers backend on the bundled model (converted once from its GGUF)."""

from __future__ import annotations

import pytest

from scai.llm import GenerationParams, Message, ModelClient

pytestmark = pytest.mark.slow

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def test_hf_backend_generates_reproducibly_and_scores_logprobs():
    c = ModelClient("hf:local", cache=None)
    p = GenerationParams(max_tokens=12, seed=4, temperature=0.8)
    a = c.complete_sync("What is two plus two?", p)
    b = c.complete_sync("What is two plus two?", p)
    assert a.text.strip() and a.text == b.text
    assert a.usage.completion_tokens <= 12 and a.usage.prompt_tokens > 5
    msgs = [Message(role="user", content="What is the capital of France?")]
    good = c.backend.logprobs_sync(msgs, "The capital of France is Paris.")
    bad = c.backend.logprobs_sync(msgs, "Purple elephant tax seventeen.")
    assert len(good.logprobs) == len(good.tokens) > 3
    assert all(lp <= 0 for lp in good.logprobs)
    assert good.total / len(good.logprobs) > bad.total / len(bad.logprobs)


def test_hf_stop_sequences_and_validated_schema():
    c = ModelClient("hf:local", cache=None)
    out = c.complete_sync("List the numbers one to ten, separated by commas.",
                          GenerationParams(max_tokens=40, temperature=0, stop=(",",)))
    assert "," not in out.text
    # No grammar here: a schema is checked and re-asked, and fails loudly if never met.
    from scai.errors import ParseFailure

    try:
        parsed = c.complete_sync('Reply with exactly {"ok": true}',
                                 GenerationParams(json_schema=SCHEMA, max_tokens=12, seed=1)).parsed
        assert isinstance(parsed["ok"], bool)
    except ParseFailure as exc:
        assert exc.attempts == 3
