"""`run_judge_check`: measure judges against the calibration set's labels and record the result.

Every judge scores the same items (the test split by default); its agreement with the labels is
reported per calibrated rubric and label, beside the constant-judge baseline. With more than one
judge, their jury (the mean of the members' values) is measured too, with Krippendorff's alpha
between the members per label. The run is recorded in the store (kind `judge-check`), with one
`agreement` event per judge, which CAI reports read back (`scai.judges.record`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Literal

from scai.errors import ConfigError
from scai.judges.agreement import LabelAgreement, agreement, called, krippendorff_alpha
from scai.judges.calibration import (
    FAMILIES,
    CalibrationItem,
    Split,
    default_calibration_path,
    load_calibration,
    select,
)
from scai.judges.methods import (
    CalibratedJudge,
    ClassifierJudge,
    ConstantJudge,
    ItemJudge,
    Method,
    ModelJudge,
    OpeningJudge,
    Prediction,
)
from scai.judges.result import JudgeCheck, JudgeReport
from scai.llm import run_sync
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run
from scai.store import RunStore

# Judges named by a word rather than a model string.
BUILTIN = ("classifier", "opening", "constant")


def _rows(items: Sequence[CalibrationItem], predictions: Sequence[Prediction]
          ) -> dict[str, tuple[Literal["binary", "scale"], list[float | None], list[int]]]:
    """(kind, judge values, labels) per row name, for the labels the judge covers."""
    rows: dict[str, tuple[Literal["binary", "scale"], list[float | None], list[int]]] = {}

    def add(row: str, kind: Literal["binary", "scale"], value: float | None, gold: int) -> None:
        rows.setdefault(row, (kind, [], []))
        rows[row][1].append(value)
        rows[row][2].append(gold)

    for item, pred in zip(items, predictions, strict=True):
        family = FAMILIES[item.family]
        for label in family.labels:
            if label not in pred.values:
                continue  # this judge does not cover the label
            kind: Literal["binary", "scale"] = "binary" if label in family.binary else "scale"
            add(f"{item.rubric}.{label}", kind, pred.values[label], item.labels[label])
            if label == "refused":
                add("all.refused", kind, pred.values[label], item.labels[label])
    return dict(sorted(rows.items()))


def report_for(name: str, split: str, items: Sequence[CalibrationItem],
               predictions: Sequence[Prediction], seconds: float, *, seed: int = 0
               ) -> JudgeReport:
    """A judge's predictions on items -> its agreement per row, with bootstrap intervals."""
    return JudgeReport(judge=name, split=split, items=len(items), seconds=round(seconds, 2),
                       rows={row: agreement(row, kind, values, gold, seed=seed)
                             for row, (kind, values, gold) in _rows(items, predictions).items()})


def jury_report(members: Sequence[tuple[str, list[Prediction]]], split: str,
                items: Sequence[CalibrationItem], seconds: float, *, seed: int = 0
                ) -> JudgeReport:
    """The members' mean value per item and label as one judge, and alpha between them."""
    combined: list[Prediction] = []
    for i, item in enumerate(items):
        values: dict[str, float | None] = {}
        for label in FAMILIES[item.family].labels:
            given = [p[i].values.get(label) for _, p in members if label in p[i].values]
            scored = [v for v in given if v is not None]
            if given:
                values[label] = sum(scored) / len(scored) if scored else None
        combined.append(Prediction(item_id=item.id, values=values))
    names = [name for name, _ in members]
    report = report_for(f"jury({', '.join(names)})", split, items, combined, seconds, seed=seed)
    report.members = names
    per_member = [_rows(items, preds) for _, preds in members]
    for row, agreed in report.rows.items():
        units = list(zip(*(r[row][1] for r in per_member if row in r), strict=True))
        if agreed.kind == "binary":
            units = [tuple(None if v is None else called(v) for v in u) for u in units]
        report.alpha[row] = krippendorff_alpha(
            units, "nominal" if agreed.kind == "binary" else "interval")
    return report


def build_judge(spec: str, dev: Sequence[CalibrationItem], *, method: Method, rubrics: dict,
                seed: int, cache: bool, on_call=None, backend=None, calibrate: bool = False
                ) -> ItemJudge:
    """A judge by name: `classifier`, `opening`, `constant`, or a model string (with
    `calibrate`, its binary values read against cuts fitted on the dev split)."""
    if spec == "classifier":
        return ClassifierJudge(dev, seed=seed)
    if spec == "opening":
        return OpeningJudge()
    if spec == "constant":
        return ConstantJudge(dev)
    judge = ModelJudge(spec, rubrics, method=method, seed=seed, cache=cache, on_call=on_call,
                       backend=backend)
    return CalibratedJudge(judge, dev) if calibrate else judge


def _calibrated_rubrics() -> dict:
    from scai.cai.rubrics import shipped_rubrics

    return dict(shipped_rubrics())


def run_judge_check(judges: Sequence[str], *, method: Method = "sample", split: Split = "test",
                    rubrics: Sequence[str] | None = None, data: Path | None = None,
                    store: RunStore | None = None, seed: int = 0, cache: bool = True,
                    progress: bool = True, out_dir: Path | None = None, backend=None,
                    calibrate: bool = False) -> JudgeCheck:
    """Measure each judge (and, for several, their jury) on one split; record and write it."""
    if not judges:
        raise ConfigError("--judge: give at least one judge (a model string, classifier, opening)")
    select([], rubrics=rubrics)  # an unknown --rubric is named before any file is read
    every = load_calibration(data)
    dev, chosen = select(every, split="dev", rubrics=rubrics), select(every, split=split,
                                                                       rubrics=rubrics)
    if not chosen:
        raise ConfigError(f"{data or default_calibration_path()}: no {split} items"
                          f"{' for ' + ', '.join(rubrics) if rubrics else ''}")
    if (calibrate or any(j == "classifier" for j in judges)) and split == "dev":
        raise ConfigError("--judge classifier and --calibrate fit on the dev split; check them "
                          "on --split test")
    if calibrate and method != "logprob":
        raise ConfigError("--calibrate fits cuts on probabilities: use it with --method logprob")
    config = {"judges": list(judges), "method": method, "split": split,
              "rubrics": list(rubrics or []), "data": str(data or "shipped"), "seed": seed,
              "calibrate": calibrate,
              "items": len(chosen)}
    shipped = _calibrated_rubrics()
    with recorded_run(store, "judge-check", config) if store is not None else nullcontext() as run:
        results: list[tuple[str, list[Prediction], float]] = []
        notes: list[list[str]] = []
        for spec in judges:
            judge = build_judge(spec, dev, method=method, rubrics=shipped, seed=seed,
                                cache=cache, on_call=call_logger(run) if run else None,
                                backend=backend, calibrate=calibrate)
            start = time.perf_counter()
            with progress_bar(f"judge {judge.name}" if progress else None,
                              total=len(chosen)) as advance:
                preds = run_sync(judge.predict(chosen, advance))
            results.append((judge.name, preds, time.perf_counter() - start))
            notes.append(_notes(judge))
        reports = [report_for(name, split, chosen, preds, secs, seed=seed)
                   for name, preds, secs in results]
        for report, found in zip(reports, notes, strict=True):
            report.notes.extend(found)
        if len(results) > 1:
            reports.append(jury_report([(n, p) for n, p, _ in results], split, chosen,
                                       sum(s for _, _, s in results), seed=seed))
        constant = run_sync(ConstantJudge(dev).predict(chosen, lambda _n: None))
        check = JudgeCheck(data=str(data or default_calibration_path()), split=split,
                           items=len(chosen), reports=reports,
                           baseline=report_for("constant", split, chosen, constant, 0.0, seed=seed))
        if run is not None:
            check.run_id = run.id
        where = out_dir or (run.dir if run is not None else None)
        if where is not None:
            check.out_dir = str(where)
            _write(Path(where), check, chosen, results)
        if run is not None:
            run.log("result", check.model_dump(mode="json"))
            for report in reports:
                run.log("agreement", report.model_dump(mode="json"))
            run.log("baseline", check.baseline.model_dump(mode="json"))
            run.finish("completed", summary={r.judge: {row: a.stats[_headline(a)].value
                                                       for row, a in r.rows.items()}
                                             for r in reports})
    return check


def _notes(judge: ItemJudge) -> list[str]:
    if isinstance(judge, CalibratedJudge) and judge.cuts:
        return ["binary values read against cuts fitted on the dev split: " + ", ".join(
            f"{family}.{label} {cut:.2f}" for (family, label), cut in sorted(judge.cuts.items()))]
    if isinstance(judge, ClassifierJudge):
        m = judge.model
        return [(f"fitted on {m.trained_on} replies (the shipped training set and dev); L2 "
                 f"penalty {m.strength:g} chosen by 5-fold cross-validation on them (CV "
                 f"accuracy {m.cv_accuracy:.2f})")]
    return []


def _headline(row: LabelAgreement) -> str:
    return "accuracy" if row.kind == "binary" else "mae"


def _write(where: Path, check: JudgeCheck, items: Sequence[CalibrationItem],
           results: Sequence[tuple[str, list[Prediction], float]]) -> None:
    from scai.report.export import write_files
    from scai.report.judges import judge_check_page

    write_files(judge_check_page(check), where, markdown="report.md")
    (where / "judge-check.json").write_text(check.model_dump_json(indent=2) + "\n",
                                            encoding="utf-8")
    with (where / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for name, preds, _ in results:
            for item, pred in zip(items, preds, strict=True):
                fh.write(json.dumps({"judge": name, "item_id": item.id, "family": item.family,
                                     "case": item.case, "labels": item.labels,
                                     "values": pred.values, "detail": pred.detail},
                                    ensure_ascii=False) + "\n")
