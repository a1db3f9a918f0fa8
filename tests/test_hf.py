"""The transformers backend on the bundled model (converted once from its GGUF)."""

from __future__ import annotations

import pytest

from scai.llm import GenerationParams, Message, ModelClient
from scai.llm.client import ChatRequest
from scai.llm.types import as_messages

pytestmark = pytest.mark.model

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


OPEN = {"type": "object", "properties": {"why": {"type": "string"}}, "required": ["why"]}


def test_hf_stop_sequences_and_validated_schema():
    c = ModelClient("hf:local", cache=None)
    out = c.complete_sync("List the numbers one to ten, separated by commas.",
                          GenerationParams(max_tokens=40, temperature=0, stop=(",",)))
    assert "," not in out.text
    # An open-ended schema has no grammar here: it is checked and re-asked, and fails loudly.
    from scai.errors import ParseFailure

    try:
        parsed = c.complete_sync('Reply with JSON {"why": "..."}',
                                 GenerationParams(json_schema=OPEN, max_tokens=12, seed=1)).parsed
        assert isinstance(parsed["why"], str)
    except ParseFailure as exc:
        assert exc.attempts == 3


def test_finite_schemas_are_answered_by_likelihood():
    from scai.llm.hf import finite_values

    choice = {"type": "object", "properties": {"answer": {"type": "string",
                                                          "enum": ["A", "B", "C"]}},
              "required": ["answer"], "additionalProperties": False}
    assert finite_values(SCHEMA) == [{"ok": True}, {"ok": False}]
    assert finite_values(choice) == [{"answer": x} for x in "ABC"]
    assert finite_values(OPEN) is None
    assert finite_values({"type": "integer", "minimum": 1}) is None

    c = ModelClient("hf:local", cache=None)
    q = "Which is a colour? A) table B) seven C) blue. Answer with the letter."
    greedy = [c.complete_sync(q, GenerationParams(json_schema=choice, temperature=0, seed=s))
              for s in (1, 2)]
    assert greedy[0].parsed == greedy[1].parsed and greedy[0].parsed["answer"] in "ABC"
    assert greedy[0].attempts == 1  # never re-asked: the reply is one of the values
    # The greedy pick is the value with the highest log-probability.
    msgs = [Message(role="user", content=q)]
    totals = {x: c.backend.logprobs_sync(msgs, f'{{"answer": "{x}"}}').total for x in "ABC"}
    assert greedy[0].parsed["answer"] == max(totals, key=totals.get)
    drawn = {c.complete_sync(q, GenerationParams(json_schema=choice, temperature=5.0,
                                                 seed=s)).parsed["answer"] for s in range(12)}
    assert len(drawn) >= 2  # sampling at a high temperature reaches more than one value


def test_concurrent_requests_are_batched_and_match_one_at_a_time():
    from scai.llm import hf

    prompts = ["Name a colour.", "What is the capital of Italy? Answer in one word.",
               "Say hello in French.", "Count from one to five."]
    p = GenerationParams(max_tokens=10, temperature=0)
    c = ModelClient("hf:local", cache=None)
    alone = [c.complete_sync(q, p).text for q in prompts]
    calls: list[int] = []
    original = hf.HFBackend._generate_batch

    def spy(self, requests, lock):
        calls.append(len(requests))
        return original(self, requests, lock)

    hf.HFBackend._generate_batch = spy
    try:
        together = [r.text for r in c.complete_many_sync(
            [ChatRequest(messages=as_messages(q), params=p) for q in prompts])]
    finally:
        hf.HFBackend._generate_batch = original
    assert sum(calls) == 4 and max(calls) > 1, calls  # at least one real batch
    assert together == alone  # left padding changes nothing a greedy decoder sees
