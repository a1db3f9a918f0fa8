"""A finished `scai bench run` as an Inspect log (`scai bench run --inspect-log DIR`), written by
Inspect's own log writer so `inspect view DIR` opens it beside logs of `inspect eval`.

The log holds what the scai run found, not a rerun: every answer as a sample (one epoch per
`--samples` draw) scored as `scai/reflectivity` scores it, and scai's numbers (accuracy over
items, its Wilson interval, parse failures, each subtask) as the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import shortuuid
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, GenerateConfig, ModelOutput

from scai.errors import ConfigError
from scai.inspect.params import inspect_config
from scai.inspect.reflectivity import answer_score, bench_sample
from scai.supervise.bench import BenchItem, BenchResult, ItemAnswer
from scai.supervise.bench.answer import answer_params

TASK = "scai/reflectivity"
SCORER = "bench_match"


def _metrics(result: BenchResult) -> dict[str, EvalMetric]:
    o = result.overall
    found = {"accuracy": (o.mean, None), "ci_low": (o.ci_low, "wilson_ci"),
             "ci_high": (o.ci_high, "wilson_ci"),
             "parse_failures": (o.parse_failures / o.answers if o.answers else None, None),
             "chance": (o.chance, None),
             **{name: (sc.mean, "grouped") for name, sc in result.per_subtask.items()}}
    return {k: EvalMetric(name=k, value=v, group=g) for k, (v, g) in found.items()
            if v is not None}


def _sample(result: BenchResult, item: BenchItem, answer: ItemAnswer) -> EvalSample:
    base = bench_sample(item)
    prompt = str(base.input)
    return EvalSample(
        id=item.id, epoch=answer.sample + 1, input=prompt, target=item.answer,
        messages=[ChatMessageUser(content=prompt), ChatMessageAssistant(content=answer.raw)],
        output=ModelOutput.from_content(model=result.model, content=answer.raw),
        scores={SCORER: answer_score(answer)}, metadata=base.metadata)


def bench_log(result: BenchResult, items: Sequence[BenchItem],
              answers: Sequence[ItemAnswer]) -> EvalLog:
    """The Inspect log of a bench run: its items, every answer scored, scai's results."""
    by_id = {it.id: it for it in items}
    missing = sorted({a.item_id for a in answers} - set(by_id))
    if missing:
        raise ConfigError(f"answers for items not in the dataset: {', '.join(missing[:3])}")
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    config = GenerateConfig(**inspect_config(
        answer_params(items[0], sample=0, seed=result.seed, temperature=result.temperature),
        only=("temperature", "max_tokens")))
    order = {it.id: i for i, it in enumerate(items)}
    ordered = sorted(answers, key=lambda a: (a.sample, order[a.item_id]))
    spec = EvalSpec(
        created=now, task=TASK, task_id=shortuuid.uuid(), run_id=shortuuid.uuid(),
        eval_id=shortuuid.uuid(), task_registry_name=TASK, task_display_name="reflectivity",
        task_args={"dataset": result.dataset, "seed": result.seed,
                   "temperature": result.temperature},
        dataset=EvalDataset(name="scai-reflectivity", location=result.dataset,
                            samples=len(items), sample_ids=[it.id for it in items]),
        model=f"scai/{result.model}", config=EvalConfig(epochs=result.samples),
        packages={"scai": version("scai"), "inspect_ai": version("inspect_ai")},
        metadata={"scai": "bench run", "run_id": result.run_id, "out_dir": result.out_dir})
    return EvalLog(
        status="success", eval=spec,
        plan=EvalPlan(steps=[EvalPlanStep(solver="scai/bench_answer",
                                          params={"seed": result.seed})], config=config),
        results=EvalResults(total_samples=len(answers), completed_samples=len(answers),
                            scores=[EvalScore(name=SCORER, scorer=SCORER,
                                              scored_samples=len(answers),
                                              metrics=_metrics(result))]),
        stats=EvalStats(started_at=now, completed_at=now),
        samples=[_sample(result, by_id[a.item_id], a) for a in ordered])


def read_answers(result: BenchResult) -> list[ItemAnswer]:
    """The answers a bench run left in its folder (answers.jsonl)."""
    path = Path(result.out_dir or "") / "answers.jsonl"
    if not result.out_dir or not path.exists():
        raise ConfigError(f"no answers.jsonl for run {result.run_id}: an Inspect log needs the "
                          "run's folder (give --out)")
    return [ItemAnswer.model_validate_json(line)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_bench_log(result: BenchResult, items: Sequence[BenchItem], log_dir: Path,
                    answers: Sequence[ItemAnswer] | None = None) -> Path:
    """Write the run's Inspect log (`.eval`) into `log_dir`; returns its path."""
    log = bench_log(result, items, answers if answers is not None else read_answers(result))
    stamp = log.eval.created.replace(":", "-").replace("+", "-")
    path = Path(log_dir) / f"{stamp}_reflectivity_{log.eval.task_id}.eval"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(path))
    return path
