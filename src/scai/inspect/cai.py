"""`inspect eval scai/cai_redteam` and `scai/cai_helpful`: scai's CAI evaluation as Inspect tasks.

The held-out prompts of scai's split (`cai.data.split_prompts`, the default eval fraction and
seed of `scai cai`), answered with CAI evaluation's sampling (`cai.evaluate.EvalSettings`) and
judged under the shipped rubric (scai/data/cai/rubrics.yaml: `harm`, StrongREJECT-style, for red
team; `helpfulness` for helpful) by the grader model (`--model-role grader=...`, default
`scai/local`, as `scai cai evaluate`). Verdicts are read by scai's strict parser and the metrics
are scai's own (`cai.scores.score`), per sample and over the run: a verdict the judge could not
give is counted (`judge_failures`), never averaged in.
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser, GenerateConfig, Model, get_model
from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import Generate, TaskState, solver

from scai.cai.config import GenerateSettings
from scai.cai.data import PromptItem, load_prompts, split_prompts
from scai.cai.evaluate import EvalSettings
from scai.cai.judge import opens_with_refusal, parse_judgement
from scai.cai.rubrics import CaiRubric, shipped_rubrics
from scai.cai.scores import Answer, score
from scai.inspect.errors import as_prerequisite
from scai.inspect.params import inspect_config
from scai.judges.verdicts import rubric_messages
from scai.llm import GenerationParams
from scai.rubric import Verdict
from scai.steps import derive_seed

DEFAULT_JUDGE = "scai/local"  # `scai cai evaluate`'s default judge, through the scai provider
EVAL_FRACTION = GenerateSettings.model_fields["eval_fraction"].default


def held_out(prompt_set: str, seed: int, eval_fraction: float) -> list[PromptItem]:
    """The prompts `scai cai` holds out of training for this set (split by `seed`)."""
    return split_prompts(load_prompts(prompt_set), eval_fraction=eval_fraction, seed=seed)[1]


def cai_sample(item: PromptItem) -> Sample:
    """One prompt as an Inspect sample (no target: a judge scores the reply)."""
    return Sample(id=item.id, input=item.prompt,
                  metadata={"category": item.category, "item": item.model_dump(mode="json")})


@solver
def cai_answer(seed: int = 0):
    """Generate with CAI evaluation's per-prompt seed (`derive_seed(seed, prompt id, sample)`)."""
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await generate(state, seed=derive_seed(seed, state.sample_id, state.epoch - 1))

    return solve


def _answer(rubric: CaiRubric, state: TaskState, reply: str, verdict) -> Answer:
    ok = isinstance(verdict, Verdict)
    return Answer(model=str(state.model), rubric=rubric.name, prompt_id=str(state.sample_id),
                  sample=state.epoch - 1, reply=reply, opens_with_refusal=opens_with_refusal(reply),
                  verdict=verdict.fields if ok else None, score=verdict.score if ok else None,
                  judge_failure=None if ok else verdict.reason)


def answers_of(scores: list[SampleScore]) -> list[Answer]:
    """The scai Answers the scorer left in each score's metadata."""
    return [Answer.model_validate(s.score.metadata["answer"]) for s in scores]


@metric
def rubric_metrics(rubric: str) -> Metric:
    """The rubric's reported metrics over every sample (scai's `score`), and judge failures."""
    def compute(scores: list[SampleScore]) -> dict[str, float | None]:
        found = score(answers_of(scores), [shipped_rubrics()[rubric]]).rubrics[rubric]
        measured = {k: v for k, v in found.metrics.items() if v is not None}
        return {**measured, "judge_failures": float(found.failures)}

    return compute


async def judge_reply(judge: Model, rubric: CaiRubric, item: PromptItem, reply: str,
                      seed: int):
    """The grader's verdict at temperature 0 under the rubric's schema (as scai's
    `sample_verdict` asks it), read by scai's strict parser."""
    values = {"prompt": item.prompt, "reply": reply or "(empty reply)", "check": item.check or ""}
    params = GenerationParams(temperature=0.0, max_tokens=rubric.max_tokens, seed=seed,
                              json_schema=rubric.schema())
    messages = [ChatMessageUser(content=m.content) for m in rubric_messages(rubric, values)]
    out = await judge.generate(messages, config=GenerateConfig(**inspect_config(params)))
    return parse_judgement(rubric, out.completion)


@scorer(metrics=[])
def rubric_judge(rubric: str, judge: str | None = None, seed: int = 0):
    """Judge each reply under a shipped CAI rubric; the score is that one reply's metrics."""
    found = shipped_rubrics()[rubric]

    async def score_one(state: TaskState, target: Target) -> Score:
        grader = get_model(role="grader", default=judge or DEFAULT_JUDGE)
        item = PromptItem.model_validate(state.metadata["item"])
        reply = state.output.completion.strip()
        verdict = await judge_reply(grader, found, item, reply,
                                    derive_seed(seed, item.id, state.epoch - 1, "judge"))
        answer = _answer(found, state, reply, verdict)
        mine = score([answer], [found]).rubrics[rubric].metrics
        return Score(value=mine, answer=reply[:200],
                     explanation=(f"judge: {verdict.fields}" if isinstance(verdict, Verdict)
                                  else f"judge failure: {verdict.reason}"),
                     metadata={"answer": answer.model_dump(mode="json")})

    return score_one


def cai_task(prompt_set: str, rubric: str, *, seed: int, eval_fraction: float,
             judge: str | None) -> Task:
    """A CAI evaluation task: the held-out prompts of one set, judged under one rubric."""
    with as_prerequisite(f"scai/{prompt_set}"):
        items = held_out(prompt_set, seed, eval_fraction)
        settings = EvalSettings()
    params = GenerationParams(temperature=settings.temperature, max_tokens=settings.max_tokens,
                              stop=tuple(settings.stop))
    found = shipped_rubrics()[rubric]
    return Task(
        dataset=MemoryDataset([cai_sample(it) for it in items], name=f"scai-{prompt_set}"),
        solver=cai_answer(seed=seed),
        scorer=rubric_judge(rubric, judge=judge, seed=seed),
        metrics=[rubric_metrics(rubric)],
        config=GenerateConfig(**inspect_config(params, only=("temperature", "max_tokens",
                                                            "stop"))),
        metadata={"scai": f"cai/{found.name}", "prompt_set": prompt_set,
                  "eval_fraction": eval_fraction, "split_seed": seed},
    )


@task
def cai_redteam(seed: int = 0, eval_fraction: float = EVAL_FRACTION,
                judge: str | None = None) -> Task:
    """Attack success on scai's held-out red-team prompts, judged under the StrongREJECT-style
    `harm` rubric (attack_success, harm, refusal_rate_judge, refusal_rate_opening)."""
    return cai_task("red_team", "harm", seed=seed, eval_fraction=eval_fraction, judge=judge)


@task
def cai_helpful(seed: int = 0, eval_fraction: float = EVAL_FRACTION,
                judge: str | None = None) -> Task:
    """Helpfulness (1-5) on scai's held-out helpful prompts, judged under `helpfulness`."""
    return cai_task("helpful", "helpfulness", seed=seed, eval_fraction=eval_fraction,
                    judge=judge)
