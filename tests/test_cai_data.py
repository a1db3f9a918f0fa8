"""The shipped CAI data sets, the public-format loader, and train/eval splits (no model)."""

from __future__ import annotations

import json
import random

import pytest

from scai.cai.data import (
    DATA_DIR,
    Constitution,
    PromptItem,
    assert_disjoint,
    load_prompts,
    load_public,
    split_prompts,
)
from scai.errors import ConfigError, ScaiError

# --- shipped data ------------------------------------------------------------------------------


def test_constitution_has_18_wellformed_principles():
    c = Constitution.load()
    assert c.author == "scai project" and c.name and c.version
    assert len(c.principles) == 18
    assert len({p.id for p in c.principles}) == 18
    for p in c.principles:
        assert p.critique.strip() and p.revision.strip()
        assert "response" in p.critique.lower()
        assert "rewrite" in p.revision.lower()


@pytest.mark.parametrize("kind,minimum,prefix", [
    ("red_team", 48, "rt-"), ("helpful", 24, "hp-"), ("style", 12, "st-")])
def test_shipped_prompt_sets_meet_counts(kind, minimum, prefix):
    items = load_prompts(kind)
    assert len(items) >= minimum
    assert len({it.id for it in items}) == len(items)
    assert len({it.prompt for it in items}) == len(items)
    for it in items:
        assert it.id.startswith(prefix) and it.prompt.strip() and it.source == "scai"
        if kind == "style":
            assert it.style and it.check
        else:
            assert it.category


def test_red_team_spans_at_least_8_categories():
    assert len({it.category for it in load_prompts("red_team")}) >= 8


def test_helpful_has_borderline_benign_prompts():
    items = load_prompts("helpful")
    assert sum(it.category == "borderline-benign" for it in items) >= 5
    assert len({it.category for it in items}) >= 6


def test_shipped_ids_are_unique_across_sets_and_data_card_exists():
    ids = [it.id for kind in ("red_team", "helpful", "style") for it in load_prompts(kind)]
    assert len(ids) == len(set(ids))
    assert "MIT" in (DATA_DIR / "README.md").read_text(encoding="utf-8")


def test_unknown_prompt_set_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown prompt set"):
        load_prompts("nope")  # type: ignore[arg-type]


def test_constitution_load_reports_bad_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("name: x\nversion: 1\nauthor: me\nprinciples:\n"
                   "  - {id: Bad-Id, critique: a, revision: b}\n")
    with pytest.raises(ConfigError) as e:
        Constitution.load(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
    ok = tmp_path / "ok.yaml"
    ok.write_text("name: x\nversion: 1.0\nauthor: me\nprinciples:\n"
                  "  - {id: be_kind, critique: a, revision: b}\n")
    assert Constitution.load(ok).version == "1.0"


# --- public formats ----------------------------------------------------------------------------


def test_harmbench_csv(tmp_path):
    f = tmp_path / "harmbench_behaviors_text_all.csv"
    f.write_text(
        "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"
        "Write a rude poem,standard,harassment_bullying,,,rude_poem\n"
        "\"Summarise this, badly\",contextual,misinformation_disinformation,context,"
        "Some context here,ctx_one\n", encoding="utf-8")
    items = load_public(f)
    assert [it.id for it in items] == ["rude_poem", "ctx_one"]
    assert items[0].prompt == "Write a rude poem"
    assert items[0].category == "harassment_bullying"
    assert items[1].prompt.startswith("Some context here") and items[1].prompt.endswith(
        "Summarise this, badly")
    assert {it.source for it in items} == {"harmbench"}


def test_jailbreakbench_csv(tmp_path):
    f = tmp_path / "jbb.csv"
    f.write_text("Index,Goal,Target,Behavior,Category,Source\n"
                 "1,Do a bad thing,\"Sure, here is\",Bad thing,Harassment/Discrimination,Original\n"
                 "2,Do another,\"Sure\",Another,Fraud/Deception,TDC/HarmBench\n")
    items = load_public(f)
    assert [it.id for it in items] == ["jbb-1", "jbb-2"]
    assert items[0].prompt == "Do a bad thing" and items[1].category == "Fraud/Deception"
    assert items[0].source == "jailbreakbench"


def test_jailbreakbench_without_index_uses_behavior(tmp_path):
    f = tmp_path / "jbb.csv"
    f.write_text("Goal,Behavior,Category\nDo a bad thing,Bad thing,Harassment\n")
    assert load_public(f)[0].id == "Bad thing"


def test_strongreject_csv_generates_stable_ids(tmp_path):
    f = tmp_path / "strongreject_dataset.csv"
    f.write_text("category,source,forbidden_prompt\n"
                 "Disinformation and deception,custom,Write a fake review\n"
                 "Violence,custom,Plan a fight\n")
    items = load_public(f)
    assert [it.prompt for it in items] == ["Write a fake review", "Plan a fight"]
    assert items[0].category == "Disinformation and deception"
    assert all(it.id.startswith("sr-") and it.source == "strongreject" for it in items)
    g = tmp_path / "reordered.csv"
    g.write_text("category,source,forbidden_prompt\nViolence,custom,Plan a fight\n"
                 "Disinformation and deception,custom,Write a fake review\n")
    assert {it.id: it.prompt for it in load_public(g)} == {it.id: it.prompt for it in items}


def test_generic_jsonl_and_csv(tmp_path):
    j = tmp_path / "mine.jsonl"
    j.write_text(json.dumps({"id": "a", "prompt": "Hello", "category": "greet"}) + "\n\n"
                 + json.dumps({"prompt": "Bye", "style": "pirate", "check": "arr"}) + "\n"
                 + json.dumps("Plain string prompt") + "\n")
    items = load_public(j)
    assert [it.prompt for it in items] == ["Hello", "Bye", "Plain string prompt"]
    assert items[0].id == "a" and items[0].category == "greet"
    assert items[1].id.startswith("p-") and items[1].style == "pirate" and items[1].check == "arr"
    assert {it.source for it in items} == {"generic"}
    c = tmp_path / "mine.csv"
    c.write_text("\ufeffprompt,category\nHi there,greet\n", encoding="utf-8")
    [item] = load_public(c)
    assert item.prompt == "Hi there" and item.source == "generic"


def test_benchmark_jsonl_is_detected_by_keys(tmp_path):
    j = tmp_path / "sr.jsonl"
    j.write_text(json.dumps({"forbidden_prompt": "X", "category": "Violence"}) + "\n")
    [item] = load_public(j)
    assert item.source == "strongreject" and item.category == "Violence"


# --- malformed inputs: one line, naming the file -----------------------------------------------


def _one_line_error(path, match):
    with pytest.raises(ConfigError) as e:
        load_public(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    assert match in msg, msg
    return msg


def test_missing_file(tmp_path):
    _one_line_error(tmp_path / "nope.csv", "not found")
    _one_line_error(tmp_path / "nope.txt", "not found")


def test_unsupported_suffix(tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("hello\n")
    _one_line_error(f, "expected .csv or .jsonl")


def test_empty_files(tmp_path):
    for name in ("e.csv", "e.jsonl"):
        (tmp_path / name).write_text("  \n")
        _one_line_error(tmp_path / name, "empty")
    header_only = tmp_path / "h.csv"
    header_only.write_text("prompt,category\n")
    _one_line_error(header_only, "no prompts")


def test_unknown_columns(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("question,answer\nq,a\n")
    msg = _one_line_error(f, "unrecognised columns")
    assert "'question'" in msg and "HarmBench" in msg


def test_bad_jsonl_line_names_line_number(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"prompt": "ok"}) + "\n{not json\n")
    _one_line_error(f, f"{f}:2: not JSON")
    g = tmp_path / "list.jsonl"
    g.write_text("[1, 2]\n")
    _one_line_error(g, f"{g}:1:")
    h = tmp_path / "missing.jsonl"
    h.write_text(json.dumps({"prompt": "ok"}) + "\n" + json.dumps({"text": "no"}) + "\n")
    _one_line_error(h, f"{h}:2: no 'prompt' field")


def test_empty_prompt_and_duplicate_ids(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("prompt,id\nfine,a\n,b\n")
    _one_line_error(f, f"{f}:3:")
    g = tmp_path / "d.jsonl"
    g.write_text(json.dumps({"id": "a", "prompt": "x"}) + "\n"
                 + json.dumps({"id": "a", "prompt": "y"}) + "\n")
    _one_line_error(g, "duplicate id 'a'")


def test_not_utf8(tmp_path):
    f = tmp_path / "b.csv"
    f.write_bytes(b"prompt\n\xff\xfe\xfa\n")
    _one_line_error(f, "not UTF-8")


# --- splits ------------------------------------------------------------------------------------


def _items(n):
    return [PromptItem(id=f"x-{i:03d}", prompt=f"prompt number {i}") for i in range(n)]


def test_split_is_disjoint_complete_and_sized():
    items = _items(100)
    train, evals = split_prompts(items, eval_fraction=0.2, seed=7)
    assert len(evals) == 20 and len(train) == 80
    assert {it.id for it in train} | {it.id for it in evals} == {it.id for it in items}
    assert not {it.id for it in train} & {it.id for it in evals}
    assert_disjoint(train, evals)


def test_split_is_deterministic_and_stable_under_shuffling():
    items = _items(60)
    a = split_prompts(items, eval_fraction=0.25, seed=3)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    b = split_prompts(shuffled, eval_fraction=0.25, seed=3)
    assert [[it.id for it in part] for part in a] == [[it.id for it in part] for part in b]
    c = split_prompts(items, eval_fraction=0.25, seed=4)
    assert {it.id for it in c[1]} != {it.id for it in a[1]}


def test_split_keeps_same_text_on_one_side_and_never_empties_train():
    items = _items(10) + [PromptItem(id="dup", prompt="PROMPT  number 3")]
    for seed in range(20):
        train, evals = split_prompts(items, eval_fraction=0.5, seed=seed)
        assert_disjoint(train, evals)
    train, evals = split_prompts(_items(2), eval_fraction=0.99, seed=0)
    assert len(train) == 1 and len(evals) == 1
    assert split_prompts([], eval_fraction=0.5, seed=0) == ([], [])


def test_split_rejects_bad_fraction_and_duplicate_ids():
    with pytest.raises(ConfigError, match="eval_fraction"):
        split_prompts(_items(3), eval_fraction=1.0, seed=0)
    with pytest.raises(ScaiError, match="duplicate ids x-000"):
        split_prompts(_items(3) + _items(1), eval_fraction=0.5, seed=0)


def test_shipped_sets_split_cleanly():
    items = load_prompts("red_team") + load_prompts("helpful")
    train, evals = split_prompts(items, eval_fraction=0.25, seed=0)
    assert_disjoint(train, evals)
    assert len(train) + len(evals) == len(items)


def test_assert_disjoint_catches_same_prompt_with_different_id():
    train = [PromptItem(id="a", prompt="How do I bake bread?")]
    evals = [PromptItem(id="b", prompt="  how do I   BAKE bread? ")]
    with pytest.raises(ScaiError) as e:
        assert_disjoint(train, evals)
    msg = str(e.value)
    assert "overlap in 1 prompt" in msg and "train a" in msg and "eval b" in msg
    assert "\n" not in msg
    with pytest.raises(ScaiError, match="train x"):
        assert_disjoint([PromptItem(id="x", prompt="one")], [PromptItem(id="x", prompt="two")])
    assert_disjoint(train, [PromptItem(id="c", prompt="How do I bake cake?")])
