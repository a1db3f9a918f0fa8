"""`scai diff A B` / `scai diff CONFIG.yaml`: a thin skin over scai.supervise.diff.run_diff."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import NoCacheOpt, RunsDir, SetOpt, open_store, out, print_table


def _text_or_file(value: str | None, option: str) -> str | None:
    """TEXT, or @FILE for a file's contents (one-line error if it cannot be read)."""
    if value is None or not value.startswith("@"):
        return value
    from scai.datafiles import read_text
    from scai.errors import ConfigError

    try:
        return read_text(Path(value[1:])).strip()
    except ConfigError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _labels(labels: str | None, models: tuple[str, str], constitutions) -> tuple[str, str]:
    from scai.errors import ConfigError

    if labels:
        parts = [p.strip() for p in labels.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"--labels {labels!r}: expected two names, e.g. --labels base,tuned")
        return parts[0], parts[1]
    names = [c.stem if c is not None else m for m, c in zip(models, constitutions, strict=True)]
    if names[0] == names[1]:
        names = [f"{names[0]} (A)", f"{names[1]} (B)"]
    return names[0], names[1]


def build_config(
    first: str, second: str | None, *, overrides: list[str], system_a: str | None,
    system_b: str | None, constitution_a: Path | None, constitution_b: Path | None,
    labels: str | None, prompts: Path | None, samples: int | None, limit: int | None,
    seed: int | None, out_dir: Path | None, supervisor: str | None, judge: str | None,
):
    """A DiffConfig from `A B` plus options, or from a `kind: diff` YAML plus options."""
    from scai.config import apply_overrides, validate_as
    from scai.errors import ConfigError
    from scai.kinds import load_config
    from scai.supervise.diff.config import DiffConfig

    def model_or_none(key: str, value: str | None) -> tuple[str, str | None]:
        return (key, "null") if value and value.lower() == "none" else (f"{key}.model", value)

    shortcuts = [f"{k}={v}" for k, v in (("prompts", prompts), ("samples", samples),
                                         ("limit", limit), ("seed", seed), ("out", out_dir),
                                         model_or_none("supervisor", supervisor),
                                         model_or_none("judge", judge)) if v is not None]
    if second is None:
        if not first.endswith((".yaml", ".yml")):
            raise ConfigError(f"scai diff {first}: give two models (scai diff A B) or one "
                              "`kind: diff` config file (.yaml)")
        side_opts = (system_a, system_b, constitution_a, constitution_b, labels)
        if any(v is not None for v in side_opts):
            raise ConfigError("--system-a/-b, --constitution-a/-b and --labels go with "
                              "`scai diff A B`; in a config file set a.system, b.constitution ...")
        return load_config(Path(first), [*shortcuts, *overrides], kind="diff")
    label_a, label_b = _labels(labels, (first, second), (constitution_a, constitution_b))
    data = {
        "kind": "diff",
        "a": {"label": label_a, "model": first, "system": _text_or_file(system_a, "--system-a"),
              "constitution": constitution_a and str(constitution_a)},
        "b": {"label": label_b, "model": second, "system": _text_or_file(system_b, "--system-b"),
              "constitution": constitution_b and str(constitution_b)},
    }
    data = apply_overrides(data, [*shortcuts, *overrides])
    return validate_as(DiffConfig, data, "scai diff")


def diff(
    first: str | None = typer.Argument(None, metavar="A", help="Model string of side A, or "
                                       "a `kind: diff` config file (.yaml)."),
    second: str | None = typer.Argument(None, metavar="B", help="Model string of side B."),
    system_a: str | None = typer.Option(None, "--system-a", help="System prompt of A (TEXT "
                                        "or @FILE)."),
    system_b: str | None = typer.Option(None, "--system-b", help="System prompt of B."),
    constitution_a: Path | None = typer.Option(None, "--constitution-a",
                                               help="Constitution file of A (.txt or YAML)."),
    constitution_b: Path | None = typer.Option(None, "--constitution-b"),
    labels: str | None = typer.Option(None, "--labels", help="Names in the report: A,B."),
    prompts: Path | None = typer.Option(None, "--prompts", help="Probe file (YAML, JSONL or "
                                        "TXT); default: the shipped 118 probes."),
    samples: int | None = typer.Option(None, "--samples", "-k", min=1,
                                       help="Answers per probe per side (default 4)."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1,
                                     help="Use only N probes (seeded, domains mixed)."),
    seed: int | None = typer.Option(None, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out", help="Report folder "
                                        "(default runs/<run id>/)."),
    supervisor: str | None = typer.Option(None, "--supervisor", help="Model that names "
                                          "clusters and proposes axes (default local; none: no "
                                          "names, no axes)."),
    judge: str | None = typer.Option(None, "--judge", help="Model that scores the axes "
                                     "(default local; none: no axes)."),
    overrides: list[str] | None = SetOpt,
    no_cache: bool = NoCacheOpt,
    resume: str | None = typer.Option(None, "--resume", help="Resume this diff run (id, "
                                      "prefix or 'latest'): only missing calls are made."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Compare two models (or one model under two prompts/constitutions): sample answers,
    embed and cluster them, test each cluster, name the differences, score behaviour axes."""
    from scai.errors import ConfigError
    from scai.recording import stored_config
    from scai.supervise.diff.config import DiffConfig
    from scai.supervise.diff.runner import run_diff

    store = open_store(runs_dir)
    if first is None and not resume:
        raise ConfigError("scai diff: give two models (scai diff A B), a `kind: diff` config "
                          "file, or --resume RUN")
    if resume:
        cfg = stored_config(store, resume, "diff", DiffConfig)
    else:
        cfg = build_config(
            first, second, overrides=list(overrides or []), system_a=system_a,
            system_b=system_b, constitution_a=constitution_a, constitution_b=constitution_b,
            labels=labels, prompts=prompts, samples=samples, limit=limit, seed=seed,
            out_dir=out_dir, supervisor=supervisor, judge=judge)
    result = run_diff(cfg, store, out_dir=out_dir, cache=not no_cache, resume=resume)
    print_summary(result)


def _f(v: float | None, d: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _p(v: float | None) -> str:
    return "n/a" if v is None else (f"{v:.2g}" if v < 0.001 else f"{v:.3f}")


def _yes_no(v: bool | None) -> str:
    return "?" if v is None else ("yes" if v else "no")


def print_summary(r) -> None:
    """Top clusters, axes and separability as tables; then where the report is."""
    la, lb = r.labels
    out.print(f"[bold]{la}[/] vs [bold]{lb}[/]: {r.n_prompts} prompts x {r.samples} samples; "
              f"embedding distance {r.embedding_distance_ci.fmt(4)}; energy distance "
              f"{_f(r.energy_distance, 4)} (p = {_p(r.energy_p_value)})", highlight=False)
    print_table(["cluster", "size", f"share {la}", f"share {lb}", "p adj.", "sig.", "align.",
                 "name"],
                [[str(c.id), str(c.size), _f(c.share_a), _f(c.share_b), _p(c.p_adjusted),
                  "yes" if c.significant else "no", _yes_no(c.alignment_relevant),
                  (c.name or "(unnamed)")[:50]]
                 for c in sorted(r.clusters, key=lambda c: c.p_adjusted)[:8]],
                title=f"clusters (k = {r.clustering.k}, {r.clustering.criterion}; "
                f"Fisher exact, {r.correction} correction)")
    if r.axes:
        print_table(["axis", f"{la} more", f"{lb} more", "coefficient", "disagreements",
                     "judged"],
                    [[a.name[:40], _f(a.mean_score_a), _f(a.mean_score_b), _f(a.coefficient, 3),
                      str(a.disagreements), str(a.judged)] for a in r.axes],
                    title="behaviour axes (judged in both orders)")
    for s in (r.separability, r.embedding_separability):
        out.print(f"separability from {s.features}: held-out accuracy {_f(s.accuracy)} "
                  f"(chance 0.50; folds {s.folds}; p = {_p(s.p_value)})", highlight=False)
    fl = r.failures
    if fl.total:
        out.print(f"unreadable replies: {fl.cluster_names} cluster names, {fl.axis_proposals} "
                  f"axis proposals, {fl.judgements} judgements (counted, not defaulted)")
    out.print(f"run {r.run_id}; report {r.report_html} and {r.report_md}; map {r.map_png}",
              markup=False)


def register(app: typer.Typer) -> None:
    """Add `scai diff` to the app."""
    app.command()(diff)
