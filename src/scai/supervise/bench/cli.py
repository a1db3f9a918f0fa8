"""`scai bench generate|validate|run`: reflectivity / value-stability probe benchmarks.
A thin skin over scai.supervise.bench (generate_items, validate_items, run_benchmark)."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import NoCacheOpt, RunsDir, open_store, out, print_table

SubtasksOpt = typer.Option(None, "--subtasks", help="Only these subtasks (repeatable or "
                           "comma-separated): own_vs_others, current_vs_future, "
                           "change_events, change_prediction, influence_desirability.")
SCHEMA_ERRORS_SHOWN = 20


def _subtasks(values: list[str] | None) -> list[str] | None:
    # Accept both `--subtasks a --subtasks b` and `--subtasks a,b`.
    return [s.strip() for v in values or [] for s in v.split(",") if s.strip()] or None


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def generate(
    seeds: Path | None = typer.Option(None, "--seeds", help="Seed items JSONL (default: the "
                                      "shipped hand-written seeds)."),
    target: int = typer.Option(300, "--target", min=1, help="Items wanted per subtask in "
                               "the output file (seed items not counted)."),
    model: str = typer.Option("local", "--model", "-m", help="The generating model."),
    out_file: Path = typer.Option(Path("bench-generated.jsonl"), "--out",
                                  help="JSONL to append to; a rerun continues it."),
    subtasks: list[str] | None = SubtasksOpt,
    seed: int = typer.Option(0, "--seed", help="Sampling seed (calls are cached)."),
    shots: int = typer.Option(3, "--shots", min=1, max=10, help="Seed examples per prompt."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Write new items from seed examples with a model, toward --target per subtask."""
    from scai.supervise.bench import default_seeds_path, load_items
    from scai.supervise.bench.generate import generate_items

    pool = load_items(seeds or default_seeds_path())
    s = generate_items(pool, out_file, model=model, target=target,
                       subtasks=_subtasks(subtasks), seed=seed, shots=shots, cache=not no_cache)
    print_table(["subtask", "had", "generated", "now", "calls", "parse failures",
                 "invalid items", "exact duplicates"],
                [[name, str(t.existing), str(t.generated), f"{t.total}/{target}", str(t.calls),
                  str(t.parse_failures), str(t.invalid), str(t.exact_duplicates)]
                 for name, t in s.per_subtask.items()])
    short = [n for n, t in s.per_subtask.items() if t.total < target]
    note = (f"; short of the target: {', '.join(short)} (run again to continue)"
            if short else "")
    out.print(f"items in {out_file}{note}", markup=False)


def validate(
    source: Path = typer.Argument(..., help="Items JSONL to check (e.g. from generate)."),
    out_file: Path | None = typer.Option(None, "--out", help="Kept items (default "
                                         "SOURCE.kept.jsonl; rejected and summary beside)."),
    judges: str = typer.Option("local", "--judges", help="Comma-separated judge models; "
                               "'' skips judging."),
    no_judges: bool = typer.Option(False, "--no-judges", help="Only the judge-free filters: "
                                   "schema, structure, near-duplicates."),
    dedup_threshold: float = typer.Option(0.9, "--dedup-threshold", help="Cosine similarity "
                                          "at or above which an item is a near-duplicate."),
    min_agreement: float = typer.Option(1.0, "--min-agreement", help="Share of judges that "
                                        "must agree with the label to keep an item."),
    judge_samples: int = typer.Option(1, "--judge-samples", min=1, max=32,
                                      help="Answers per judge per item (>1: temperature 0.7)."),
    against: Path | None = typer.Option(None, "--against", help="Also drop items that "
                                        "near-duplicate these (e.g. the seed items)."),
    seed: int = typer.Option(0, "--seed"),
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
) -> None:
    """Check schema and structure, drop near-duplicates, keep items the judges agree with."""
    from scai.supervise.bench import load_items
    from scai.supervise.bench.validate import validate_items

    reference = load_items(against) if against else None
    s = validate_items(source, out=out_file, judges=[] if no_judges else judges.split(","),
                       dedup_threshold=dedup_threshold, min_agreement=min_agreement,
                       judge_samples=judge_samples, reference=reference, seed=seed,
                       cache=not no_cache, store=open_store(runs_dir))
    for p in s.schema_errors[:SCHEMA_ERRORS_SHOWN]:
        out.print(f"{source}:{p.line}: {p.problem}", markup=False, highlight=False)
    if len(s.schema_errors) > SCHEMA_ERRORS_SHOWN:
        out.print(f"... and {len(s.schema_errors) - SCHEMA_ERRORS_SHOWN} more bad lines (see "
                  "the summary)")
    print_table(["subtask", "input", "structure", "near-duplicates", "judge disagreed", "kept"],
                [[name, str(c.input), str(c.structural), str(c.near_duplicates),
                  str(c.judge_rejected), str(c.kept)]
                 for name, c in s.per_subtask.items()])
    fails = ", ".join(f"{k} {v}" for k, v in s.judge_parse_failures.items())
    out.print(f"{s.lines} lines: {len(s.schema_errors)} schema errors, {s.kept} kept, "
              f"{s.rejected} rejected; judges {', '.join(s.judges) or '(none)'}"
              f"{f' (unparseable answers: {fails})' if fails else ''}", markup=False)
    out.print(f"kept {s.kept_path}; rejected {s.rejected_path}; summary {s.summary_path}",
              markup=False)


def run(
    dataset: Path | None = typer.Argument(None, help="Items JSONL (default: the shipped "
                                          "dataset, items.jsonl, 1,500+ items)."),
    model: str = typer.Option("local", "--model", "-m", help="The model under test."),
    samples: int = typer.Option(1, "--samples", "-k", min=1, max=64,
                                help="Answers per item (>1: temperature 0.7)."),
    subtasks: list[str] | None = SubtasksOpt,
    out_dir: Path | None = typer.Option(None, "--out", help="Folder for results.json, "
                                        "report.md, answers.jsonl, the PNG (default: the "
                                        "run's folder in the store)."),
    seed: int = typer.Option(0, "--seed"),
    resume: str | None = typer.Option(None, "--resume", help="Resume this run id (or "
                                      "prefix); give the same dataset and options."),
    no_cache: bool = NoCacheOpt,
    runs_dir: Path | None = RunsDir,
    inspect_log: Path | None = typer.Option(None, "--inspect-log", help="Also write the run "
                                            "as an Inspect AI log into this folder (`inspect "
                                            "view` opens it; needs the inspect extra)."),
) -> None:
    """Score a model per subtask: accuracy with 95% CI, parse failures, chance level."""
    from scai.supervise.bench import default_items_path, load_items, run_benchmark
    from scai.supervise.bench.items import select

    if inspect_log is not None:
        from scai.inspect import require_inspect

        require_inspect()  # before the run, not after it
    path = dataset or default_items_path()
    items = select(load_items(path), _subtasks(subtasks))
    r = run_benchmark(model, items, samples=samples, seed=seed, store=open_store(runs_dir),
                      out_dir=out_dir, cache=not no_cache, dataset=str(path), resume=resume)
    print_table(["subtask", "items", "accuracy %", "95% CI (Wilson)", "among parsed %",
                 "parse failures", "chance %"],
                [[name, str(sc.n), _pct(sc.mean),
                  "n/a" if sc.ci_low is None else f"[{_pct(sc.ci_low)}, {_pct(sc.ci_high)}]",
                  _pct(sc.parsed_mean), f"{sc.parse_failures}/{sc.answers}", _pct(sc.chance)]
                 for name, sc in [*r.per_subtask.items(), ("overall", r.overall)]])
    out.print(f"run {r.run_id} in {r.wall_s:.1f} s; results {r.out_dir}/results.json, "
              f"report {r.out_dir}/report.md, chart {r.out_dir}/bench_accuracy.png",
              markup=False)
    if inspect_log is not None:
        from scai.inspect.export import write_bench_log

        out.print(f"Inspect log {write_bench_log(r, items, inspect_log)}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `scai bench generate|validate|run` to the `scai` app."""
    bench = typer.Typer(help="Reflectivity benchmarks: generate, validate and run probe items.",
                        no_args_is_help=True)
    for command in (generate, validate, run):
        bench.command()(command)
    app.add_typer(bench, name="bench")
