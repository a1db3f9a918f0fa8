"""Export a run's events as JSONL, CSV or Parquet: one row per event, payload flattened."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

from scai.errors import StoreError
from scai.store.runs import Event, RunStore

ExportFormat = Literal["jsonl", "csv", "parquet"]


def _flatten_call(payload: dict[str, Any]) -> dict[str, Any]:
    """Model-call events get the columns a pandas user looks for first."""
    completion = payload.get("completion") or {}
    usage = completion.get("usage") or {}
    messages = payload.get("messages") or []
    params = payload.get("params") or {}
    row = {
        "model": payload.get("model"),
        "system": next((m["content"] for m in messages if m.get("role") == "system"), None),
        "prompt": next((m["content"] for m in reversed(messages) if m.get("role") == "user"), None),
        "response": completion.get("text"),
        "parsed": completion.get("parsed"),
        "finish_reason": completion.get("finish_reason"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "cached_tokens": usage.get("cached_tokens"),  # of prompt_tokens, from a cached prefix
        "completion_tokens": usage.get("completion_tokens"),
        "latency_s": usage.get("latency_s"),
        "cost_usd": usage.get("cost_usd"),
        "cached": completion.get("cached"),
        "attempts": completion.get("attempts"),
        "temperature": params.get("temperature"),
        "seed": params.get("seed"),
        "sample_index": payload.get("sample_index"),
        "error": payload.get("error"),
        "messages": messages,
    }
    for k, v in (payload.get("tags") or {}).items():
        row[f"tag_{k}"] = v
    return row


def event_rows(events: list[Event]) -> list[dict[str, Any]]:
    rows = []
    for e in events:
        base = {"run_id": e.run_id, "event_id": e.id, "ts": e.ts, "type": e.type, "key": e.key}
        body = _flatten_call(e.payload) if e.type == "model_call" else dict(e.payload)
        rows.append({**base, **body})
    return rows


def _scalar_columns(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Union of columns; nested values as JSON text; a column of mixed types becomes text."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    kinds: dict[str, set[type]] = {c: set() for c in columns}
    for row in rows:
        for c in columns:
            v = row.get(c)
            if isinstance(v, (dict, list)):
                row[c] = v = json.dumps(v, ensure_ascii=False)
            if v is not None:
                kinds[c].add(float if isinstance(v, (int, float)) and not isinstance(v, bool)
                             else type(v))
    for c, ks in kinds.items():
        if len(ks) > 1:
            for row in rows:
                if row.get(c) is not None:
                    row[c] = str(row[c])
    return columns, rows


def export_run(store: RunStore, ref: str, fmt: ExportFormat, out: Path | None = None) -> Path:
    """Write the run's events to `out` (default: the run's folder) and return the path."""
    run_id = store.resolve(ref)
    rows = event_rows(store.events(run_id))
    out = Path(out) if out else store.root / run_id / f"events.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return out
    columns, rows = _scalar_columns(rows)
    if fmt == "csv":
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return out
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # from_pylist would take its columns from the first row only.
        table = pa.table({c: [row.get(c) for row in rows] for c in columns})
        pq.write_table(table, out)
        return out
    raise StoreError(f"unknown export format {fmt!r}: use jsonl, csv or parquet")
