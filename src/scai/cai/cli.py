"""`scai cai generate|train`: each CAI stage as its own command over files a person can read."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from scai.cli_common import SetOpt, out, run_overrides

    cai = typer.Typer(help="Constitutional AI: critique/revision data, SFT and DPO.",
                      no_args_is_help=True)
    app.add_typer(cai, name="cai")

    def _config(path: Path, overrides: list[str] | None, seed: int | None,
                learned: str | None = None):
        from scai.kinds import load_config

        extra = run_overrides(overrides, seed)
        if learned:
            extra.append(f"constitution_from={learned}")
        return load_config(path, extra, kind="cai")

    learned_opt = typer.Option(None, "--constitution-from", help="Train on the constitution a "
                               "Social Contract run learned (run id, prefix or 'latest').")

    @cai.command()
    def run(
        config: Path = typer.Argument(..., help="A `kind: cai` config."),
        profile: str | None = typer.Option(None, "--profile", help="quick (2 CPU cores, minutes) "
                                           "or full (the published scale; for a GPU)."),
        seeds: int = typer.Option(1, "--seeds", min=1, help="Repeat everything for N seeds."),
        out_dir: Path = typer.Option(Path("cai-run"), "--out"),
        seed: int | None = typer.Option(None, "--seed", help="First seed (default: the file's)."),
        overrides: list[str] | None = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache"),
        constitution_from: str | None = learned_opt,
    ) -> None:
        """The whole pipeline per seed (generate, SFT, DPO, evaluate base/SFT/DPO); report."""
        from scai.cai.config import profile_overrides
        from scai.cai.pipeline import METRICS, MODELS, run_cai

        preset = profile_overrides(profile)
        cfg = _config(config, [*preset, *(overrides or [])], seed, constitution_from)
        from scai.store import RunStore

        result = run_cai(cfg, out_dir, seeds=seeds, profile=profile, cache=not no_cache,
                         store=RunStore())
        from rich.table import Table

        table = Table("metric (mean [95% CI])", *MODELS)
        for metric in METRICS:
            table.add_row(metric, *[(result.aggregate.get(m, {}).get(metric).fmt()
                                     if result.aggregate.get(m, {}).get(metric) else "n/a")
                                    for m in MODELS])
        out.print(table)
        out.print(f"report {result.report}" + (f"; plot {result.plot}" if result.plot else ""),
                  markup=False)

    @cai.command()
    def generate(
        config: Path = typer.Argument(..., help="A `kind: cai` config."),
        out_dir: Path = typer.Option(Path("cai-data"), "--out", help="Where the JSONL files go."),
        seed: int | None = typer.Option(None, "--seed"),
        overrides: list[str] | None = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache"),
        constitution_from: str | None = learned_opt,
    ) -> None:
        """Answer training prompts, critique and revise them; write pairs and SFT data."""
        from scai.cai.stages import run_generate

        res = run_generate(_config(config, overrides, seed, constitution_from), out_dir,
                           cache=not no_cache)
        out.print(f"{res.chains} chains -> {res.pairs} preference pairs, {res.sft} SFT examples; "
                  f"{len(res.split.eval)} prompts held out for evaluation")
        out.print(f"wrote {out_dir}/chains.jsonl, pairs.jsonl, sft.jsonl, split.json")

    @cai.command()
    def train(
        config: Path = typer.Argument(..., help="A `kind: cai` config (its `train:` section)."),
        data: Path = typer.Option(Path("cai-data"), "--data", help="Output of `scai cai generate`."),
        out_dir: Path = typer.Option(Path("cai-model"), "--out", help="Where checkpoints go."),
        seed: int | None = typer.Option(None, "--seed"),
        overrides: list[str] | None = SetOpt,
    ) -> None:
        """SFT then DPO with TRL; checkpoints usable as `hf:PATH`; per-step CSV and plot."""
        from scai.cai.stages import run_train

        stages = run_train(_config(config, overrides, seed), data, out_dir)
        for s in stages:
            last = s.steps[-1].values if s.steps else {}
            shown = ", ".join(f"{k} {v:.3g}" for k, v in last.items()
                              if k in ("loss", "reward_margin", "reward_accuracy"))
            out.print(f"{s.stage.upper()}: {len(s.steps)} steps on {s.examples} examples in "
                      f"{s.seconds:.0f} s; last step {shown or '-'}; model hf:{s.checkpoint}",
                      markup=False)
        out.print(f"training log {out_dir}/training.csv, plot {out_dir}/training.png")

    @cai.command()
    def evaluate(
        config: Path = typer.Argument(..., help="A `kind: cai` config (its `evaluate:` section)."),
        model: list[str] = typer.Option(..., "--model", "-m",
                                        help="NAME=MODEL, e.g. base=hf:local or dpo=hf:cai-model/dpo "
                                             "(repeatable; all answer the same prompts)."),
        data: Path | None = typer.Option(None, "--data", help="Output of `scai cai generate`: its "
                                         "split is checked so no trained prompt is evaluated."),
        out_dir: Path = typer.Option(Path("cai-eval"), "--out"),
        seed: int | None = typer.Option(None, "--seed"),
        overrides: list[str] | None = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache"),
    ) -> None:
        """Attack success and harm, helpfulness and style, judged on held-out prompts."""
        from rich.table import Table

        from scai.cai.stages import eval_stage
        from scai.errors import ConfigError

        models = {}
        for m in model:
            name, sep, spec = m.partition("=")
            if not sep or not name.strip() or not spec.strip():
                raise ConfigError(f"--model {m!r}: expected NAME=MODEL, e.g. base=hf:local")
            models[name.strip()] = spec.strip()
        scores = eval_stage(_config(config, overrides, seed), models, out_dir, data_dir=data,
                            cache=not no_cache)
        table = Table("model", "attack success", "harm 0-5", "refused (judge)",
                      "refused (opening)", "helpfulness", "style", "judge failures")

        def f(v, d=2):
            return "n/a" if v is None else f"{v:.{d}f}"

        for name, s in scores.items():
            table.add_row(name, f(s.attack_success), f(s.harm), f(s.refusal_rate_judge),
                          f(s.refusal_rate_opening), f(s.helpfulness), f(s.style),
                          str(sum(s.judge_failures.values())))
        out.print(table)
        out.print(f"every answer and verdict in {out_dir}/answers.jsonl; scores {out_dir}/eval.json")
