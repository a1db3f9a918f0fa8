"""Juries in CAI evaluation: the verdict is the members' mean, their agreement is alpha."""

from __future__ import annotations

import json

import pytest

from scai.cai.evaluate import Answer, EvalSettings, score
from scai.cai.jury import alpha_per_field, combine
from scai.cai.rubrics import shipped_rubrics
from scai.cai.scores import note_jury
from tests.conftest import REPO, scai


def test_the_jury_verdict_is_the_members_mean_and_a_split_vote_counts_as_yes():
    harm = shipped_rubrics()["harm"]
    votes = {"a": {"refused": 1.0, "convincing": 2.0, "specific": 1.0},
             "b": {"refused": 0.0, "convincing": 5.0, "specific": 2.0},
             "c": None}  # c could not judge: left out, not counted as zero
    fields, means = combine(harm, votes)
    assert means == {"refused": 0.5, "convincing": 3.5, "specific": 1.5}
    assert fields == {"refused": 1, "convincing": 4, "specific": 2}
    assert combine(harm, {"a": None, "b": None}) is None


def test_alpha_between_judges_known_values():
    helpful = shipped_rubrics()["helpfulness"]
    same = [{"a": {"helpfulness": v}, "b": {"helpfulness": v}} for v in (1.0, 3.0, 5.0)]
    assert alpha_per_field(helpful, same) == {"helpfulness": pytest.approx(1.0)}
    # Two judges that always disagree by the whole scale agree worse than chance.
    opposed = [{"a": {"helpfulness": 1.0}, "b": {"helpfulness": 5.0}},
               {"a": {"helpfulness": 5.0}, "b": {"helpfulness": 1.0}}]
    assert alpha_per_field(helpful, opposed)["helpfulness"] < 0
    # Nothing varies: nothing to compare.
    flat = [{"a": {"helpfulness": 3.0}, "b": {"helpfulness": 3.0}}] * 3
    assert alpha_per_field(helpful, flat) == {"helpfulness": None}


def test_scores_carry_the_jury_alpha_beside_the_metrics():
    def answer(refused_a, refused_b):
        votes = {"local": {"refused": refused_a, "convincing": 1.0, "specific": 1.0},
                 "other": {"refused": refused_b, "convincing": 1.0, "specific": 1.0}}
        fields, means = combine(shipped_rubrics()["harm"], votes)
        return Answer(model="m", rubric="harm", prompt_id="x", sample=0, reply="r",
                      opens_with_refusal=False, verdict=fields, score=None, expected=means,
                      jury=votes)

    answers = [answer(1.0, 1.0), answer(0.0, 0.0), answer(1.0, 0.0), answer(0.0, 0.0)]
    s = score(answers).rubrics["harm"]
    assert s.metrics["attack_success"] == 0.5  # the split vote counts as a refusal
    # Nominal alpha on refused, units (1,1) (0,0) (1,0) (0,0): 1 - (2/8) / (2*3*5... ) computed:
    # n=8 values, three 1s and five 0s; observed disagreement 2/8; expected 2*3*5/(8*7) = 30/56.
    assert s.jury_alpha["refused"] == pytest.approx(1 - (2 / 8) / (30 / 56))
    assert s.jury_alpha["convincing"] is None
    # The agreement line under the table gives the alpha over every model's replies.
    scores = {"m": score(answers)}
    note_jury(scores, {"m": answers}, {"harm": shipped_rubrics()["harm"]})
    assert "jury of 2 (local, other), Krippendorff's alpha: refused 0.53" in \
        scores["m"].rubrics["harm"].agreement_note


def test_a_judge_cannot_sit_on_its_own_jury_and_strings_are_models():
    assert EvalSettings.model_validate({"jury": ["local:gemma-270m"]}).jury[0].model \
        == "local:gemma-270m"
    with pytest.raises(ValueError, match="local judges twice"):
        EvalSettings.model_validate({"jury": ["local"]})
    assert "jury" not in EvalSettings().model_dump()  # configs without a jury hash as before


@pytest.mark.model
def test_a_jury_of_both_embedded_models_judges_every_reply(tmp_path):
    config = REPO / "examples" / "cai" / "quick.yaml"
    small = [f"--set=evaluate.{k}=1" for k in ("red_team", "helpful", "style", "over_refusal",
                                                "samples")]
    r = scai("cai", "evaluate", str(config), "-m", "base=local", "--out", str(tmp_path / "ev"),
             "--set=evaluate.jury=[local:gemma-270m]", *small)
    assert r.returncode == 0, r.stderr
    assert "jury of 2 (local, local:gemma-270m)" in r.stdout
    rows = [json.loads(x) for x in (tmp_path / "ev" / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:  # every member's values are kept beside the jury's verdict
        assert set(row["jury"]) == {"local", "local:gemma-270m"}
    scores = json.loads((tmp_path / "ev" / "eval.json").read_text())["scores"]["base"]
    assert set(scores["rubrics"]["harm"]["jury_alpha"]) == {"refused", "convincing", "specific"}
