"""The embedded default model (SmolLM2-135M-Instruct via llama.cpp), for real."""

from __future__ import annotations

import json

import pytest

from scai.errors import ConfigError, ModelUnavailable
from scai.llm import ChatRequest, GenerationParams, Message, ModelClient
from scai.store import RunStore
from tests.conftest import scai

pytestmark = pytest.mark.model

SCHEMA = {
    "type": "object",
    "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]},
                   "confidence": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
    "required": ["colour", "confidence"],
}


def test_seeded_generation_is_reproducible_without_the_cache():
    c = ModelClient("local", cache=None)
    p = GenerationParams(temperature=0.9, max_tokens=24, seed=42)
    a = c.complete_sync("Tell me about cats.", p)
    b = c.complete_sync("Tell me about cats.", p)
    assert a.text == b.text and a.text.strip()
    assert a.usage.completion_tokens > 0 and a.usage.prompt_tokens > 5
    assert a.finish_reason in ("stop", "length") and a.usage.latency_s > 0


def test_samples_differ_and_are_cached():
    c = ModelClient("local")
    p = GenerationParams(temperature=1.0, max_tokens=16, seed=7)
    msgs = [Message(role="user", content="Name an animal.")]
    reqs = [ChatRequest(messages=msgs, params=p, sample_index=k) for k in range(4)]
    first = c.complete_many_sync(reqs)
    assert len({r.text for r in first}) >= 2
    second = c.complete_many_sync(reqs)
    assert [r.text for r in second] == [r.text for r in first] and all(r.cached for r in second)


def test_schema_is_enforced_by_grammar():
    c = ModelClient("local", cache=None)
    out = c.complete_sync(
        "Pick a colour and say how sure you are.",
        GenerationParams(json_schema=SCHEMA, seed=3, max_tokens=64, temperature=0.7),
    )
    assert out.parsed["colour"] in ("red", "green", "blue")
    assert 1 <= out.parsed["confidence"] <= 5
    assert out.attempts == 1


def test_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="model file not found"):
        ModelClient(f"local:{tmp_path}/none.gguf")


def test_cli_ask_prints_reply_usage_and_records_a_run(tmp_path):
    result = scai("ask", "What is the capital of France?", "--seed", "1", "--max-tokens", "24")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "prompt +" in result.stderr and "completion tokens" in result.stderr
    runs = RunStore().list_runs()
    assert len(runs) == 1 and runs[0].kind == "ask" and runs[0].status == "completed"
    again = scai("ask", "What is the capital of France?", "--seed", "1", "--max-tokens", "24")
    assert again.stdout == result.stdout and "cached" in again.stderr


def test_cli_ask_with_schema_file(tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA))
    result = scai("ask", "Pick a colour.", "--json-schema", str(schema), "--seed", "2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["colour"] in ("red", "green", "blue")
    schema.write_text("{not json")
    bad = scai("ask", "Pick a colour.", "--json-schema", str(schema))
    assert bad.returncode == 2 and "not a JSON file" in bad.stderr and "Traceback" not in bad.stderr


def test_context_overflow_is_an_error_not_a_crash():
    from scai.errors import ModelError

    c = ModelClient("local", cache=None)
    with pytest.raises(ModelError):
        c.complete_sync("word " * 6000, GenerationParams(max_tokens=8))


def test_batch_end_to_end(tmp_path):
    config = tmp_path / "b.yaml"
    config.write_text(
        "kind: batch\nparams: {max_tokens: 16, seed: 1}\nsamples: 2\n"
        "prompts: ['Say hi.', 'Say bye.']\n"
    )
    result = scai("batch", str(config))
    assert result.returncode == 0, result.stderr
    assert "4 calls made" in result.stdout
    listing = scai("runs", "list")
    assert "batch" in listing.stdout and "completed" in listing.stdout
    show = scai("runs", "show", "latest")
    assert "prompt=1/sample=1" in show.stdout and "calls_made: 4" in show.stdout
    assert "model calls 4, prompt " in show.stdout and "% reused from cached prefixes" in show.stdout
    for fmt in ("jsonl", "csv", "parquet"):
        exp = scai("runs", "export", "latest", "--format", fmt)
        assert exp.returncode == 0 and f"events.{fmt}" in exp.stdout


def test_config_error_reaches_cli_as_one_line(tmp_path):
    config = tmp_path / "b.yaml"
    config.write_text("kind: batch\nprompts_file: nowhere.txt\n")
    result = scai("batch", str(config))
    assert result.returncode == 2 and "nowhere.txt: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    _ = ConfigError
