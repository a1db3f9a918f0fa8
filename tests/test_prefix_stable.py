"""Prefix-stable prompts: over a long conversation, an agent's next prompt repeats its last one
but for the closing state line, except when a block of old statements is cut (rarely). What a
KV prefix cache can reuse, checked on scripted runs (no model)."""

from __future__ import annotations

import asyncio
import random
import re
from itertools import pairwise

import pytest

from scai.config import validate_as
from scai.converse import Conversation, ConverseConfig, Transcript
from scai.converse.agent import estimate_tokens, trim
from scai.converse.judge import transcript_text
from scai.converse.scenario import ContextPolicy
from scai.converse.window import cut_point
from scai.llm import Message, ModelSettings
from scai.steps import ClientPool, KeyedLog
from tests.converse_script import AgentScript

WORDS = 40  # filler words per statement: about 64 estimated tokens each


class Seeded(AgentScript):
    """Each statement is named by its step's seed, so a resumed run says what the first said."""

    def _speech(self, messages, params):
        name = self.speaker(messages)
        self.counts[name] = self.counts.get(name, 0) + 1
        return f"{name} says {params.seed % 100_000}" + " lorem" * self.long


def two_agents(rounds: int = 60, **overrides) -> ConverseConfig:
    data = {"kind": "converse", "name": "two", "rounds": rounds, "seed": 4, "start_year": 2030,
            "params": {"max_tokens": 80}, "setting": "Two labs negotiate a treaty.",
            "agents": [{"name": "A", "persona": "You lead lab A."},
                       {"name": "B", "persona": "You lead lab B."}]}
    data.update(overrides)
    return validate_as(ConverseConfig, data, "test")


def play(config: ConverseConfig, log: KeyedLog | None = None, **script) -> Seeded:
    backend = Seeded(long=WORDS, **script)
    pool = ClientPool(ModelSettings(), cache=None, backend=backend)
    asyncio.run(Conversation(config, pool, log if log is not None else KeyedLog()).run())
    return backend


def prompts(backend: AgentScript, name: str) -> list[list[Message]]:
    return [m for m, p in backend.calls if p.json_schema is None and backend.speaker(m) == name]


def omitted(messages: list[Message]) -> int:
    """The count in the prompt's '(N earlier statements are not shown.)' note (0 if none)."""
    m = re.search(r"\((\d+) earlier statements are not shown\.\)", messages[1].content)
    return int(m.group(1)) if m else 0


def continues(prev: list[Message], nxt: list[Message]) -> bool:
    """`nxt` repeats `prev` but for its closing message: every earlier message unchanged, the
    newest of them perhaps grown at its end (a next statement of the same role merged into it)."""
    head = prev[:-1]
    if not head:
        return True
    *same, grown = head
    return (nxt[:len(same)] == same and len(nxt) > len(head) and nxt[len(same)].role == grown.role
            and nxt[len(same)].content.startswith(grown.content))


def shared_fraction(prev: list[Message], nxt: list[Message]) -> float:
    """How much of `nxt`, flattened, is a prefix it shares with `prev` (what a KV cache reuses)."""
    a, b = ("".join(f"<{m.role}>{m.content}</>" for m in x) for x in (prev, nxt))
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return n / len(b)


def sliding_trim(costs: list[int], budget: int, keep_last: int) -> int:
    """The window as it was before block cuts: the newest statements that fit, at least
    `keep_last` (what the recorded runs were trimmed by). Returns the cut."""
    kept, used = 0, 0
    for cost in reversed(costs):
        if kept >= keep_last and used + cost > budget:
            break
        kept += 1
        used += cost
    return len(costs) - kept


def test_block_trimming_is_the_default():
    policy = ContextPolicy()
    assert (policy.policy, policy.low_water, policy.sliding) == ("drop_block", 0.6, False)
    assert ContextPolicy(policy="summarise").sliding  # as the recorded runs were cut
    with pytest.raises(ValueError, match="low_water"):
        ContextPolicy(low_water=0)


def test_with_the_low_water_mark_at_the_budget_the_window_slides_as_before():
    rng = random.Random(0)
    for _ in range(400):
        costs = [rng.randint(1, 40) for _ in range(rng.randint(0, 30))]
        budget, keep = rng.randint(1, 120), rng.randint(1, 4)
        assert cut_point(costs, budget, budget, keep) == sliding_trim(costs, budget, keep)


def test_an_agents_prompts_repeat_each_other_but_for_the_closing_line_between_rare_cuts():
    block = play(two_agents())
    sliding = play(two_agents(context={"policy": "drop_oldest"}))
    for name in ("A", "B"):
        ours = prompts(block, name)
        assert len(ours) == 60
        pairs = list(pairwise(ours))
        cuts = sum(omitted(a) != omitted(b) for a, b in pairs)
        # a cut drops ~40% of the 1536-token budget: ~10 statements, 5 rounds of two agents
        assert 6 <= cuts <= 12
        assert all(continues(a, b) for a, b in pairs if omitted(a) == omitted(b))
        assert all(omitted(b) > omitted(a) for a, b in pairs if not continues(a, b))
        # the closing state line is what changes every turn, and it comes last
        assert all(m[-1].content.endswith(
            f"[Round {i + 1} of 60. The year is {2030 + i}. Your turn, {name}.] "
            f"{two_agents().turn_instruction}") for i, m in enumerate(ours))
        reused = sum(shared_fraction(a, b) for a, b in pairs) / len(pairs)
        old = prompts(sliding, name)
        slid = sum(shared_fraction(a, b) for a, b in pairwise(old)) / (len(old) - 1)
        assert reused > 0.6 and slid < 0.3  # measured: 0.71 against 0.15
        assert sum(not continues(a, b) for a, b in pairwise(old)) > 40


def test_the_kept_statements_fit_the_budget_keep_the_newest_and_only_grow_between_cuts():
    policy = ContextPolicy(max_tokens=600, keep_last=3)
    transcript = _transcript(two_agents(rounds=30)).statements
    previous = None
    for n in range(len(transcript) + 1):
        view = trim(transcript[:n], policy)
        assert view.dropped + view.kept == transcript[:n]
        assert len(view.kept) >= min(3, n)
        assert sum(estimate_tokens(s.content) for s in view.kept) <= 600
        if previous is not None and len(view.dropped) == len(previous.dropped):
            assert view.kept == [*previous.kept, transcript[n - 1]]
        previous = view
    assert trim(transcript, policy) == trim(list(transcript), policy)  # nothing but the list


def test_a_big_statement_beyond_the_budget_is_still_kept_as_one_of_the_newest():
    policy = ContextPolicy(max_tokens=64, keep_last=2)
    transcript = _transcript(two_agents(rounds=3)).statements
    view = trim(transcript, policy)
    assert view.kept == transcript[-2:]  # each costs ~64 tokens: two exceed the budget


def test_a_resumed_run_cuts_where_the_first_did_and_sends_the_same_prompts():
    config = two_agents(rounds=40, context={"max_tokens": 900})
    log = KeyedLog()
    first = play(config, log)
    half = KeyedLog()
    for key, payload in list(log.all().items())[: len(log.all()) // 2]:
        half.put(key, payload)
    resumed = play(config, half)
    for name in ("A", "B"):
        again = prompts(resumed, name)
        assert 10 < len(again) < 40
        assert again == prompts(first, name)[-len(again):]


def test_summarise_block_writes_one_memory_per_cut_and_repeats_it_between_cuts():
    config = two_agents(context={"policy": "summarise_block"})
    log = KeyedLog()
    backend = Seeded(long=WORDS)
    pool = ClientPool(ModelSettings(), cache=None, backend=backend)
    tally = asyncio.run(Conversation(config, pool, log).run()).tally
    assert (tally.calls, tally.replayed) == (len(backend.calls), 0)  # a reused memory is no step
    ours = prompts(backend, "A")
    memories = [m[1].content for m in ours if "Summary of the earlier" in m[1].content]
    cuts = len(dict.fromkeys(memories))
    assert 6 <= cuts <= 12 and len(memories) > 40
    assert sum(1 for m, _ in backend.calls if backend.speaker(m) == "memory-of-A") == cuts
    assert all(continues(a, b) for a, b in pairwise(ours) if a[1] == b[1])
    assert len([k for k in log.all() if "|A-memory-upto-" in k]) == cuts
    # every memory step is keyed by its cut: a rerun on the same log calls no model at all
    rerun = play(config, log)
    assert rerun.calls == []


def test_the_moderator_reads_a_history_that_grows_at_its_end_between_cuts():
    config = two_agents(rounds=30, turn_policy={"type": "moderator", "max_turns_per_round": 2,
                                                "moderator_can_stop": False})
    backend = play(config, picks=["A", "B"] * 30)
    asks = [m for m, p in backend.calls if p.json_schema and "next" in p.json_schema["properties"]]
    histories = [m[1].content.rsplit("\n\n", 1)[0] for m in asks]
    lines = [h.splitlines() for h in histories]
    grows = [b[:len(a)] == a for a, b in pairwise(lines)]
    assert all(len(x) <= 12 for x in lines)
    assert sum(not g for g in grows) <= len(asks) // 4  # a cut every ~6 statements
    sliding = play(config.model_copy(update={"context": ContextPolicy(policy="drop_oldest")}),
                   picks=["A", "B"] * 30)
    old = [m[1].content.rsplit("\n\n", 1)[0].splitlines() for m, p in sliding.calls
           if p.json_schema and "next" in p.json_schema["properties"]]
    assert len(old[-1]) == 12 and sum(b[:len(a)] != a for a, b in pairwise(old)) > len(old) // 2


def test_the_judge_reads_a_long_transcript_cut_by_whole_lines_a_block_at_a_time():
    transcript = _transcript(two_agents(rounds=40))
    texts = [transcript_text(_first(transcript, n), limit=3000, low=1800)
             for n in range(1, len(transcript.statements) + 1)]
    assert all(len(t) <= 3004 for t in texts)
    assert all(line.startswith(("...", "(round ")) for t in texts for line in t.splitlines())
    breaks = sum(not b.startswith(a) for a, b in pairwise(texts))
    assert 0 < breaks <= len(texts) // 6
    # without a low-water mark: the last 3000 characters, as recorded runs read them
    assert transcript_text(transcript, limit=3000).endswith(transcript_text(transcript)[-3000:])


def _transcript(config: ConverseConfig) -> Transcript:
    pool = ClientPool(ModelSettings(), cache=None, backend=Seeded(long=WORDS))
    return asyncio.run(Conversation(config, pool, KeyedLog()).run()).transcript


def _first(transcript: Transcript, n: int) -> Transcript:
    return Transcript(statements=transcript.statements[:n])
