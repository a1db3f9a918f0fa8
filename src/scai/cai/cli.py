"""`scai cai run|stage0|generate|train|evaluate`: the whole pipeline, or each CAI stage as its
own command over files a person can read. A thin skin over scai.cai.pipeline and
scai.cai.stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from scai.cli_common import NoCacheOpt, RunsDir, SetOpt, open_store, out, print_table, run_overrides

LearnedOpt = typer.Option(None, "--constitution-from", help="Train on the constitution a Social "
                          "Contract run learned (run id, prefix or 'latest').")
ProfileOpt = typer.Option(None, "--profile", help="quick (2 CPU cores, minutes) or full (the "
                          "published scale; for a GPU).")
ModelOpt = typer.Option(..., "--model", "-m", help="NAME=MODEL, e.g. base=hf:local or "
                        "dpo=hf:cai-model/dpo (repeatable; all answer the same prompts).")


def _config(path: Path, overrides: list[str] | None, seed: int | None,
            learned: str | None = None) -> Any:
    from scai.kinds import load_config

    extra = run_overrides(overrides, seed)
    if learned:
        extra.append(f"constitution_from={learned}")
    return load_config(path, extra, kind="cai")


def _two(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _shown(metric: str, v: float | None) -> str:
    """Token counts as whole numbers, seconds to one decimal, rates and scores to two."""
    if v is not None and metric.endswith("_tokens"):
        return f"{v:,.0f}"
    if v is not None and metric.endswith("_seconds"):
        return f"{v:,.1f}"
    return _two(v)


def run(
    config: Path = typer.Argument(..., help="A `kind: cai` config."),
    profile: str | None = ProfileOpt,
    seeds: int = typer.Option(1, "--seeds", min=1, help="Repeat everything for N seeds."),
    out_dir: Path = typer.Option(Path("cai-run"), "--out"),
    seed: int | None = typer.Option(None, "--seed", help="First seed (default: the file's)."),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    constitution_from: str | None = LearnedOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """The whole pipeline per seed ([stage 0,] generate, SFT, DPO, evaluate every model);
    report."""
    from scai.cai.config import profile_overrides
    from scai.cai.pipeline import run_cai
    from scai.report.cai import MODELS, metric_names

    cfg = _config(config, [*profile_overrides(profile), *(overrides or [])], seed,
                  constitution_from)
    result = run_cai(cfg, out_dir, seeds=seeds, profile=profile, cache=not no_cache,
                     store=open_store(runs_dir))
    results = result.model_dump(mode="json")
    models = [*(m for m in MODELS if m in result.aggregate),
              *(m for m in result.aggregate if m not in MODELS)]
    print_table(["metric (mean [95% CI])", *models], [
        [metric, *[e.fmt() if (e := result.aggregate.get(m, {}).get(metric)) else "n/a"
                   for m in models]] for metric in metric_names(results)])
    _print_agreement(result.judge_agreement)
    out.print(f"report {result.report}" + (f"; plot {result.plot}" if result.plot else ""),
              markup=False)


def _print_agreement(notes: dict[str, str]) -> None:
    """The judge's measured agreement per rubric, under the numbers it produced."""
    for note in notes.values():
        out.print(note, markup=False, highlight=False)


ModelDirOpt = typer.Option(Path("cai-model"), "--model-dir", help="Where `scai cai stage0` "
                           "wrote sft0/ (its --out); with stage 0 on, that model generates.")


def stage0(
    config: Path = typer.Argument(..., help="A `kind: cai` config (its `stage0:` section)."),
    out_dir: Path = typer.Option(Path("cai-model"), "--out", help="Where sft0/ goes."),
    seed: int | None = typer.Option(None, "--seed"),
    overrides: list[str] | None = SetOpt,
) -> None:
    """Stage 0 for a base model: SFT on the demonstrations; checkpoint usable as `hf:PATH`."""
    from scai.cai.stages import run_stage0

    s = run_stage0(_config(config, overrides, seed), out_dir)
    last = s.steps[-1].values.get("loss") if s.steps else None
    out.print(f"SFT0: {len(s.steps)} steps on {s.examples} demonstrations in {s.seconds:.0f} s; "
              f"last loss {_two(last)}; model hf:{s.checkpoint}", markup=False)


def generate(
    config: Path = typer.Argument(..., help="A `kind: cai` config."),
    out_dir: Path = typer.Option(Path("cai-data"), "--out", help="Where the JSONL files go."),
    seed: int | None = typer.Option(None, "--seed"),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    constitution_from: str | None = LearnedOpt,
    runs_dir: Path | None = RunsDir,
    model_dir: Path = ModelDirOpt,
) -> None:
    """Answer training prompts, critique and revise them; write pairs and SFT data."""
    from scai.cai.stages import run_generate

    res = run_generate(_config(config, overrides, seed, constitution_from), out_dir,
                       cache=not no_cache, store=open_store(runs_dir) if runs_dir else None,
                       model_dir=model_dir)
    out.print(f"{res.chains} chains -> {res.pairs} preference pairs, {res.sft} SFT examples; "
              f"{len(res.split.eval)} prompts held out for evaluation")
    out.print(f"wrote {out_dir}/chains.jsonl, pairs.jsonl, sft.jsonl, split.json")


def train(
    config: Path = typer.Argument(..., help="A `kind: cai` config (its `train:` section)."),
    data: Path = typer.Option(Path("cai-data"), "--data", help="Output of `scai cai generate`."),
    out_dir: Path = typer.Option(Path("cai-model"), "--out", help="Where checkpoints go (and "
                                 "where stage 0 left sft0/, when it is on)."),
    seed: int | None = typer.Option(None, "--seed"),
    overrides: list[str] | None = SetOpt,
) -> None:
    """SFT then DPO with TRL; checkpoints usable as `hf:PATH`; per-step CSV and plot."""
    from scai.cai.stages import run_train

    for s in run_train(_config(config, overrides, seed), data, out_dir):
        last = s.steps[-1].values if s.steps else {}
        shown = ", ".join(f"{k} {v:.3g}" for k, v in last.items()
                          if k in ("loss", "reward_margin", "reward_accuracy"))
        out.print(f"{s.stage.upper()}: {len(s.steps)} steps on {s.examples} examples in "
                  f"{s.seconds:.0f} s; last step {shown or '-'}; model hf:{s.checkpoint}",
                  markup=False)
    out.print(f"training log {out_dir}/training.csv, plot {out_dir}/training.png")


def _named_models(specs: list[str]) -> dict[str, str]:
    from scai.errors import ConfigError

    models = {}
    for m in specs:
        name, sep, spec = m.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise ConfigError(f"--model {m!r}: expected NAME=MODEL, e.g. base=hf:local")
        models[name.strip()] = spec.strip()
    return models


def evaluate(
    config: Path = typer.Argument(..., help="A `kind: cai` config (its `evaluate:` section)."),
    model: list[str] = ModelOpt,
    data: Path | None = typer.Option(None, "--data", help="Output of `scai cai generate`: its "
                                     "split is checked so no trained prompt is evaluated."),
    out_dir: Path = typer.Option(Path("cai-eval"), "--out"),
    seed: int | None = typer.Option(None, "--seed"),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Every rubric's metrics (attack success and harm, helpfulness, style, ...) on held-out
    prompts, judged by the judge model (its measured agreement printed beside them)."""
    from scai.cai.stages import eval_stage

    models = _named_models(model)
    scores = eval_stage(_config(config, overrides, seed), models, out_dir, data_dir=data,
                        cache=not no_cache, store=open_store(runs_dir))
    # One row per metric, one column per model: as wide as the models, not the metrics.
    metrics = list(dict.fromkeys(k for s in scores.values() for k in s.metrics()))
    rows = [[m.replace("_", " "), *(_shown(m, s.metrics().get(m)) for s in scores.values())]
            for m in metrics]
    rows.append(["judge failures", *(str(sum(s.judge_failures.values()))
                                     for s in scores.values())])
    print_table(["metric", *scores], rows)
    first = next(iter(scores.values()), None)
    if first is not None:
        _print_agreement({r: rs.agreement_note for r, rs in first.rubrics.items()
                          if rs.agreement_note})
    out.print(f"every answer and verdict in {out_dir}/answers.jsonl; scores {out_dir}/eval.json")


def register(app: typer.Typer) -> None:
    """Add the `scai cai` commands to the `scai` app."""
    cai = typer.Typer(help="Constitutional AI: critique/revision data, SFT and DPO.",
                      no_args_is_help=True)
    for command in (run, stage0, generate, train, evaluate):
        cai.command()(command)
    app.add_typer(cai, name="cai")
