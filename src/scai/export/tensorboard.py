"""A run's numbers as TensorBoard event files: contract epochs, drift rounds, CAI seeds (training
steps and evaluation), converse judges' scores, and any kind's `metric` events and `result`
scalars.

Written with TensorBoard's own event writer (`tensorboard.summary.writer`, no torch or
TensorFlow): `pip install 'scai[tracking]'`. One TensorBoard run (a sub-folder) per series that
should be compared side by side, e.g. `seed-0/`, `seed-1/` of a CAI run.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from scai.errors import ConfigError, ModelUnavailable
from scai.kinds import scalars
from scai.report.reader import RunData, StoreReader


@dataclass(frozen=True)
class Scalar:
    """One number at one step of one TensorBoard run (`run` is a sub-folder, '' the top)."""

    run: str
    tag: str
    step: int
    value: float


def _tag(prefix: str, name: str) -> str:
    return f"{prefix}/{name.replace('.', '/')}"


def _epochs(data: RunData) -> list[Scalar]:
    return [Scalar("", _tag("epoch", k), int(e.payload.get("epoch", i)), v)
            for i, e in enumerate(data.of("epoch"))
            for k, v in scalars(e.payload.get("metrics") or {}).items()]


def _rounds(data: RunData) -> list[Scalar]:
    rounds = [e.payload for e in data.of("round")]
    if not rounds and data.last("result") is not None:  # a run logged before `round` events
        rounds = data.last("result").payload.get("rounds") or []
    return [Scalar("", _tag("round", k), int(r.get("round", i)), v)
            for i, r in enumerate(rounds) if isinstance(r, dict)
            for k, v in scalars(r, depth=2).items() if k != "round"]


def _training_csv(path: Path, run: str) -> list[Scalar]:
    """`training.csv` (scai.cai.train.write_training_log): stage, step, one column per value."""
    found = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for col, text in row.items():
                if col in ("stage", "step") or not text:
                    continue
                try:
                    found.append(Scalar(run, f"train/{row['stage']}/{col}", int(row["step"]),
                                        float(text)))
                except (TypeError, ValueError):
                    continue
    return found


def _seeds(data: RunData) -> list[Scalar]:
    """Per seed: its training steps (OUT/seed-K/model/training.csv) and its evaluation."""
    result = data.last("result")
    found = []
    for s in (result.payload.get("seeds") or []) if result else []:
        run = f"seed-{s.get('seed')}"
        found += [Scalar(run, _tag("eval", k), 0, v)
                  for k, v in scalars(s.get("metrics") or {}).items()]
        found.append(Scalar(run, "data/pairs", 0, float(s.get("pairs") or 0)))
    out = data.out_dir()
    for path in sorted(out.glob("seed-*/model/training.csv")) if out else []:
        found += _training_csv(path, path.parent.parent.name)
    return found


def _judged(data: RunData) -> list[Scalar]:
    """A conversation's judges: each score, `judge/<judge>/<metric>` at step 0."""
    return [Scalar("", f"judge/{e.payload.get('judge')}/{k}", 0, v)
            for e in data.of("judgement")
            for k, v in scalars(e.payload.get("scores") or {}).items()]


def _generic(data: RunData) -> list[Scalar]:
    found = [Scalar("", _tag("metric", str(e.payload.get("name"))), int(e.payload.get("step") or i),
                    float(e.payload["value"]))
             for i, e in enumerate(data.of("metric"))
             if isinstance(e.payload.get("value"), (int, float))]
    result = data.last("result")
    if result is not None and data.info.kind not in ("cai", "drift"):
        found += [Scalar("", _tag("result", k), 0, v)
                  for k, v in scalars(result.payload, depth=3).items()]
    return found


def run_scalars(data: RunData) -> list[Scalar]:
    """Every number of a run worth a curve, by what its kind records."""
    by_kind = {"contract": _epochs, "drift": _rounds, "cai": _seeds, "converse": _judged}
    found = by_kind.get(data.info.kind, lambda d: [])(data) + _generic(data)
    if not found:
        raise ConfigError(f"run {data.info.id} ({data.info.kind}) has no metrics to export yet")
    return found


def write_event_files(found: list[Scalar], out: Path) -> list[Path]:
    """One event file per TensorBoard run under `out`; returns their folders."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as exc:
        raise ModelUnavailable("--format tensorboard needs the tensorboard package: "
                               "pip install 'scai[tracking]'") from exc
    by_run: dict[str, list[Scalar]] = defaultdict(list)
    for s in found:
        by_run[s.run].append(s)
    folders = []
    now = time.time()
    for run, items in sorted(by_run.items()):
        folder = out / run if run else out
        folder.mkdir(parents=True, exist_ok=True)
        writer = EventFileWriter(str(folder))
        for s in sorted(items, key=lambda s: (s.step, s.tag)):
            value = summary_pb2.Summary.Value(tag=s.tag, simple_value=s.value)
            writer.add_event(event_pb2.Event(wall_time=now, step=s.step,
                                             summary=summary_pb2.Summary(value=[value])))
        writer.close()
        folders.append(folder)
    return folders


def export_tensorboard(root: Path | str | None, ref: str, out: Path | None = None) -> Path:
    """Write run `ref`'s metrics as TensorBoard event files under `out` (default:
    RUNS/<run id>/tensorboard) and return the folder: `tensorboard --logdir` it."""
    reader = StoreReader(root)
    try:
        data = reader.load(ref)
        out = Path(out) if out else reader.root / data.info.id / "tensorboard"
        write_event_files(run_scalars(data), out)
    finally:
        reader.close()
    return out
