"""`scai cai run`: generate -> SFT -> DPO -> evaluate base, SFT and SFT+DPO, for each seed;
then the mean and 95% CI of every metric over seeds, the per-seed table, and a report.

Layout: OUT/seed-K/{data,model,eval}/ per seed, OUT/results.json, OUT/report.md, OUT/metrics.png.
A seed whose eval.json exists is not redone, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from scai.cai.config import CaiConfig
from scai.cai.judge import aggregate_seeds
from scai.cai.stages import eval_stage, run_generate, run_train
from scai.llm.client import OnCall
from scai.stats import Estimate
from scai.store import RunStore

MODELS = ("base", "sft", "dpo")
METRICS = ("attack_success", "harm", "refusal_rate_judge", "refusal_rate_opening", "helpfulness",
           "style")


class SeedResult(BaseModel):
    seed: int
    metrics: dict[str, dict[str, float | None]]
    judge_failures: dict[str, dict[str, int]]
    pairs: int
    seconds: dict[str, float]


class CaiResult(BaseModel):
    out_dir: str
    profile: str | None
    seeds: list[SeedResult]
    aggregate: dict[str, dict[str, Estimate]]
    report: str
    plot: str | None


def _seed(config: CaiConfig, seed: int, out: Path, cache: bool, progress: bool,
          on_call: OnCall | None) -> SeedResult:
    done = out / "result.json"
    if done.is_file():
        return SeedResult.model_validate_json(done.read_text(encoding="utf-8"))
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    gen = run_generate(config, out / "data", seed=seed, cache=cache, progress=progress,
                       on_call=on_call)
    t["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stages = {s.stage: s for s in run_train(config, out / "data", out / "model", seed=seed,
                                            progress=progress)}
    t["train"] = time.perf_counter() - t0
    base = config.train.base_model
    models = {"base": base if base.startswith("hf:") else f"hf:{base}"}
    for name in ("sft", "dpo"):
        if name in stages:
            models[name] = f"hf:{stages[name].checkpoint}"
    t0 = time.perf_counter()
    scores = eval_stage(config, models, out / "eval", data_dir=out / "data", seed=seed,
                        cache=cache, progress=progress, on_call=on_call)
    t["evaluate"] = time.perf_counter() - t0
    result = SeedResult(seed=seed, metrics={m: s.metrics() for m, s in scores.items()},
                        judge_failures={m: s.judge_failures for m, s in scores.items()},
                        pairs=gen.pairs, seconds=t)
    done.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result


def _plot(aggregate: dict[str, dict[str, Estimate]], out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in METRICS if any(m in aggregate.get(k, {}) for k in MODELS)]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.2))
    axes = axes if len(shown) > 1 else [axes]
    for ax, metric in zip(axes, shown, strict=True):
        names = [k for k in MODELS if metric in aggregate.get(k, {})]
        est = [aggregate[k][metric] for k in names]
        means = [e.mean for e in est]
        err = [[e.mean - e.ci_low if e.ci_low is not None else 0 for e in est],
               [e.ci_high - e.mean if e.ci_high is not None else 0 for e in est]]
        ax.bar(names, means, yerr=err, capsize=4, color=["#999", "#69c", "#c63"][: len(names)])
        ax.set_title(metric.replace("_", " "), fontsize=9)
    fig.tight_layout()
    path = out / "metrics.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _report(config: CaiConfig, profile: str | None, seeds: list[SeedResult],
            aggregate: dict[str, dict[str, Estimate]], plot: Path | None, out: Path) -> Path:
    lines = [f"# CAI report: {config.name or 'cai'}", "",
             (f"Profile `{profile or 'as configured'}`, {len(seeds)} seed(s) "
             f"({', '.join(str(s.seed) for s in seeds)}). Base `{config.train.base_model}`; "
             f"SFT {config.train.sft_steps} steps, DPO {config.train.dpo_steps} steps "
             f"(beta {config.train.beta}, {'LoRA' if config.train.lora else 'full weights'}); "
             f"judge `{config.evaluate.judge.model}`; {config.evaluate.samples} samples per "
             "held-out prompt at temperature "
             f"{config.evaluate.temperature}, the same seeds and stop sequences for every model."), "",
             "## Mean and 95% CI over seeds", "",
             "| metric | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
    for metric in METRICS:
        cells = [aggregate.get(m, {}).get(metric) for m in MODELS]
        lines.append(f"| {metric} | " + " | ".join(c.fmt() if c else "n/a" for c in cells) + " |")
    failures = {m: sum(sum(s.judge_failures.get(m, {}).values()) for s in seeds) for m in MODELS}
    lines += ["", "Judge failures (unparseable verdicts, excluded from the means and counted here): "
              + ", ".join(f"{m} {n}" for m, n in failures.items()) + ".", ""]
    if plot:
        lines += [f"![metrics]({plot.name})", ""]
    lines += ["## Per seed", "", "| seed | model | " + " | ".join(METRICS) + " | pairs | seconds |",
              "|---|---|" + "---|" * (len(METRICS) + 2)]
    for s in seeds:
        for m, vals in s.metrics.items():
            cells = ["n/a" if vals.get(k) is None else f"{vals[k]:.2f}" for k in METRICS]
            secs = "/".join(f"{s.seconds.get(k, 0):.0f}" for k in ("generate", "train", "evaluate"))
            lines.append(f"| {s.seed} | {m} | " + " | ".join(cells) + f" | {s.pairs} | {secs} |")
    lines += ["", "Seconds are generate/train/evaluate. Training curves: "
              + ", ".join(f"[seed {s.seed}](seed-{s.seed}/model/training.png)" for s in seeds),
              "", ("Every answer and verdict: `seed-K/eval/answers.jsonl`; critique/revision chains: "
              "`seed-K/data/chains.jsonl`."), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


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
        result = _pipeline(config, out_dir, seeds, profile, cache, progress, call_logger(run))
        run.log("result", result.model_dump(mode="json"))
        run.finish("completed", summary={**where, "seeds": [s.seed for s in result.seeds],
                                         "report": result.report})
    return result


def _pipeline(config: CaiConfig, out_dir: Path, seeds: int, profile: str | None, cache: bool,
              progress: bool, on_call: OnCall | None = None) -> CaiResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [_seed(config, config.seed + k, out_dir / f"seed-{config.seed + k}", cache, progress,
                     on_call) for k in range(seeds)]
    aggregate = aggregate_seeds([r.metrics for r in results])
    plot = _plot(aggregate, out_dir)
    report = _report(config, profile, results, aggregate, plot, out_dir)
    result = CaiResult(out_dir=str(out_dir), profile=profile, seeds=results, aggregate=aggregate,
                       report=str(report), plot=str(plot) if plot else None)
    (out_dir / "results.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result
