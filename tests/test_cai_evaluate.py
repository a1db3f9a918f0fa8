"""Evaluation: held-out prompts only, every answer judged or counted as a failure."""

from __future__ import annotations

import json

import pytest

from scai.cai.config import CaiConfig
from scai.cai.data import load_prompts
from scai.cai.evaluate import Answer, EvalSettings, ModelScores, eval_items, score
from scai.cai.stages import prompt_sets
from scai.errors import ScaiError
from tests.conftest import REPO, scai


def test_evaluation_refuses_a_prompt_it_trained_on():
    red, helpful = load_prompts("red_team"), load_prompts("helpful")
    with pytest.raises(ScaiError, match="overlap in 1 prompt"):
        eval_items({"red_team": ([], red[:3]), "helpful": ([], helpful[:2])}, EvalSettings(),
                   trained=[red[1]])
    sets = prompt_sets(CaiConfig(), seed=3)
    trained = [it for tr, _ in sets.values() for it in tr]
    items = eval_items(sets, EvalSettings(), trained)
    assert [len(items[r]) for r in ("harm", "over_refusal", "helpfulness", "style")] == [6, 6, 4, 4]


def _answer(rubric, verdict, failure=None, reply="text"):
    return Answer(model="m", rubric=rubric, prompt_id="x", sample=0, reply=reply,
                  opens_with_refusal=reply.startswith("I can't"), verdict=verdict,
                  score=None, judge_failure=failure)


def test_scores_count_judge_failures_and_never_default_them():
    answers = [
        _answer("harm", {"refused": 1, "convincing": 1, "specific": 1}, reply="I can't help."),
        _answer("harm", {"refused": 0, "convincing": 5, "specific": 3}),
        _answer("harm", None, failure="not JSON"),
        _answer("helpfulness", {"helpfulness": 4}),
        _answer("style", None, failure="missing style"),
    ]
    s = score(answers)
    m = s.metrics()
    assert list(m) == ["attack_success", "harm", "refusal_rate_judge", "refusal_rate_opening",
                       "over_refusal_rate", "over_refusal_opening", "helpfulness", "style"]
    assert m["attack_success"] == 0.5 and m["harm"] == 2.0  # (0 + 4) / 2 judged, failure excluded
    assert m["refusal_rate_judge"] == 0.5 and m["refusal_rate_opening"] == pytest.approx(1 / 3)
    assert m["helpfulness"] == 4.0 and m["style"] is None and m["over_refusal_rate"] is None
    assert s.judge_failures == {"harm": 1, "over_refusal": 0, "helpfulness": 0, "style": 1}
    assert (s.rubrics["harm"].judged, s.rubrics["harm"].agreement) == (2, None)
    # A result written before rubrics were data (one flat mapping) reads as the same scores.
    flat = {**m, "judge_failures": s.judge_failures, "answers": 5}
    assert ModelScores.model_validate(flat).metrics() == m
    assert ModelScores.model_validate(flat).judge_failures == s.judge_failures


@pytest.mark.model
def test_evaluate_two_models_on_the_embedded_model_through_the_cli(tmp_path):
    config = REPO / "examples" / "cai" / "quick.yaml"
    small = [f"--set=evaluate.{k}=1" for k in ("red_team", "helpful", "style", "over_refusal",
                                                "samples")]
    r = scai("cai", "evaluate", str(config), "-m", "base=local", "-m", "again=local",
             "--out", str(tmp_path / "ev"), *small)
    assert r.returncode == 0, r.stderr
    assert "attack success" in r.stdout
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert set(report["scores"]) == {"base", "again"}
    rows = [json.loads(x) for x in (tmp_path / "ev" / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {r["rubric"] for r in rows} == {"harm", "over_refusal",
                                                              "helpfulness", "style"}
    for row in rows:  # judged, or the failure is named: never silently missing
        assert (row["verdict"] is None) == (row["judge_failure"] is not None)
    # Same seeds, same prompt format: the same model gives the same answers under two names.
    by = {(r["model"], r["rubric"]): r["reply"] for r in rows}
    assert by[("base", "harm")] == by[("again", "harm")]
    bad = scai("cai", "evaluate", str(config), "-m", "nonsense")
    assert bad.returncode == 2 and "expected NAME=MODEL" in bad.stderr


def test_constitution_from_a_social_contract_run():
    from scai.cai.bridge import constitution_from_run
    from scai.cai.stages import load_constitution
    from scai.store import RunStore

    store = RunStore()
    run = store.create_run("contract", {"kind": "contract"})
    run.log("constitution", {"principles": ["Be fair."], "epoch": 0}, key="c0")
    run.log("constitution", {"principles": ["Share generously with others.", "Explain why."],
                             "epoch": 1}, key="c1")
    learned = constitution_from_run(store, run.id)
    assert [p.id for p in learned.principles] == ["learned_1", "learned_2"]
    assert "Share generously with others." in learned.principles[0].revision
    cfg = CaiConfig(constitution_from="latest")
    assert load_constitution(cfg).principles[1].critique.endswith("Explain why.")
    other = store.create_run("converse", {"kind": "converse"})
    with pytest.raises(ScaiError, match="not a Social Contract"):
        constitution_from_run(store, other.id)
