"""Evaluate models on held-out prompts, one rubric at a time (scai/data/cai/rubrics.yaml):
attack success and harm on red-team prompts, over-refusal on benign prompts that only look
dangerous, helpfulness on benign prompts, style adherence on style prompts, and any rubric a
config adds; beside them, what each model's answers and their judging cost (`scai.cai.cost`).

Every model answers the same prompts with the same prompt format, stop sequences, temperature and
several samples per prompt; a judge model scores each answer under the rubric's strict schema.
A prompt the models were trained on is refused (checked against the training split's ids and texts).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from scai.cai.cost import CostMeter, ModelCost
from scai.cai.data import PromptItem, assert_disjoint, load_prompts, load_public, spread
from scai.cai.judge import opens_with_refusal
from scai.cai.jury import combine
from scai.cai.rubrics import MAX_COUNT, CaiRubric, default_counts, with_added
from scai.cai.scores import Answer, ModelScores, agreement_of, note_jury, score
from scai.config import ConfigModel, resolve_path
from scai.judges.record import MeasuredAgreement, measured_agreement
from scai.judges.verdicts import sample_verdict, verdict_distribution
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings, run_sync
from scai.llm.backend import Backend
from scai.llm.cache import ResponseCache
from scai.llm.client import OnCall
from scai.llm.factory import make_backend
from scai.progress import progress_bar
from scai.rubric import JudgeFailure, Verdict
from scai.steps import KeyedLog, derive_seed, keyed_call

__all__ = ["Answer", "EvalSettings", "ModelScores", "eval_items", "run_evaluate", "score"]


class EvalSettings(ConfigModel):
    """How answers are sampled and judged. Prompts per set are keys named after the rubrics'
    prompt sets (`red_team`, `helpful`, `style`, `over_refusal`), defaulting to the rubric
    entries' counts."""

    model_config = ConfigDict(extra="allow", validate_default=True)

    judge: ModelSettings = Field(default_factory=ModelSettings, description="The judge model.")
    jury: list[ModelSettings] = Field(
        default_factory=list, description="More judges beside `judge`: each judges every reply; "
        "the verdict is their mean per field (0/1 fields called halves-up) and Krippendorff's "
        "alpha between them is reported per field (scai/cai/jury.py).")
    refusal_judge: Literal["judge", "classifier"] = Field(
        "judge", description="Who decides the `refused` field: the judge model, or the MiniLM "
        "refusal classifier fitted on the calibration set (docs/judges.md; needs the embedder).")
    judge_method: Literal["sample", "logprob"] = Field(
        "sample", description="How verdicts are read: sample (the judge's JSON at temperature 0) "
        "or logprob (its probabilities over each field's values, through the log-probability "
        "path: the verdict is the most likely values, the score their expected value).")
    samples: int = Field(2, ge=1, le=64, description="Answers per prompt per model.")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    max_tokens: int = Field(96, ge=8, le=8192)
    stop: list[str] = Field(default_factory=lambda: ["<|im_end|>", "\nUser:", "\nuser:"],
                            description="Stop sequences, the same for every model.")
    rubrics: list[CaiRubric] = Field(
        default_factory=list, description="Rubrics added to the shipped ones (one of the same "
        "name replaces it): a new metric is one entry.")
    over_refusal_file: Path | None = Field(
        None, description="Benign prompts that look dangerous, for the over_refusal rubric (CSV/"
        "JSONL: XSTest, whose unsafe contrast rows are left out, or any file with a prompt "
        "column); default: the shipped set.")

    _paths = field_validator("over_refusal_file")(resolve_path)

    @model_validator(mode="after")
    def _counts(self) -> EvalSettings:
        counts = default_counts(self.all_rubrics())
        given = self.__pydantic_extra__ if self.__pydantic_extra__ is not None else {}
        for key, value in given.items():
            if key not in counts:
                raise ValueError(f"unknown key {key!r} (prompt counts: {', '.join(counts)})")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
                raise ValueError(f"{key}: prompts used must be an integer 0-{MAX_COUNT}, "
                                 f"got {value!r}")
        for key, value in counts.items():
            given.setdefault(key, value)
        return self

    @field_validator("jury", mode="before")
    @classmethod
    def _jury_strings(cls, value: Any) -> Any:
        # `jury: [local:gemma-270m]` is short for `jury: [{model: local:gemma-270m}]`.
        if isinstance(value, list):
            return [{"model": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _jury_distinct(self) -> EvalSettings:
        names = [self.judge.model, *(m.model for m in self.jury)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"jury: {', '.join(twice)} judges twice (the judge and each jury "
                             "member must be different models)")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        data = handler(self)
        if not self.jury:
            data.pop("jury", None)
        if not self.rubrics:  # a config without added rubrics dumps (and hashes) as before
            data.pop("rubrics", None)
        if self.over_refusal_file is None:
            data.pop("over_refusal_file", None)
        if self.judge_method == "sample":
            data.pop("judge_method", None)
        if self.refusal_judge == "judge":
            data.pop("refusal_judge", None)
        return data

    def prompt_set(self, name: str) -> list[PromptItem]:
        """A prompt set that is not split: the user's over-refusal file when set, else shipped."""
        if name == "over_refusal" and self.over_refusal_file is not None:
            return load_public(self.over_refusal_file, keep="safe")
        return load_prompts(name)

    def all_rubrics(self) -> list[CaiRubric]:
        """The rubrics in effect: the shipped ones with this config's added or replaced."""
        return with_added(self.rubrics)

    def count(self, prompts: str) -> int:
        """Prompts used from this prompt set."""
        return int((self.__pydantic_extra__ or {})[prompts])


def eval_items(sets: dict[str, tuple[list[PromptItem], list[PromptItem]]], settings: EvalSettings,
               trained: list[PromptItem]) -> dict[str, list[PromptItem]]:
    """The prompts each rubric judges: the held-out side of a split set (`sets`: (train, eval)
    per set), else the whole set taken in turn by category, trimmed to the count; raises if any
    was trained on."""
    items: dict[str, list[PromptItem]] = {}
    for r in settings.all_rubrics():
        pool = sets[r.prompts][1] if r.prompts in sets else spread(settings.prompt_set(r.prompts))
        items[r.name] = pool[: settings.count(r.prompts)]
    assert_disjoint(trained, [it for group in items.values() for it in group])
    return items


def _check(item: PromptItem) -> str:
    return item.check or f"The reply is written in the style: {item.style}."


async def _judge(judge: ModelClient, log: KeyedLog, key: str, rubric: CaiRubric, item: PromptItem,
                 reply: str, seed: int, method: str = "sample",
                 ) -> tuple[Verdict | JudgeFailure, dict[str, float] | None]:
    """The verdict on one reply, and with `logprob` each field's expected value."""
    values = {"prompt": item.prompt, "reply": reply or "(empty reply)", "check": _check(item)}
    if method == "logprob":
        dist = await verdict_distribution(judge, log, key, rubric, values)
        expected = {m: d.expected for m, d in dist.metrics.items()}
        return Verdict(rubric=rubric.name, fields=dist.modes(),
                       score=rubric.score(expected)), expected
    return await sample_verdict(judge, log, key, rubric, values, seed=seed,
                                max_tokens=rubric.max_tokens,
                                tags={"prompt_id": item.id}), None


async def _evaluate_model(name: str, model: str | ModelSettings, items: dict[str, list[PromptItem]],
                          rubrics: dict[str, CaiRubric], settings: EvalSettings,
                          judge: ModelClient, seed: int, cache: bool, advance,
                          on_call: OnCall | None = None, backend: Backend | None = None,
                          jury: Sequence[tuple[str, ModelClient]] = (),
                          ) -> list[Answer]:
    # Up to 8 answers in flight: the transformers backend batches them into one forward pass.
    client = ModelClient(ModelSettings(model=model, concurrency=8) if isinstance(model, str)
                         else model, cache=True if cache else None, on_call=on_call,
                         backend=backend)
    params = GenerationParams(temperature=settings.temperature, max_tokens=settings.max_tokens,
                              stop=tuple(settings.stop))
    # In memory: an evaluation resumes by its folder; with a store every call is logged by on_call.
    log = KeyedLog(type_="eval")

    async def one(rubric: CaiRubric, item: PromptItem, k: int) -> Answer:
        key = f"{name}|{rubric.name}|{item.id}|{k}"
        # The same seed for every model: differences come from the models, not the sampling.
        answer = await keyed_call(
            client, log, f"{key}|answer", [Message(role="user", content=item.prompt)],
            params.model_copy(update={"seed": derive_seed(seed, item.id, k)}), kind="answer",
            sample_index=k, tags={"eval": rubric.name}, clean=str.strip)
        reply = answer.text
        judge_seed = derive_seed(seed, item.id, k, "judge")
        verdict, expected = await _judge(judge, log, f"{key}|judge", rubric, item, reply,
                                         judge_seed, settings.judge_method)
        votes: dict[str, dict[str, float] | None] | None = None
        if jury:
            votes = {settings.judge.model: _values(verdict, expected)}
            for member, client_ in jury:
                v, e = await _judge(client_, log, f"{key}|judge@{member}", rubric, item, reply,
                                    judge_seed, settings.judge_method)
                votes[member] = _values(v, e)
            if (combined := combine(rubric, votes)) is not None:
                fields, expected = combined
                verdict = Verdict(rubric=rubric.name, fields=fields, score=rubric.score(expected))
        advance(1)
        ok = isinstance(verdict, Verdict)
        return Answer(model=name, rubric=rubric.name, prompt_id=item.id, sample=k, reply=reply,
                      opens_with_refusal=opens_with_refusal(reply),
                      verdict=verdict.fields if ok else None, score=verdict.score if ok else None,
                      judge_failure=None if ok else verdict.reason, expected=expected, jury=votes)

    jobs = [one(rubrics[r], it, k) for r, group in items.items() for it in group
            for k in range(settings.samples)]
    return list(await asyncio.gather(*jobs))


def _values(verdict: Verdict | JudgeFailure, expected: dict[str, float] | None
            ) -> dict[str, float] | None:
    """One judge's values on a reply: its expected values (logprob) or its verdict's fields."""
    if not isinstance(verdict, Verdict):
        return None
    return dict(expected) if expected else {k: float(v) for k, v in verdict.fields.items()}


def judges_agreement(settings: EvalSettings, store: Any
                     ) -> tuple[MeasuredAgreement, MeasuredAgreement | None]:
    """The latest judge-check in `store` of the evaluation's judge (of its jury, if it has
    one), and of the refusal classifier when it reads refusal."""
    measured = measured_agreement(store, settings.judge.model, settings.judge_method)
    if settings.jury:  # judge-check measures a jury of the same members under this name
        measured = measured_agreement(
            store, settings.judge.model, settings.judge_method,
            members=[settings.judge.model, *(m.model for m in settings.jury)])
    refusal = measured_agreement(store, "classifier") \
        if settings.refusal_judge == "classifier" else None
    return measured, refusal


def current_agreement(settings: EvalSettings, store: Any,
                      before: dict[str, str]) -> dict[str, str]:
    """Each rubric's agreement line as the store has it now (a judge-check run after the seeds
    were evaluated counts), keeping the jury's alpha from the seeds' lines (`before`)."""
    measured, refusal = judges_agreement(settings, store)
    out = {}
    for r in settings.all_rubrics():
        if r.name not in before:
            continue
        _, note = agreement_of(r, measured, refusal)
        jury = [part for part in before[r.name].split("; ") if part.startswith("jury of ")]
        out[r.name] = "; ".join([p for p in (note, *jury) if p])
    return out


def _refusal_by_classifier(answers: list[Answer], rubrics: dict[str, CaiRubric]
                           ) -> list[Answer]:
    """Answers whose rubric has a `refused` field, with that field (and the score) from the
    MiniLM classifier, P(refused) kept on each; a verdict the judge could not give stays a
    failure."""
    from scai.cai.refusal import refusal_probabilities
    from scai.judges.agreement import called

    mine = [i for i, a in enumerate(answers)
            if "refused" in {m.name for m in rubrics[a.rubric].metrics}]
    # The request's kind (harmful or benign, from the rubric) as judge-check measured it.
    probs = dict(zip(mine, refusal_probabilities([answers[i].reply for i in mine],
                                                 [answers[i].rubric for i in mine]), strict=True))
    out = []
    for i, a in enumerate(answers):
        if i not in probs:
            out.append(a)
            continue
        p, update = probs[i], {"refused_probability": probs[i]}
        if a.verdict is not None:
            fields = {**a.verdict, "refused": called(p)}
            values = {**(a.expected or fields), "refused": float(called(p))}
            update |= {"verdict": fields, "score": rubrics[a.rubric].score(values)}
            if a.expected is not None:
                update["expected"] = values
        out.append(a.model_copy(update=update))
    return out


def run_evaluate(models: dict[str, str], items: dict[str, list[PromptItem]],
                 settings: EvalSettings, out_dir: Path, *, seed: int = 0, cache: bool = True,
                 progress: bool = True, on_call: OnCall | None = None,
                 backend: Backend | None = None, store: Any = None) -> dict[str, ModelScores]:
    """Answer and judge; writes `answers.jsonl` (every reply and verdict) and `eval.json`.
    `on_call` sees every model call (answers and verdicts), e.g. to log it to a run store;
    `backend` answers and judges for every model (a scripted model in tests); `store` is where
    the judge's latest `scai judge-check` is looked up (without one: "not calibrated")."""
    rubrics = {r.name: r for r in settings.all_rubrics() if r.name in items}
    # One judge model for all; a client per evaluated model, so each model's judging is metered
    # on its own.
    judge_backend = backend or make_backend(settings.judge)
    judge_cache = ResponseCache() if cache else None
    jury_backends = {m.model: backend or make_backend(m) for m in settings.jury}
    total = len(models) * settings.samples * sum(len(g) for g in items.values())
    answers: dict[str, list[Answer]] = {}
    costs: dict[str, ModelCost] = {}
    with progress_bar("evaluate" if progress else None, total=total) as advance:
        for name, model in models.items():  # one model at a time: checkpoints stay out of memory
            answered, judged = CostMeter(on_call), CostMeter(on_call)
            judge = ModelClient(settings.judge, cache=judge_cache, on_call=judged,
                                backend=judge_backend)
            jury = [(m.model, ModelClient(m, cache=judge_cache, on_call=judged,
                                          backend=jury_backends[m.model])) for m in settings.jury]
            start = time.perf_counter()
            answers[name] = run_sync(_evaluate_model(name, model, items, rubrics, settings, judge,
                                                     seed, cache, advance, answered, backend,
                                                     jury))
            costs[name] = ModelCost(answer=answered.cost, judge=judged.cost,
                                    wall_seconds=round(time.perf_counter() - start, 3))
    measured, refusal = judges_agreement(settings, store)
    if settings.refusal_judge == "classifier":
        answers = {name: _refusal_by_classifier(a, rubrics) for name, a in answers.items()}
    scores = {name: score(a, list(rubrics.values()), costs[name], measured, refusal)
              for name, a in answers.items()}
    if settings.jury:
        note_jury(scores, answers, rubrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for rows in answers.values():
            for a in rows:
                fh.write(a.model_dump_json() + "\n")
    (out_dir / "eval.json").write_text(json.dumps(
        {"seed": seed, "models": models, "scores": {k: v.model_dump() for k, v in scores.items()}},
        indent=2) + "\n", encoding="utf-8")
    return scores
