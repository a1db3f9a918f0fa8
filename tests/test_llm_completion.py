"""Base (completion) models, the transcript format, and log-probabilities of continuations."""

from __future__ import annotations

import math

import pytest

from scai.errors import ModelError
from scai.llm import ModelClient, ModelSettings, ModelSpec
from scai.llm.scoring import integer_distribution, integer_prefixes, log_softmax, score_tokens
from scai.llm.transcript import STOP, completion_stops, render_transcript
from scai.llm.types import Message
from tests.scripted import ScriptedBackend


def test_transcript_renders_turns_and_ends_with_the_assistant_cue():
    text = render_transcript([
        Message(role="system", content="Be brief. "), Message(role="user", content="Hi"),
        Message(role="assistant", content="Hello."), Message(role="user", content="Split 10?")])
    assert text == ("Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Split 10?"
                    "\n\nAssistant: ")
    assert render_transcript([Message(role="user", content="x")]) == "User: x\n\nAssistant: "
    assert completion_stops(("END", "\nUser:")) == ["END", "\nUser:", *STOP[1:]]


def test_score_tokens_walks_a_trie_and_evaluates_only_shared_prefixes():
    vocab = 4
    calls: list[tuple[tuple[int, ...], int]] = []

    def evaluate(tokens, pos):
        calls.append((tuple(tokens), pos))
        # next-token distribution depends on the last token only: favour token (last + 1)
        logits = [0.0] * vocab
        logits[(tokens[-1] + 1) % vocab] = 2.0
        return log_softmax(logits)

    root = log_softmax([1.0, 0.0, 0.0, 0.0])
    seqs = [[0], [0, 1], [0, 2], [1], []]
    totals, evaluated = score_tokens(root, 10, seqs, evaluate)
    assert evaluated == 1 and calls == [((0,), 10)]  # only the prefix [0] needed its logits
    after0 = log_softmax([0.0, 2.0, 0.0, 0.0])
    assert totals[0] == pytest.approx(root[0])
    assert totals[1] == pytest.approx(root[0] + after0[1])
    assert totals[2] == pytest.approx(root[0] + after0[2])
    assert totals[3] == pytest.approx(root[1])
    assert totals[4] == 0.0


def test_integer_distribution_reads_numbers_digit_by_digit():
    assert integer_prefixes(0, 12) == [str(n) for n in range(10)] + ["10", "11", "12"]
    # P(first digit): "1" 0.5, "2" 0.25, "0" 0.25; after "1": "0" 0.2, "1" 0.1, "2" 0.1 (else end)
    p = {str(n): 1e-12 for n in range(10)}
    p.update({"0": 0.25, "1": 0.5, "2": 0.25, "10": 0.1, "11": 0.05, "12": 0.05})
    dist = integer_distribution({k: math.log(v) for k, v in p.items()}, 0, 12)
    assert dist[1] == pytest.approx(0.3, abs=1e-6)  # 0.5 minus the mass that went on to 10-12
    assert dist[10] == pytest.approx(0.1, abs=1e-6) and dist[2] == pytest.approx(0.25, abs=1e-6)
    assert sum(dist.values()) == pytest.approx(1.0)
    flat = integer_distribution({k: -1e9 for k in integer_prefixes(0, 3)}, 0, 3)
    assert flat == {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}


def test_catalog_names_parse_and_unknown_files_name_the_catalog():
    assert str(ModelSpec.parse("local:gemma-270m")) == "local:gemma-270m"
    assert ModelSettings(model="local:gemma-270m", prompting="completion").prompting == "completion"
    from scai.errors import ModelUnavailable
    from scai.llm.factory import make_backend

    with pytest.raises(ModelUnavailable, match="local:gemma-270m"):
        make_backend(ModelSettings(model="local:/nowhere/gemma.gguf"))


def test_a_backend_that_cannot_score_says_so_in_one_line():
    from scai.llm.client import run_sync

    client = ModelClient("local", cache=False, backend=ScriptedBackend(["x"]))
    with pytest.raises(ModelError, match="cannot score continuations"):
        run_sync(client.score("hi", ["a"]))
    assert client.stats.failures == 1


# -- the real embedded models ---------------------------------------------------------------------
OFFER = [Message(role="system", content="Follow this principle: share evenly."),
         Message(role="user", content='You have 20 dollars to split with Sam. Answer in JSON: '
                                      '"offer" (a whole number from 0 to 20).')]


@pytest.fixture(scope="module")
def gemma() -> ModelClient:
    return ModelClient(ModelSettings(model="local:gemma-270m"), cache=False)


@pytest.mark.model
def test_gemma_is_a_completion_model_that_answers_structured_requests(gemma):
    from scai.llm.client import run_sync

    assert gemma.backend.prompting == "completion"
    assert gemma.backend.identity.endswith(":transcript-v1")
    assert "completion model" in run_sync(gemma.check())
    schema = {"type": "object", "properties": {"offer": {"type": "integer"}},
              "required": ["offer"]}
    reply = gemma.complete_sync(OFFER, seed=3, max_tokens=16, temperature=0.7,
                                json_schema=schema)
    assert isinstance(reply.parsed["offer"], int)
    free = gemma.complete_sync("Name a colour.", seed=1, max_tokens=12)
    assert "\nUser:" not in free.text  # the transcript's turn markers stop the reply


@pytest.mark.model
def test_llama_cpp_scores_reuse_the_prefix_and_match_a_fresh_evaluation(gemma):
    from scai.llm.client import run_sync

    prefixes = integer_prefixes(0, 20)
    conts = ['{"offer": ' + p for p in prefixes]
    first = run_sync(gemma.backend.score(OFFER, conts))
    again = run_sync(gemma.backend.score(OFFER, conts))  # the whole prompt is reused
    assert again.reused_tokens == first.prompt_tokens + first.reused_tokens - 1
    assert again.logprobs == pytest.approx(first.logprobs, abs=1e-3)
    # after another prompt, the same scores come back (no stale state)
    run_sync(gemma.backend.score([Message(role="user", content="Something else entirely.")],
                                 ["a"]))
    third = run_sync(gemma.backend.score(OFFER, conts))
    assert third.logprobs == pytest.approx(first.logprobs, abs=1e-3)
    assert all(lp < 0 for lp in first.logprobs)
    dist = integer_distribution(dict(zip(prefixes, first.logprobs)), 0, 20)
    assert sum(dist.values()) == pytest.approx(1.0)
    # one scoring pass costs the prompt plus one position per proper prefix (not per value)
    assert first.evaluated_tokens <= 3 + 3  # '{"offer": ' lead, then "1" and "2"


@pytest.mark.model
def test_client_score_is_cached_and_the_chat_model_scores_too(tmp_path):
    from scai.llm import ResponseCache

    client = ModelClient("local", cache=ResponseCache(tmp_path / "c.sqlite"))
    assert client.backend.prompting == "chat"
    from scai.llm.client import run_sync

    first = run_sync(client.score(OFFER, ['{"offer": 1', '{"offer": 2']))
    second = run_sync(client.score(OFFER, ['{"offer": 1', '{"offer": 2']))
    assert first == second and client.stats.cache_hits == 1
    assert client.stats.prompt_tokens > 0


@pytest.mark.model
def test_a_batch_and_ask_run_on_the_completion_model(tmp_path):
    from tests.conftest import scai

    config = tmp_path / "b.yaml"
    config.write_text(
        "kind: batch\nmodel: {model: 'local:gemma-270m', prompting: completion}\n"
        "params: {max_tokens: 12, seed: 1}\nsamples: 1\n"
        "prompts: ['Name a colour.', 'Name a fruit.']\n")
    result = scai("batch", str(config))
    assert result.returncode == 0, result.stderr
    assert "2 calls made" in result.stdout
    asked = scai("ask", "-m", "local:gemma-270m", "--max-tokens", "8", "Say hello.")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() and "local:gemma-270m: 10 prompt" in asked.stderr
    # llama.cpp's own warning for Gemma's sliding-window cache goes to scai's log, not stderr.
    assert "llama_" not in asked.stderr and "SWA" not in asked.stderr
    assert "using full-size SWA cache" in (tmp_path / "cache" / "logs" / "scai.log").read_text()


def test_concurrent_keyed_scores_each_log_their_own_tokens_and_cached_scores_are_reported():
    import asyncio

    from scai.llm.types import ScoreResult
    from scai.steps import Counts, KeyedLog, keyed_score

    class SlowScorer(ScriptedBackend):
        identity = "scripted:slow-scorer"

        async def score(self, messages, continuations):
            await asyncio.sleep(0.01 * len(continuations))  # calls overlap and finish out of order
            return ScoreResult(logprobs=[-1.0] * len(continuations),
                               prompt_tokens=10 * len(continuations))

    seen = []
    client = ModelClient("local", cache=False, backend=SlowScorer(["x"]), on_call=seen.append)
    log, counts = KeyedLog(None, "step"), Counts()

    async def go():
        await asyncio.gather(*(keyed_score(client, log, f"k{n}", OFFER, ["a"] * n, counts=counts)
                               for n in (3, 1, 2)))

    from scai.llm.client import run_sync

    run_sync(go())
    assert {k: v["tokens"] for k, v in log.all().items()} == {"k1": 10, "k2": 20, "k3": 30}
    assert counts.tokens == 60 and counts.calls == 3 and len(seen) == 3


def test_a_cached_score_is_reported_like_a_cached_completion(tmp_path):
    from scai.llm import ResponseCache
    from scai.llm.client import run_sync
    from tests.scripted import ScriptedScorer

    seen = []
    client = ModelClient("local", cache=ResponseCache(tmp_path / "c.sqlite"), on_call=seen.append,
                         backend=ScriptedScorer(["x"], scorer=lambda m, c: [-0.5] * len(c)))
    first = run_sync(client.score(OFFER, ["a", "b"]))
    second = run_sync(client.score(OFFER, ["a", "b"]))
    assert first == second == [-0.5, -0.5]
    assert [r.completion.cached for r in seen] == [False, True]
