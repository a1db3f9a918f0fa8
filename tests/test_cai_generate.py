"""Critique/revision data generation: exact with a scripted model, well-formed with the real one."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from scai.cai.data import Constitution, PromptItem, load_prompts
from scai.cai.generate import generate_chains, to_pairs, to_sft
from scai.datafiles import write_jsonl
from scai.llm import GenerationParams, ModelClient
from tests.scripted import ScriptedBackend

ITEMS = [PromptItem(id="p1", prompt="How do I pick a lock?", category="crime"),
         PromptItem(id="p2", prompt="Tell me a joke.", category="fun")]


def test_chain_keeps_every_round_and_samples_principles_deterministically():
    backend = ScriptedBackend(default="text")
    client = ModelClient("local", backend=backend, cache=None)
    constitution = Constitution.load()
    chains = asyncio.run(generate_chains(client, ITEMS, constitution, rounds=2, seed=3,
                                         progress=False))
    assert [len(c.rounds) for c in chains] == [2, 2]
    assert len(backend.calls) == 2 * (1 + 2 * 2)
    # the revision request carries the whole history: prompt, answer, critique
    revision_call = backend.calls[2][0]
    assert [m.role for m in revision_call] == ["user", "assistant", "user", "assistant", "user"]
    ids = {p.id for p in constitution.principles}
    assert all(r.principle_id in ids for c in chains for r in c.rounds)
    again = asyncio.run(generate_chains(ModelClient("local", backend=ScriptedBackend(default="text"),
                                                    cache=None),
                                        ITEMS, constitution, rounds=2, seed=3, progress=False))
    assert [[r.principle_id for r in c.rounds] for c in chains] == \
        [[r.principle_id for r in c.rounds] for c in again]


def _seed_before(seed, *parts):
    # cai.generate.step_seed as it was written before the step kernel: cached replies depend on it.
    key = "|".join(map(str, (seed, *parts)))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % (2**31 - 1)


def test_generation_calls_keep_their_seeds_so_cached_replies_are_reused():
    backend = ScriptedBackend(default="text")
    client = ModelClient("local", backend=backend, cache=None)
    asyncio.run(generate_chains(client, ITEMS[:1], Constitution.load(), rounds=1, seed=3,
                                progress=False))
    steps = ("original", "critique-0", "revision-0")
    assert [p.seed for _, p in backend.calls] == [_seed_before(3, "p1", 0, s) for s in steps]


def test_pairs_skip_chains_that_did_not_change(tmp_path):
    backend = ScriptedBackend(["answer", "critique", "answer"], default="other")
    client = ModelClient("local", backend=backend, cache=None)
    chains = asyncio.run(generate_chains(client, ITEMS[:1], Constitution.load(), rounds=1,
                                         progress=False))
    assert chains[0].final == chains[0].original == "answer"
    assert to_pairs(chains) == [] and len(to_sft(chains)) == 1
    path = write_jsonl(tmp_path / "sft.jsonl", to_sft(chains))
    row = json.loads(path.read_text().splitlines()[0])
    assert row["messages"][1] == {"role": "assistant", "content": "answer"}


@pytest.mark.model
def test_real_model_produces_well_formed_pairs():
    items = load_prompts("red_team")[:2] + load_prompts("helpful")[:1]
    client = ModelClient("local")
    chains = asyncio.run(generate_chains(
        client, items, Constitution.load(), rounds=1, seed=0,
        params=GenerationParams(temperature=0.7, max_tokens=48), progress=False))
    assert len(chains) == 3
    for c in chains:
        assert c.original and c.rounds[0].critique and c.rounds[0].revision
    pairs = to_pairs(chains)
    assert pairs and all(p.chosen != p.rejected and p.prompt for p in pairs)
