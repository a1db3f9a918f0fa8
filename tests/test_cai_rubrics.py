"""CAI rubrics are data: evaluation, counts, profiles and the metric names all follow the rubric
entries, and a new metric is one entry in a config. Scripted model, no real model."""

from __future__ import annotations

import json

import pytest

from scai.cai.config import PROFILES, CaiConfig
from scai.cai.cost import COST_METRICS
from scai.cai.evaluate import EvalSettings
from scai.cai.rubrics import metric_names, shipped_rubrics
from scai.cai.stages import eval_stage
from scai.errors import ConfigError
from scai.kinds import load_config
from scai.llm.backend import Backend
from scai.llm.client import sample_seed
from scai.llm.types import GenerationParams, Message, RawCompletion
from scai.steps import derive_seed

SHIPPED = ["attack_success", "harm", "refusal_rate_judge", "refusal_rate_opening",
           "over_refusal_rate", "over_refusal_opening", "helpfulness", "style"]


class JudgeScript(Backend):
    """Answers every prompt with 'Sure.'; as a judge, gives each field a fixed value."""

    identity = "scripted:cai-judge"

    def __init__(self, verdicts: dict[str, object]):
        self.verdicts = verdicts
        self.calls: list[tuple[list[Message], GenerationParams]] = []

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append((messages, params))
        schema = params.json_schema
        text = (json.dumps({k: self.verdicts[k] for k in schema["properties"]}) if schema
                else "Sure.")
        return RawCompletion(text=text, prompt_tokens=5, completion_tokens=3)

    async def check(self) -> str:
        return "scripted"


VERDICTS = {"refused": 0, "convincing": 4, "specific": 2, "helpfulness": 5, "style": 3,
            "concise": 2}


def _config(tmp_path, evaluate: str = "") -> CaiConfig:
    path = tmp_path / "cai.yaml"
    path.write_text("kind: cai\nevaluate:\n  red_team: 1\n  helpful: 2\n  style: 1\n"
                    "  over_refusal: 1\n  samples: 2\n" + evaluate, encoding="utf-8")
    return load_config(path, kind="cai")


def test_shipped_rubrics_give_the_metric_names_counts_and_profiles():
    rubrics = list(shipped_rubrics().values())
    assert metric_names(rubrics) == SHIPPED
    assert {k: EvalSettings().count(k) for k in ("red_team", "helpful", "style", "over_refusal")
            } == {"red_team": 6, "helpful": 4, "style": 4, "over_refusal": 6}
    assert "evaluate.red_team=4" in PROFILES["quick"] and "evaluate.style=100000" in PROFILES["full"]
    assert "evaluate.over_refusal=4" in PROFILES["quick"]
    # A config without added rubrics dumps as it did before rubrics were data (same sweep hashes).
    assert set(EvalSettings().model_dump()) == {"judge", "samples", "red_team", "helpful",
                                                "style", "over_refusal", "temperature",
                                                "max_tokens", "stop"}
    with pytest.raises(ValueError, match="unknown key 'red_teem'"):
        EvalSettings.model_validate({"red_teem": 3})


def test_evaluation_judges_every_rubric_with_the_seeds_and_prompts_of_before(tmp_path):
    backend = JudgeScript(VERDICTS)
    cfg = _config(tmp_path)
    scores = eval_stage(cfg, {"base": "local"}, tmp_path / "ev", cache=False, progress=False,
                        backend=backend)
    m = scores["base"].metrics()
    assert list(m) == [*SHIPPED, *COST_METRICS]
    assert m["harm"] == 3.0 and m["attack_success"] == 1.0 and m["refusal_rate_judge"] == 0.0
    assert (m["helpfulness"], m["style"], m["over_refusal_rate"]) == (5.0, 3.0, 0.0)
    assert len(backend.calls) == 2 * 2 * (1 + 2 + 1 + 1)  # (answer + verdict) x samples x prompts
    rows = [json.loads(x) for x in (tmp_path / "ev" / "answers.jsonl").read_text().splitlines()]
    answer_seeds = {p.seed for msgs, p in backend.calls if p.json_schema is None}
    judge = [(msgs, p) for msgs, p in backend.calls if p.json_schema is not None]
    # Seeds of before (so cached replies are reused): answer derive(seed, id, k) as sample k,
    # judge derive(seed, id, k, "judge").
    assert answer_seeds == {sample_seed(derive_seed(0, r["prompt_id"], r["sample"]), r["sample"])
                            for r in rows}
    assert {p.seed for _, p in judge} == {derive_seed(0, r["prompt_id"], r["sample"], "judge")
                                          for r in rows}
    harm = next(msgs[0].content for msgs, p in judge if "refused" in p.json_schema["properties"])
    assert harm.startswith("You are grading an AI assistant's reply to a request that may be")
    assert '{"refused": 0, "convincing": 2, "specific": 1}' in harm


def test_a_rubric_added_in_the_config_is_evaluated_and_reported(tmp_path):
    cfg = _config(tmp_path, """  rubrics:
    - name: concise
      prompts: helpful
      metrics: [{name: concise, min: 1, max: 3, description: "1 rambles, 3 to the point"}]
      prompt: |-
        Is the reply concise? Request: {prompt} Reply: {reply}
        Answer with JSON only, e.g. {{"concise": 2}}.
""")
    backend = JudgeScript(VERDICTS)
    scores = eval_stage(cfg, {"base": "local"}, tmp_path / "ev", cache=False, progress=False,
                        backend=backend)
    assert scores["base"].metrics()["concise"] == 2.0
    assert list(scores["base"].metrics()) == [*SHIPPED, "concise", *COST_METRICS]
    saved = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert saved["scores"]["base"]["rubrics"]["concise"]["metrics"] == {"concise": 2.0}
    # It judged the helpful prompts (the helpful count), and the stored config keeps it.
    rows = [json.loads(x) for x in (tmp_path / "ev" / "answers.jsonl").read_text().splitlines()]
    assert sum(r["rubric"] == "concise" for r in rows) == 2 * 2
    assert cfg.model_dump()["evaluate"]["rubrics"][0]["name"] == "concise"


def test_a_judge_reply_outside_the_scale_is_a_counted_failure(tmp_path):
    # 9 is outside every scale: the schema refuses it, so every verdict fails and none averages in.
    scores = eval_stage(_config(tmp_path), {"base": "local"}, tmp_path / "ev", cache=False,
                        progress=False, backend=JudgeScript(dict.fromkeys(VERDICTS, 9)))
    s = scores["base"]
    assert all(v is None for k, v in s.metrics().items()
               if k not in ("refusal_rate_opening", "over_refusal_opening", *COST_METRICS))
    assert s.judge_failures == {"harm": 2, "over_refusal": 2, "helpfulness": 4, "style": 2}
    rows = [json.loads(x) for x in (tmp_path / "ev" / "answers.jsonl").read_text().splitlines()]
    assert all(r["verdict"] is None and "unparseable" in r["judge_failure"] for r in rows)


_X = "name: x, metrics: [{name: x, description: d}]"


@pytest.mark.parametrize("entry, problem", [
    (f"{{{_X}, prompts: nowhere, count: 1, prompt: '{{reply}}'}}", "unknown prompt set 'nowhere'"),
    (f"{{{_X}, prompts: helpful, prompt: '{{secret}}'}}", "available: prompt, reply, check"),
    (f"{{{_X}, prompts: helpful, report: [attack_success], prompt: '{{reply}}'}}",
     "needs the fields ['refused']"),
    (f"{{{_X}, prompts: helpful, combiner: vibes, prompt: '{{reply}}'}}",
     "unknown combiner 'vibes'"),
])
def test_a_bad_rubric_entry_is_one_clear_config_error(tmp_path, entry, problem):
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        _config(tmp_path, f"  rubrics: [{entry}]\n")
