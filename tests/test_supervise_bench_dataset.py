"""The shipped reflectivity dataset (items.jsonl): 300+ labelled items per subtask, balanced so
that answer position, true/false and option length give nothing away, and clean under
`scai bench validate`'s judge-free filters (schema, structure, near-duplicates)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from scai.supervise.bench import (
    SUBTASKS,
    BenchItem,
    default_items_path,
    default_seeds_path,
    load_items,
    write_items,
)
from scai.supervise.bench.items import LETTERS, structural_problems
from scai.supervise.bench.score import score
from tests.conftest import REPO, scai

ITEMS = load_items(default_items_path())


def _per(subtask: str) -> list[BenchItem]:
    return [it for it in ITEMS if it.subtask == subtask]


def test_every_subtask_has_300_labelled_items_with_probe_and_rationale():
    counts = Counter(it.subtask for it in ITEMS)
    assert set(counts) == set(SUBTASKS) and min(counts.values()) >= 300, counts
    assert all(it.probes and it.explanation for it in ITEMS)
    assert len({it.id for it in ITEMS}) == len(ITEMS)
    # The 110 seed items are folded in unchanged (only their notes added).
    by_id = {it.id: it for it in ITEMS}
    for seed in load_items(default_seeds_path()):
        assert by_id[seed.id].render() == seed.render() and by_id[seed.id].answer == seed.answer


@pytest.mark.parametrize("subtask", SUBTASKS)
def test_answer_positions_and_truth_values_are_balanced(subtask):
    items = _per(subtask)
    choice = [it for it in items if it.kind == "choice"]
    statements = [it for it in items if it.kind == "statement"]
    assert all(len(it.choices) == 4 for it in choice)
    assert 0.35 <= len(statements) / len(items) <= 0.65  # a real mix of the two kinds
    letters = Counter(it.answer for it in choice)
    assert all(abs(letters[k] / len(choice) - 0.25) <= 0.03 for k in "ABCD"), letters
    truths = Counter(it.answer for it in statements)
    assert abs(truths["true"] - truths["false"]) <= 0.05 * len(statements), truths


@pytest.mark.parametrize("subtask", SUBTASKS)
def test_picking_the_longest_or_shortest_option_is_near_chance(subtask):
    result = score(_per(subtask), [])  # no answers: only the item-level baselines
    assert result.longest_choice <= 0.30
    choice = [it for it in _per(subtask) if it.kind == "choice"]
    shortest = sum(len(it.choices[LETTERS.index(it.answer)]) == min(map(len, it.choices))
                   for it in choice) / len(choice)
    assert shortest <= 0.40


def test_no_structural_problems_and_no_exact_duplicates():
    assert [(it.id, structural_problems(it)) for it in ITEMS if structural_problems(it)] == []
    texts = Counter(it.render().lower() for it in ITEMS)
    assert [t for t, n in texts.items() if n > 1] == []
    questions = Counter(it.question.strip().lower() for it in ITEMS if it.kind == "choice")
    assert [q for q, n in questions.items() if n > 1] == []


@pytest.mark.embedder
def test_validate_without_judges_rejects_a_structural_problem(tmp_path):
    good = ITEMS[:3]
    bad = good[0].model_copy(update={"id": "bad-1", "choices": ["Yes, it is.", "No, it is not.",
                                                                  "All of the above", "Maybe."]})
    path = tmp_path / "mixed.jsonl"
    write_items(path, [*good, bad])
    r = scai("bench", "validate", str(path), "--no-judges", "--dedup-threshold", "0.999")
    assert r.returncode == 0, r.stderr
    assert "judges (none)" in r.stdout and "3 kept, 1 rejected" in r.stdout
    rejected = [json.loads(line) for line in tmp_path.joinpath("mixed.rejected.jsonl").open()]
    assert rejected[0]["id"] == "bad-1"
    assert rejected[0]["validation"]["reasons"] == ["option C refers to other options by position"]


def test_the_recorded_near_duplicate_check_is_for_this_file():
    """`build.py --dedup` embeds every item with MiniLM (a few minutes on 2 busy cores, so not
    repeated here) and records the file's hash: no pair at cosine >= 0.92, nothing dropped."""
    report = json.loads((REPO / "benchmarks" / "bench_items" / "build_report.json").read_text())
    digest = hashlib.sha256(default_items_path().read_bytes()).hexdigest()
    assert report["items_sha256"] == digest, "items.jsonl changed: run build.py --dedup"
    assert report["dedup_threshold"] == 0.92 and report["pairs_at_threshold"] == 0
    assert report["dropped"] == [] and report["similarity"][">= 0.9"] == 0


@pytest.mark.model
def test_the_embedded_model_answers_a_stratified_slice(tmp_path):
    from scai.supervise.bench import run_benchmark

    items = [it for s in SUBTASKS for it in _per(s)[100:102]]
    r = run_benchmark("local", items, out_dir=tmp_path, progress=False)
    assert set(r.per_subtask) == set(SUBTASKS) and r.overall.n == len(items)
    assert r.overall.parse_failures == 0
    assert (tmp_path / "results.json").is_file()
