"""CAI from a base model, without a model: stage-0 settings are checked in one line, the
demonstrations are read strictly, few-shot examples open every generation call, and a run
evaluates the stage-0 model and the compared models beside base, SFT and DPO."""

from __future__ import annotations

import functools
import json

import pytest

from scai.cai import pipeline
from scai.cai.demos import as_prompts, load_demonstrations
from scai.cai.generate import PROMPTS
from scai.cai.stages import eval_stage, generator, run_generate
from scai.cai.train import StageResult, StepRecord, write_training_log
from scai.errors import ConfigError
from scai.kinds import load_config
from tests.conftest import REPO, scai
from tests.test_cai_rubrics import VERDICTS, JudgeScript

FROM_BASE = REPO / "examples" / "cai" / "from-base.yaml"
SMALL = ["generate.red_team=2", "generate.helpful=1", "evaluate.red_team=1", "evaluate.helpful=1",
         "evaluate.style=1", "evaluate.over_refusal=1", "evaluate.samples=1"]


def test_from_base_example_trains_gemma_from_stage0_and_compares_the_instruct_model():
    config = load_config(FROM_BASE, kind="cai")
    assert config.train.base_model == "local:gemma-270m" and config.train.lora
    assert config.stage0.steps > 0 and config.stage0.generator == "sft0"
    assert config.generate.repeat_penalty == 1.0 and config.compare == {"instruct": "hf:local"}
    # Stage 0 is off by default: a chat model needs none, and the quick example is unchanged.
    assert load_config(REPO / "examples" / "cai" / "quick.yaml", kind="cai").stage0.steps == 0


@pytest.mark.parametrize(("setting", "message"), [
    ("stage0.steps=-1", "stage0.steps: Input should be greater than or equal to 0"),
    ("stage0.generator=base", "stage0.generator: Input should be 'sft0' or 'model'"),
    ("stage0.demonstrations=missing.jsonl", "stage0.demonstrations: missing.jsonl: no such file"),
    ("compare.sft=hf:local", "compare: 'sft' names a trained model"),
])
def test_a_bad_stage0_setting_is_one_config_error_line(setting, message):
    with pytest.raises(ConfigError) as err:
        load_config(FROM_BASE, [setting], kind="cai")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_cli_reports_a_bad_stage0_setting_in_one_line_without_a_traceback():
    done = scai("cai", "stage0", str(FROM_BASE), "--set", "stage0.learning_rate=0")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "stage0.learning_rate" in lines[0]


def test_demonstrations_are_read_strictly(tmp_path):
    shipped = load_demonstrations()
    assert len(shipped) >= 24 and all(d.prompt.strip() and d.reply.strip() for d in shipped)
    bad = tmp_path / "demos.jsonl"
    bad.write_text('{"id": "d1", "prompt": "Hi", "reply": "Hello."}\n{"id": "d2", "prompt": "x"}\n')
    with pytest.raises(ConfigError, match=r"demos.jsonl:2: not a demonstration .*reply"):
        load_demonstrations(bad)
    bad.write_text('{"id": "d1", "prompt": "Hi", "reply": "Hello."}\n' * 2)
    with pytest.raises(ConfigError, match="demos.jsonl:2: duplicate id 'd1'"):
        load_demonstrations(bad)


def test_the_stage0_model_generates_once_stage0_has_run(tmp_path):
    config = load_config(FROM_BASE, kind="cai")
    with pytest.raises(ConfigError, match="run `scai cai stage0 CONFIG --out"):
        generator(config, tmp_path)
    record = StageResult(stage="sft0", checkpoint=str(tmp_path / "sft0"), steps=[], seconds=1.0,
                         examples=3)
    (tmp_path / "stage0.json").write_text(record.model_dump_json())
    assert generator(config, tmp_path).model == f"hf:{tmp_path / 'sft0'}"
    assert generator(config, tmp_path).concurrency == config.model.concurrency
    as_model = load_config(FROM_BASE, ["stage0.generator=model"], kind="cai")
    assert generator(as_model, tmp_path).model == "hf:local:gemma-270m"


def test_fewshot_examples_open_every_generation_call(tmp_path):
    backend = JudgeScript(VERDICTS)
    config = load_config(FROM_BASE, ["stage0.generator=model", "generate.fewshot=true", *SMALL],
                         kind="cai")
    run_generate(config, tmp_path / "data", cache=False, progress=False, backend=backend)
    assert len(backend.calls) == 3 * 3  # 3 chains: original, critique, revision
    firsts = [msgs[0] for msgs, _ in backend.calls]
    assert all(m.role == "system" for m in firsts)
    assert {m.content for m in firsts} == {PROMPTS["fewshot_answer"].render(),
                                           PROMPTS["fewshot_revision"].render()}
    # The real request comes after the examples, as the transcript's next "User:" turn.
    assert backend.calls[0][0][1].role == "user"
    plain = JudgeScript(VERDICTS)
    run_generate(load_config(FROM_BASE, ["generate.fewshot=false", "stage0.generator=model",
                                         *SMALL], kind="cai"),
                 tmp_path / "plain", cache=False, progress=False, backend=plain)
    assert all(msgs[0].role == "user" for msgs, _ in plain.calls)


def _stage0(config, out_dir, *, seed, progress):
    out_dir.mkdir(parents=True, exist_ok=True)
    record = StageResult(stage="sft0", checkpoint=str(out_dir / "sft0"), seconds=1.0, examples=24,
                         steps=[StepRecord(stage="sft0", step=1, values={"loss": 3.0})])
    (out_dir / "stage0.json").write_text(record.model_dump_json())
    return record


def _train(config, data_dir, out_dir, *, seed, progress):
    stages = [StageResult(stage=s, checkpoint=str(out_dir / s), seconds=1.0, examples=2,
                          steps=[StepRecord(stage=s, step=1, values={"loss": 2.0})])
              for s in ("sft0", "sft", "dpo")]
    write_training_log(stages, out_dir)
    return stages


def test_a_run_from_a_base_model_evaluates_sft0_and_the_compared_models(monkeypatch, tmp_path):
    backend = JudgeScript(VERDICTS)
    monkeypatch.setattr(pipeline, "run_stage0", _stage0)
    monkeypatch.setattr(pipeline, "run_generate", functools.partial(run_generate, backend=backend))
    monkeypatch.setattr(pipeline, "eval_stage", functools.partial(eval_stage, backend=backend))
    monkeypatch.setattr(pipeline, "run_train", _train)
    config = load_config(FROM_BASE, SMALL, kind="cai")
    result = pipeline.run_cai(config, tmp_path / "run", progress=False, cache=False)
    seed = result.seeds[0]
    assert list(seed.metrics) == ["base", "sft0", "sft", "dpo", "instruct"]
    assert set(seed.seconds) == {"stage0", "generate", "train", "evaluate"}
    evaluated = json.loads((tmp_path / "run" / "seed-0" / "eval" / "eval.json").read_text())
    assert evaluated["models"]["base"] == "hf:local:gemma-270m"
    assert evaluated["models"]["instruct"] == "hf:local"
    assert evaluated["models"]["sft0"].endswith("seed-0/model/sft0")
    assert f"stage 0 (sft0): {config.stage0.steps} SFT steps" in result.about
    assert "compared with instruct `hf:local`" in result.about
    # Every model answered the same prompts with the same seeds and stop sequences.
    asked: dict[tuple[str, int | None, tuple[str, ...]], int] = {}
    for msgs, params in backend.calls:
        if params.json_schema is None and params.stop:  # an answer (generation sets no stops)
            key = (msgs[0].content, params.seed, params.stop)
            asked[key] = asked.get(key, 0) + 1
    assert len(asked) == 4 and set(asked.values()) == {5}


def test_evaluation_refuses_a_prompt_stage0_trained_on(tmp_path):
    from scai.cai.data import load_prompts

    demos = tmp_path / "demos.jsonl"
    demos.write_text("".join(json.dumps({"id": f"d{k}", "prompt": it.prompt, "reply": "Arr."}) + "\n"
                             for k, it in enumerate(load_prompts("style"))))
    assert len(as_prompts(load_demonstrations(demos))) == len(load_prompts("style"))
    config = load_config(FROM_BASE, [*SMALL, f"stage0.demonstrations={demos}"], kind="cai")
    with pytest.raises(Exception, match="train and eval overlap in 1 prompt"):
        eval_stage(config, {"base": "hf:local"}, tmp_path / "eval", progress=False, cache=False,
                   backend=JudgeScript(VERDICTS))
