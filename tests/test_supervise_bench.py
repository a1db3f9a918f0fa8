"""`scai bench`: the shipped seed items, item files, scoring and generation with scripted models."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from scai.errors import ConfigError, ModelError
from scai.store import RunStore
from scai.supervise.bench import (
    SUBTASKS,
    BenchItem,
    default_seeds_path,
    load_items,
    run_benchmark,
    wilson,
    write_items,
)
from scai.supervise.bench.generate import generate_items
from scai.supervise.bench.score import score
from tests.bench_backends import answer, client
from tests.conftest import REPO, scai


def test_shipped_seeds_cover_every_subtask_and_cannot_be_gamed_by_option_length():
    items = load_items(default_seeds_path())
    per = Counter(it.subtask for it in items)
    assert set(per) == set(SUBTASKS) and min(per.values()) >= 20
    assert len({it.id for it in items}) == len(items)
    assert all(it.provenance.source == "seed" for it in items)
    letters = Counter(it.answer for it in items if it.kind == "choice")
    truths = Counter(it.answer for it in items if it.kind == "statement")
    assert max(letters.values()) - min(letters.values()) <= 2 and len(letters) == 4
    assert truths["true"] == truths["false"]
    result = score(items, [])  # no answers: only the item-level baselines
    assert result.n == 0 and result.chance == pytest.approx(sum(it.chance for it in items) / 110)
    assert result.longest_choice < 0.35  # picking the longest option is near chance (0.25)
    example = load_items(REPO / "examples" / "supervise" / "bench-custom.jsonl")
    assert {it.subtask for it in example} == set(SUBTASKS)


def _item(i, subtask="own_vs_others", label="A", statement=False, question="Which is right?"):
    body = {"statement": "It is so.", "answer": label} if statement else {
        "choices": ["one", "two", "three", "four"], "answer": label}
    return BenchItem(id=f"t{i}", subtask=subtask, question=f"{question} (case {i})", **body)


def test_a_bad_line_in_a_hand_edited_file_is_one_error_naming_file_and_line(tmp_path):
    path = tmp_path / "items.jsonl"
    write_items(path, [_item(1), _item(2)])
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["answer"] = "E"
    path.write_text(lines[0] + "\n\n" + json.dumps(broken) + "\n")
    with pytest.raises(ConfigError, match=r"items.jsonl:3: answer 'E' is not one of A, B, C, D"):
        load_items(path)
    path.write_text(lines[0] + "\n{oops\n")
    with pytest.raises(ConfigError, match=r"items.jsonl:2: not JSON"):
        load_items(path)
    path.write_text(lines[0] + "\n" + lines[0] + "\n")
    with pytest.raises(ConfigError, match=r"items.jsonl:2: id 't1' repeats line 1"):
        load_items(path)


def test_cli_bad_input_is_one_line_and_a_nonzero_exit(tmp_path):
    r = scai("bench", "run", str(tmp_path / "missing.jsonl"))
    assert r.returncode != 0 and r.stderr.strip() == f"error: {tmp_path / 'missing.jsonl'}: file not found"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "subtask": "own_vs_others"}\n')
    for args in (["run", str(bad)], ["validate", str(bad.with_name("nope.jsonl"))],
                 ["generate", "--seeds", str(bad), "--target", "1"]):
        r = scai("bench", *args)
        assert r.returncode != 0, args
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "bad.jsonl:1: question: Field required" in scai("bench", "run", str(bad)).stderr
    r = scai("bench", "run", "--subtasks", "own_vs_othrs")
    assert r.returncode == 2 and "unknown subtask own_vs_othrs" in r.stderr


def test_wilson_interval_is_sane():
    lo, hi = wilson(2, 4)
    assert lo == pytest.approx(0.1500, abs=1e-3) and hi == pytest.approx(0.8500, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-3)
    assert wilson(10, 10)[1] == 1.0 and wilson(10, 10)[0] > 0.69
    assert wilson(0, 0) == (None, None)
    assert wilson(50, 100)[1] - wilson(50, 100)[0] < wilson(5, 10)[1] - wilson(5, 10)[0]


def _always_a_or_true(text, params):
    if "FAIL" in text:
        return "I think the answer is probably the first one"  # never valid JSON
    return answer("A" if "Reply with JSON only: {\"answer\": \"<letter>\"}" in text else "true")


def test_a_scripted_model_gets_exactly_the_expected_accuracy_and_failures_are_counted(tmp_path):
    items = [_item(1, label="A"), _item(2, label="A"), _item(3, label="B"), _item(4, label="C"),
             _item(5, "change_events", "true", True), _item(6, "change_events", "false", True),
             _item(7, "change_events", "true", True, question="FAIL to parse this")]
    c, backend = client(_always_a_or_true)
    r = run_benchmark("scripted", items, client=c, out_dir=tmp_path / "out", progress=False)
    own, ev = r.per_subtask["own_vs_others"], r.per_subtask["change_events"]
    assert (own.mean, own.n, own.parse_failures, own.chance) == (0.5, 4, 0, 0.25)
    assert (own.ci_low, own.ci_high) == pytest.approx(wilson(2, 4))
    assert ev.mean == pytest.approx(1 / 3) and ev.parse_failures == 1 and ev.answers == 3
    assert ev.parsed_mean == 0.5 and ev.parsed_n == 2 and ev.chance == 0.5
    assert r.overall.mean == pytest.approx(3 / 7) and r.overall.parse_failures == 1
    assert r.overall.ci_low < 3 / 7 < r.overall.ci_high
    assert r.overall.answer_counts == {"A": 4, "true": 2}  # the failure is not an answer
    assert backend.calls == 6 + 2  # the unparseable item was asked twice (one re-ask), no more
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["per_subtask"]["change_events"]["parse_failures"] == 1
    rows = [json.loads(x) for x in (tmp_path / "out" / "answers.jsonl").read_text().splitlines()]
    assert [x["answer"] for x in rows] == ["A", "A", "A", "A", "true", "true", None]
    assert "| change_events | 3 | 33.3% |" in (tmp_path / "out" / "report.md").read_text()
    assert (tmp_path / "out" / "bench_accuracy.png").stat().st_size > 5000


def test_several_samples_score_each_item_by_its_mean(tmp_path):
    flip = iter(["A", "B"] * 10)
    c, _ = client(lambda text, params: answer(next(flip)))
    r = run_benchmark("scripted", [_item(1, label="A"), _item(2, label="A")], samples=2,
                      client=c, progress=False)
    assert r.overall.mean == 0.5 and r.overall.n == 2 and r.overall.answers == 4
    assert r.temperature == 0.7


def test_a_recorded_run_resumes_asking_only_what_is_missing_and_ends_with_a_result_event():
    store = RunStore()
    items = [_item(i, label="A") for i in range(1, 5)]

    def broken(text, params):
        if "case 4" in text:
            raise ModelError("the server went away")
        return answer("A")

    c, _ = client(broken)
    with pytest.raises(ModelError):
        run_benchmark("scripted", items, store=store, client=c, progress=False)
    run = store.list_runs(kind="bench")[0]
    assert run.status == "failed" and len(store.events(run.id, "answer")) == 3
    c2, backend = client(lambda text, params: answer("A"))
    r = run_benchmark("scripted", items, store=store, client=c2, resume=run.id, progress=False)
    assert backend.calls == 1 and r.overall.mean == 1.0 and r.run_id == run.id
    info = store.get(run.id)
    assert info.kind == "bench" and info.status == "completed"
    result = store.events(run.id, "result")[-1].payload
    assert result["overall"]["mean"] == 1.0 and result["per_subtask"]["own_vs_others"]["n"] == 4
    with pytest.raises(ConfigError, match="another model, dataset"):
        run_benchmark("scripted", items[:2], store=store, client=c2, resume=run.id, progress=False)


def _generator(text, params):
    props = params.json_schema["properties"]
    n = params.seed
    if n % 5 == 0:
        return "{\"question\": \"unfinished"
    if "choices" in props:
        return json.dumps({"question": f"A new scenario about an assistant's values, number {n}.",
                           "choices": ["first option", "second option", "third option",
                                       "fourth option"], "answer": "C"})
    return json.dumps({"question": f"A new situation about changing values, number {n}.",
                       "statement": "The change is desirable.", "answer": "false"})


def test_generation_appends_toward_the_target_resumes_and_counts_parse_failures(tmp_path):
    seeds = load_items(default_seeds_path())
    out = tmp_path / "gen.jsonl"
    c, _ = client(_generator)
    s = generate_items(seeds, out, target=3, subtasks=["change_events"], client=c,
                       progress=False)
    t = s.per_subtask["change_events"]
    assert t.generated == 3 and t.total == 3 and t.calls == t.generated + t.parse_failures
    items = load_items(out)
    assert len(items) == 3 and {it.subtask for it in items} == {"change_events"}
    p = items[0].provenance
    assert p.source == "generated" and p.model == "local" and p.created_at
    assert p.from_items and all(i.startswith("event-") for i in p.from_items)
    assert p.prompt in ("generate_choice", "generate_statement") and p.sample_seed is not None
    again = generate_items(seeds, out, target=5, subtasks=["change_events"], client=c,
                           progress=False).per_subtask["change_events"]
    assert again.existing == 3 and again.total == 5 and len(load_items(out)) == 5
    attempts = [it.provenance.attempt for it in load_items(out)]
    assert len(set(attempts)) == 5  # the rerun continued, it did not repeat earlier calls

    c_bad, _ = client(lambda text, params: "not an item")
    s = generate_items(seeds, tmp_path / "none.jsonl", target=2, subtasks=["own_vs_others"],
                       client=c_bad, progress=False).per_subtask["own_vs_others"]
    assert s.generated == 0 and s.parse_failures == s.calls == 6  # gave up after 3 x target


def test_a_run_recorded_before_the_step_kernel_resumes_from_its_answer_events():
    # Before keyed_call, an `answer` event held the ItemAnswer itself (a parse failure too).
    store = RunStore()
    items = [_item(i, label="A") for i in range(1, 4)]
    c, _ = client(lambda text, params: (_ for _ in ()).throw(ModelError("down")))
    with pytest.raises(ModelError):
        run_benchmark("scripted", items, store=store, client=c, progress=False)
    run = store.open_run(store.list_runs(kind="bench")[0].id)
    old = {"subtask": items[0].subtask, "sample": 0, "label": "A", "raw": ""}
    run.log("answer", {**old, "item_id": items[0].id, "answer": "A", "correct": True,
                       "parse_failure": False}, key=f"{items[0].id}#0")
    run.log("answer", {**old, "item_id": items[1].id, "answer": None, "correct": False,
                       "parse_failure": True}, key=f"{items[1].id}#0")
    c2, backend = client(lambda text, params: answer("A"))
    r = run_benchmark("scripted", items, store=store, client=c2, resume=run.id, progress=False)
    assert backend.calls == 1  # only the third item is asked
    assert r.overall.mean == pytest.approx(2 / 3) and r.overall.parse_failures == 1
