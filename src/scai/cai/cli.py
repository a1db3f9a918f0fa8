"""`scai cai generate|train`: each CAI stage as its own command over files a person can read."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from scai.cli import SetOpt, out, run_overrides

    cai = typer.Typer(help="Constitutional AI: critique/revision data, SFT and DPO.",
                      no_args_is_help=True)
    app.add_typer(cai, name="cai")

    def _config(path: Path, overrides: list[str] | None, seed: int | None):
        from scai.config import load_config

        return load_config(path, run_overrides(overrides, seed), kind="cai")

    @cai.command()
    def generate(
        config: Path = typer.Argument(..., help="A `kind: cai` config."),
        out_dir: Path = typer.Option(Path("cai-data"), "--out", help="Where the JSONL files go."),
        seed: int | None = typer.Option(None, "--seed"),
        overrides: list[str] | None = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache"),
    ) -> None:
        """Answer training prompts, critique and revise them; write pairs and SFT data."""
        from scai.cai.stages import run_generate

        res = run_generate(_config(config, overrides, seed), out_dir, cache=not no_cache)
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
