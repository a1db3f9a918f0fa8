"""`scai cai run`: [stage 0] -> generate -> SFT -> DPO -> evaluate base, SFT0, SFT, SFT+DPO and
any `compare` models, for each seed; then the mean and 95% CI of every metric over seeds, the
per-seed table, and a report.

Layout: OUT/seed-K/{data,model,eval}/ per seed, OUT/results.json, OUT/report.md, OUT/metrics.png.
A seed whose eval.json exists is not redone, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from scai.cai.config import CaiConfig
from scai.cai.evaluate import current_agreement
from scai.cai.judge import aggregate_seeds
from scai.cai.rubrics import metric_bounds
from scai.cai.stages import eval_stage, generator, run_generate, run_stage0, run_train
from scai.llm.client import OnCall
from scai.llm.hf import release
from scai.report.cai import report_page
from scai.report.export import write_files
from scai.stats import Estimate
from scai.store import RunStore


class SeedResult(BaseModel):
    """One seed: every model's metrics (flat, in rubric order), judge failures per rubric, the
    preference pairs it trained on and seconds per stage."""

    seed: int
    metrics: dict[str, dict[str, float | None]]
    judge_failures: dict[str, dict[str, int]]
    pairs: int
    seconds: dict[str, float]
    judge_agreement: dict[str, str] = {}  # rubric -> the judge's measured agreement, in words


class CaiResult(BaseModel):
    """Every seed, the mean and 95% CI over seeds, and where the report and plot are."""

    out_dir: str
    name: str | None = None
    about: str = ""  # what was run (models, steps, judge), the report's opening paragraph
    profile: str | None
    seeds: list[SeedResult]
    aggregate: dict[str, dict[str, Estimate]]
    report: str
    plot: str | None
    judge_agreement: dict[str, str] = {}  # rubric -> the judge's latest judge-check, in words


def _seed(config: CaiConfig, seed: int, out: Path, cache: bool, progress: bool,
          on_call: OnCall | None, store: RunStore | None) -> SeedResult:
    done = out / "result.json"
    if done.is_file():
        return SeedResult.model_validate_json(done.read_text(encoding="utf-8"))
    t: dict[str, float] = {}
    if config.stage0.steps:
        t0 = time.perf_counter()
        run_stage0(config, out / "model", seed=seed, progress=progress)
        t["stage0"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gen = run_generate(config, out / "data", seed=seed, cache=cache, progress=progress,
                       on_call=on_call, store=store, model_dir=out / "model")
    release(generator(config, out / "model").model)  # training needs the memory
    t["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stages = {s.stage: s for s in run_train(config, out / "data", out / "model", seed=seed,
                                            progress=progress)}
    t["train"] = time.perf_counter() - t0
    base = config.train.base_model
    models = {"base": base if base.startswith("hf:") else f"hf:{base}"}
    for name in ("sft0", "sft", "dpo"):
        if name in stages:
            models[name] = f"hf:{stages[name].checkpoint}"
    models.update(config.compare)
    t0 = time.perf_counter()
    scores = eval_stage(config, models, out / "eval", data_dir=out / "data", seed=seed,
                        cache=cache, progress=progress, on_call=on_call, store=store)
    t["evaluate"] = time.perf_counter() - t0
    result = SeedResult(seed=seed, metrics={m: s.metrics() for m, s in scores.items()},
                        judge_failures={m: s.judge_failures for m, s in scores.items()},
                        pairs=gen.pairs, seconds=t, judge_agreement={
                            r: note for s in scores.values() for r, rs in s.rubrics.items()
                            if (note := rs.agreement_note)})
    done.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result


def _about(config: CaiConfig, profile: str | None, seeds: list[SeedResult]) -> str:
    t, e, s0 = config.train, config.evaluate, config.stage0
    stage0 = ""
    if s0.steps:
        who = "the SFT0 model" if s0.generator == "sft0" else f"`{config.model.model}`"
        stage0 = (f"stage 0 (sft0): {s0.steps} SFT steps on the demonstrations, then {who} "
                  f"generates{' with few-shot examples' if config.generate.fewshot else ''}; ")
    compare = "".join(f"; compared with {name} `{m}`" for name, m in config.compare.items())
    return (f"Profile `{profile or 'as configured'}`, {len(seeds)} seed(s) "
            f"({', '.join(str(s.seed) for s in seeds)}). Base `{t.base_model}`; {stage0}SFT "
            f"{t.sft_steps} steps{' from SFT0' if s0.steps else ''}, DPO {t.dpo_steps} steps "
            f"(beta {t.beta}, {'LoRA' if t.lora else 'full weights'}); judge `{e.judge.model}`"
            f"{compare}; {e.samples} samples per held-out prompt at temperature {e.temperature}, "
            "the same prompts, seeds and stop sequences for every model.")


def run_cai(config: CaiConfig, out_dir: Path, *, seeds: int = 1, profile: str | None = None,
            cache: bool = True, progress: bool = True, store: RunStore | None = None) -> CaiResult:
    """The whole pipeline for seeds config.seed, config.seed+1, ... (`profile` is already
    applied to `config`; it only labels the report). With a `store`, the run is recorded there
    (kind `cai`: its out dir, then its result) so the dashboard and `scai report` find it."""
    if store is None:
        return _pipeline(config, out_dir, seeds, profile, cache, progress)
    from scai.recording import call_logger, recorded_run

    with recorded_run(store, "cai", config, name=config.name) as run:
        where = {"out_dir": str(out_dir.resolve()), "profile": profile}
        run.log("start", {**where, "seeds": seeds})
        # Every generation and evaluation call goes to the store: tokens, cost, replies.
        result = _pipeline(config, out_dir, seeds, profile, cache, progress, call_logger(run),
                           store)
        run.log("result", result.model_dump(mode="json"))
        run.finish("completed", summary={**where, "seeds": [s.seed for s in result.seeds],
                                         "report": result.report})
    return result


def _agreement(config: CaiConfig, results: list[SeedResult], store: RunStore | None
               ) -> dict[str, str]:
    """The judges' measured agreement for the report: as the store has it now (a judge-check
    run after a seed was evaluated, or between a run and its resume, counts)."""
    before = results[-1].judge_agreement if results else {}
    if store is None:
        return before
    return current_agreement(config.evaluate, store, before)


def _pipeline(config: CaiConfig, out_dir: Path, seeds: int, profile: str | None, cache: bool,
              progress: bool, on_call: OnCall | None = None,
              store: RunStore | None = None) -> CaiResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [_seed(config, config.seed + k, out_dir / f"seed-{config.seed + k}", cache, progress,
                     on_call, store) for k in range(seeds)]
    # Rendered once: report.md and metrics.png are the blocks the dashboard shows (report/cai.py).
    result = CaiResult(out_dir=str(out_dir), name=config.name,
                       about=_about(config, profile, results), profile=profile, seeds=results,
                       aggregate=aggregate_seeds([r.metrics for r in results], metric_bounds(
                           config.evaluate.all_rubrics())),
                       report=str(out_dir / "report.md"), plot=None,
                       judge_agreement=_agreement(config, results, store))
    written = write_files(report_page(result.model_dump(mode="json")), out_dir,
                          markdown="report.md")
    plot = out_dir / "metrics.png"
    result.plot = str(plot) if plot in written else None
    (out_dir / "results.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result
