"""Evaluate models on held-out prompts: attack success and harm on red-team prompts,
helpfulness on benign prompts, style adherence on style prompts.

Every model answers the same prompts with the same prompt format, stop sequences, temperature and
several samples per prompt; a judge model scores each answer with a strict rubric. A prompt the
models were trained on is refused (checked against the training split's ids and texts).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pydantic import BaseModel, Field

from scai.cai.data import PromptItem, assert_disjoint, load_prompts
from scai.cai.generate import PROMPTS, step_seed
from scai.cai.judge import (
    SCHEMAS,
    JudgeFailure,
    Judgement,
    Rubric,
    attack_success,
    opens_with_refusal,
    parse_judgement,
    summarise,
)
from scai.config import ConfigModel
from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings, run_sync
from scai.llm.client import OnCall
from scai.progress import progress_bar


class EvalSettings(ConfigModel):
    """How answers are sampled and judged."""

    judge: ModelSettings = Field(default_factory=ModelSettings, description="The judge model.")
    samples: int = Field(2, ge=1, le=64, description="Answers per prompt per model.")
    red_team: int = Field(6, ge=0, le=100_000, description="Held-out red-team prompts used.")
    helpful: int = Field(4, ge=0, le=100_000, description="Held-out helpful prompts used.")
    style: int = Field(4, ge=0, le=100_000, description="Style prompts used.")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    max_tokens: int = Field(96, ge=8, le=8192)
    stop: list[str] = Field(default_factory=lambda: ["<|im_end|>", "\nUser:", "\nuser:"],
                            description="Stop sequences, the same for every model.")


class Answer(BaseModel):
    model: str
    rubric: Rubric
    prompt_id: str
    sample: int
    reply: str
    opens_with_refusal: bool
    verdict: dict[str, int] | None
    score: float | None
    judge_failure: str | None = None


class ModelScores(BaseModel):
    """One model's metrics; `None` where nothing could be judged."""

    attack_success: float | None
    harm: float | None
    refusal_rate_judge: float | None
    refusal_rate_opening: float | None
    helpfulness: float | None
    style: float | None
    judge_failures: dict[str, int]
    answers: int

    def metrics(self) -> dict[str, float | None]:
        return {k: v for k, v in self.model_dump().items() if k not in ("judge_failures", "answers")}


def eval_items(red_team: list[PromptItem], helpful: list[PromptItem], settings: EvalSettings,
               trained: list[PromptItem]) -> dict[Rubric, list[PromptItem]]:
    """The prompts each rubric uses; raises if any was trained on."""
    items: dict[Rubric, list[PromptItem]] = {
        "harm": red_team[: settings.red_team], "helpfulness": helpful[: settings.helpful],
        "style": load_prompts("style")[: settings.style],
    }
    assert_disjoint(trained, [it for group in items.values() for it in group])
    return items


async def _judge(judge: ModelClient, rubric: Rubric, item: PromptItem, reply: str,
                 seed: int) -> Judgement | JudgeFailure:
    values = {"prompt": item.prompt, "reply": reply or "(empty reply)"}
    if rubric == "style":
        values["check"] = item.check or f"The reply is written in the style: {item.style}."
    msgs = [Message(role="user", content=PROMPTS[f"judge_{rubric}"].render(**values))]
    params = GenerationParams(temperature=0.0, max_tokens=48, seed=seed,
                              json_schema=SCHEMAS[rubric])
    try:
        done = await judge.complete(msgs, params, tags={"judge": rubric, "prompt_id": item.id})
    except ParseFailure as exc:
        return JudgeFailure(rubric=rubric, reason=f"unparseable after {exc.attempts} attempts",
                            raw=exc.raw_text)
    return parse_judgement(rubric, json.dumps(done.parsed))


async def _evaluate_model(name: str, model: str | ModelSettings, items: dict[Rubric, list[PromptItem]],
                          settings: EvalSettings, judge: ModelClient, seed: int, cache: bool,
                          advance, on_call: OnCall | None = None,
                          ) -> list[Answer]:
    # Up to 8 answers in flight: the transformers backend batches them into one forward pass.
    client = ModelClient(ModelSettings(model=model, concurrency=8) if isinstance(model, str)
                         else model, cache=True if cache else None, on_call=on_call)
    params = GenerationParams(temperature=settings.temperature, max_tokens=settings.max_tokens,
                              stop=tuple(settings.stop))

    async def one(rubric: Rubric, item: PromptItem, k: int) -> Answer:
        # The same seed for every model: differences come from the models, not the sampling.
        reply = (await client.complete([Message(role="user", content=item.prompt)],
                                       params.model_copy(update={"seed": step_seed(seed, item.id, k)}),
                                       sample_index=k, tags={"eval": rubric})).text.strip()
        verdict = await _judge(judge, rubric, item, reply, step_seed(seed, item.id, k, "judge"))
        advance(1)
        ok = isinstance(verdict, Judgement)
        return Answer(model=name, rubric=rubric, prompt_id=item.id, sample=k, reply=reply,
                      opens_with_refusal=opens_with_refusal(reply),
                      verdict=verdict.fields if ok else None, score=verdict.score if ok else None,
                      judge_failure=None if ok else verdict.reason)

    jobs = [one(r, it, k) for r, group in items.items() for it in group
            for k in range(settings.samples)]
    return list(await asyncio.gather(*jobs))


def score(answers: list[Answer]) -> ModelScores:
    def verdicts(rubric: Rubric) -> list[Judgement | JudgeFailure]:
        return [Judgement(rubric=rubric, fields=a.verdict) if a.verdict is not None else
                JudgeFailure(rubric=rubric, reason=a.judge_failure or "", raw="")
                for a in answers if a.rubric == rubric]

    harm = verdicts("harm")
    judged_harm = [v for v in harm if isinstance(v, Judgement)]
    red = [a for a in answers if a.rubric == "harm"]
    return ModelScores(
        attack_success=attack_success(harm), harm=summarise(harm).mean,
        refusal_rate_judge=(sum(v.fields["refused"] for v in judged_harm) / len(judged_harm)
                            if judged_harm else None),
        refusal_rate_opening=sum(a.opens_with_refusal for a in red) / len(red) if red else None,
        helpfulness=summarise(verdicts("helpfulness")).mean, style=summarise(verdicts("style")).mean,
        judge_failures={r: summarise(verdicts(r)).failures for r in ("harm", "helpfulness", "style")},
        answers=len(answers),
    )


def run_evaluate(models: dict[str, str], items: dict[Rubric, list[PromptItem]],
                 settings: EvalSettings, out_dir: Path, *, seed: int = 0, cache: bool = True,
                 progress: bool = True, on_call: OnCall | None = None,
                 ) -> dict[str, ModelScores]:
    """Answer and judge; writes `answers.jsonl` (every reply and verdict) and `eval.json`.
    `on_call` sees every model call (answers and verdicts), e.g. to log it to a run store."""
    judge = ModelClient(settings.judge, cache=True if cache else None, on_call=on_call)
    total = len(models) * settings.samples * sum(len(g) for g in items.values())
    answers: dict[str, list[Answer]] = {}
    with progress_bar("evaluate" if progress else None, total=total) as advance:
        for name, model in models.items():  # one model at a time: checkpoints stay out of memory
            answers[name] = run_sync(_evaluate_model(name, model, items, settings, judge, seed,
                                                     cache, advance, on_call))
    scores = {name: score(a) for name, a in answers.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for rows in answers.values():
            for a in rows:
                fh.write(a.model_dump_json() + "\n")
    (out_dir / "eval.json").write_text(json.dumps(
        {"seed": seed, "models": models, "scores": {k: v.model_dump() for k, v in scores.items()}},
        indent=2) + "\n", encoding="utf-8")
    return scores
