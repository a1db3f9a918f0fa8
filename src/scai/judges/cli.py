"""`scai judge-check`: a judge's agreement with the calibration labels (a thin skin over
scai.judges.check.run_judge_check)."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import NoCacheOpt, RunsDir, open_store, out, print_table, print_usage


def _stats(row) -> str:
    if row.kind == "binary":
        shown = ["accuracy", "kappa", "recall", "precision"]
    else:
        shown = ["mae", "exact", "within_one"]
    return "; ".join(f"{s} {row.stats[s].fmt()}" for s in shown)


def judge_check(
    judges: list[str] = typer.Option(..., "--judge", "-j", help="A judge to measure "
                                     "(repeatable): a model string (local, local:gemma-270m, "
                                     "openai-compat:URL#MODEL), classifier (the refusal "
                                     "classifier, fitted on the shipped training set and dev) "
                                     "or opening (the refusal-opening "
                                     "rule). Several: their jury is measured too."),
    rubrics: list[str] | None = typer.Option(None, "--rubric", "-r", help="Only items these "
                                             "rubrics judge (repeatable): harm, over_refusal, "
                                             "helpfulness, style."),
    method: str = typer.Option("sample", "--method", help="How a model judge's verdict is "
                               "read: sample (its JSON at temperature 0) or logprob (its "
                               "probabilities: P(refused), expected score)."),
    calibrate: bool = typer.Option(False, "--calibrate", help="With --method logprob: read each "
                                   "model judge's probabilities against cuts fitted on the dev "
                                   "split (judges dev too, so twice the calls)."),
    split: str = typer.Option("test", "--split", help="Items measured: test or dev."),
    data: Path | None = typer.Option(None, "--data", help="A calibration file in the shipped "
                                     "format (default: the shipped set)."),
    seed: int = typer.Option(0, "--seed", help="Judge seed and bootstrap seed."),
    out_dir: Path | None = typer.Option(None, "--out", help="Folder for judge-check.json and "
                                        "predictions.jsonl (default: the run's folder)."),
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Measure judges against labelled replies: accuracy, kappa, recall, MAE with 95% CIs."""
    from scai.errors import ConfigError
    from scai.judges.check import run_judge_check

    if method not in ("sample", "logprob"):
        raise ConfigError(f"--method {method!r}: one of sample, logprob")
    if split not in ("test", "dev"):
        raise ConfigError(f"--split {split!r}: one of test, dev")
    store = open_store(runs_dir)
    check = run_judge_check(judges, method=method, split=split, rubrics=rubrics, data=data,
                            store=store, seed=seed, cache=not no_cache, out_dir=out_dir,
                            calibrate=calibrate)
    rows = []
    for report in [*check.reports, check.baseline]:
        for name, row in report.rows.items():
            alpha = report.alpha.get(name)
            rows.append([report.judge, name, f"{row.scored}/{row.items}", _stats(row),
                         "-" if not report.members else
                         ("n/a" if alpha is None else f"{alpha:.2f}")])
    print_table(["judge", "rubric.label", "scored", "agreement (95% CI)", "alpha"], rows,
                title=f"{check.items} {check.split} items of {check.data}")
    for report in check.reports:
        for note in report.notes:
            out.print(f"{report.judge}: {note}", markup=False)
    if check.run_id:
        print_usage(store, [check.run_id])
        out.print(f"run {check.run_id}; {check.out_dir}/judge-check.json", markup=False)


def register(app: typer.Typer) -> None:
    """Add `scai judge-check` to the `scai` app."""
    app.command("judge-check")(judge_check)
