"""What each kind exports as a dataset: one Arrow table per kind of row, with a fixed schema.

- `cai`: `pairs` (DPO preference pairs: prompt, chosen = revision, rejected = first answer) and
  `sft` (chat messages), from every seed's OUT/seed-K/data/{pairs,sft}.jsonl;
- `contract`: `episodes` (each game or request: its lines, the constitution in force, the game's
  outcome as JSON and its scalar fields as `outcome_*` columns), from the run's `episode` events;
- `converse`: `statements` (every statement of the conversation, nested deliberations included,
  with who could see it), from the run's transcript.json (its step events if that is gone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from scai.cai.generate import PreferencePair, SFTExample
from scai.contract.constitution import Constitution, constitution_epoch
from scai.datafiles import jsonl_lines
from scai.errors import ConfigError
from scai.report.reader import RunData

_TEXTS = pa.list_(pa.string())
SCHEMAS: dict[str, pa.Schema] = {
    "pairs": pa.schema([("seed", pa.int64()), ("prompt_id", pa.string()), ("prompt", pa.string()),
                        ("chosen", pa.string()), ("rejected", pa.string()),
                        ("principles", _TEXTS)]),
    "sft": pa.schema([("seed", pa.int64()), ("prompt_id", pa.string()), ("messages", pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())])))]),
    "episodes": pa.schema([("epoch", pa.int64()), ("episode_id", pa.string()),
                           ("task", pa.string()), ("constitution", pa.string()),
                           ("messages", pa.list_(pa.struct([("speaker", pa.string()),
                                                            ("role", pa.string()),
                                                            ("text", pa.string())]))),
                           ("failures", _TEXTS), ("outcome", pa.string())]),
    "statements": pa.schema([("index", pa.int64()), ("path", pa.string()),
                             ("speaker", pa.string()), ("content", pa.string()),
                             ("round", pa.int64()), ("turn", pa.int64()), ("kind", pa.string()),
                             ("visible_to", _TEXTS), ("key", pa.string()), ("tokens", pa.int64())]),
}
ABOUT = {
    "pairs": "DPO preference pairs: `chosen` is the constitution-guided revision, `rejected` the "
             "model's first answer to `prompt`; `principles` were applied in the critique.",
    "sft": "SFT examples as chat `messages` (user prompt, revised assistant answer).",
    "episodes": "One row per game or request: its lines in order, the constitution in force at "
                "its epoch, the game's outcome (`outcome`, JSON; scalar fields as `outcome_*`).",
    "statements": "Every statement of the conversation in order; `path` is '' for the main "
                  "conversation and names a nested deliberation otherwise; `visible_to` null "
                  "means everyone could see it.",
}


@dataclass
class DatasetTable:
    """One table of a dataset export: its name (a config of the dataset) and its rows."""

    name: str
    table: pa.Table
    source: str  # where the rows came from, for the dataset card


def _table(name: str, rows: list[dict[str, Any]], source: str) -> DatasetTable:
    return DatasetTable(name, pa.Table.from_pylist(rows, schema=SCHEMAS[name]), source)


def _jsonl(path: Path, model: type) -> list[Any]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    return [model.model_validate(found.value) for found in jsonl_lines(text)
            if found.problem is None]


def _cai(data: RunData) -> list[DatasetTable]:
    out = data.out_dir()
    seeds = sorted(out.glob("seed-*/data"), key=lambda p: p.parent.name) if out else []
    if not seeds:
        raise ConfigError(f"run {data.info.id}: no seed-K/data folder under {out} (the CAI run "
                          "wrote no training data yet, or its folder moved)")
    pairs, sft = [], []
    for folder in seeds:
        seed = int(re.sub(r"\D", "", folder.parent.name) or 0)
        pairs += [{"seed": seed, **p.model_dump()}
                  for p in _jsonl(folder / "pairs.jsonl", PreferencePair)]
        sft += [{"seed": seed, "prompt_id": ex.prompt_id,
                 "messages": [{"role": m.role, "content": m.content} for m in ex.messages]}
                for ex in _jsonl(folder / "sft.jsonl", SFTExample)]
    where = f"{out}/seed-K/data"
    return [_table("pairs", pairs, f"{where}/pairs.jsonl"), _table("sft", sft, f"{where}/sft.jsonl")]


def _outcome_columns(table: pa.Table, outcomes: list[dict[str, Any]]) -> pa.Table:
    """The game's scalar outcome fields as columns, where every row agrees on a type."""
    for key in dict.fromkeys(k for o in outcomes for k in o):
        values = [o.get(key) for o in outcomes]
        kinds = {type(v) for v in values if v is not None}
        if kinds and (kinds <= {int, float} or kinds in ({str}, {bool})):
            table = table.append_column(f"outcome_{key}", pa.array(values))
    return table


def _contract(data: RunData) -> list[DatasetTable]:
    texts: dict[int, str] = {}
    for e in data.of("constitution"):
        epoch = constitution_epoch(e.key)
        if epoch is not None:
            try:
                texts[epoch] = Constitution.model_validate(e.payload).text()
            except ValueError:
                continue
    rows, outcomes = [], []
    for e in data.of("episode"):
        p = e.payload
        outcome = p.get("data") if isinstance(p.get("data"), dict) else {}
        rows.append({"epoch": p.get("epoch"), "episode_id": p.get("id"), "task": p.get("task"),
                     "constitution": texts.get(p.get("epoch")),
                     "messages": [{k: m.get(k) for k in ("speaker", "role", "text")}
                                  for m in p.get("messages") or []],
                     "failures": [str(f) for f in p.get("failures") or []],
                     "outcome": json.dumps(outcome, ensure_ascii=False)})
        outcomes.append({k: v for k, v in outcome.items()
                         if isinstance(v, (str, int, float, bool))})
    table = _table("episodes", rows, "the run's `episode` events")
    table.table = _outcome_columns(table.table, outcomes)
    return [table]


def _converse(data: RunData) -> list[DatasetTable]:
    from scai.report.converse import load_transcript

    transcript, _ = load_transcript(data)
    rows: list[dict[str, Any]] = []

    def add(t) -> None:
        for s in t.statements:
            row = s.model_dump()
            row["visible_to"] = list(s.visible_to) if s.visible_to is not None else None
            rows.append({k: row[k] for k in SCHEMAS["statements"].names})
            if s.key in t.nested:
                add(t.nested[s.key])

    if transcript is not None:
        add(transcript)
    out = data.out_dir()
    source = f"{out}/transcript.json" if out and (out / "transcript.json").is_file() else \
        "the run's `step` events"
    return [_table("statements", rows, source)]


BUILDERS: dict[str, Callable[[RunData], list[DatasetTable]]] = {
    "cai": _cai, "contract": _contract, "converse": _converse}


def dataset_tables(data: RunData) -> list[DatasetTable]:
    """The tables a run exports as a dataset; ConfigError for a kind that has none."""
    build = BUILDERS.get(data.info.kind)
    if build is None:
        raise ConfigError(f"run {data.info.id} is a {data.info.kind} run: dataset export knows "
                          f"{', '.join(BUILDERS)} runs (use --format jsonl for its events)")
    return build(data)
