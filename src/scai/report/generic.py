"""The page every run gets, whatever its kind: status, config, events timeline, the `result`
event as tables, and the PNG/Markdown/HTML files in its output folder.

Timestamps read as on the command line: `when` is the CLI kit's (a foundation-level module).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from scai.cli_common import when
from scai.report.blocks import Block, Code, Heading, Image, Markdown, Notice, Section, Table
from scai.report.reader import RunData
from scai.store.usage import RunUsage

MAX_EVENTS = 200
MAX_TEXT = 20_000


def status_blocks(data: RunData) -> list[Block]:
    """What is wrong or unfinished about a run, said first."""
    info = data.info
    out: list[Block] = []
    if info.status == "running":
        out.append(Notice(f"Running: {info.n_events} events so far, last at "
                          f"{when(info.updated_at)}.", "info"))
    elif info.status == "interrupted":
        out.append(Notice("Interrupted: the run stopped before finishing"
                          + (f" ({info.error})" if info.error else "")
                          + "; what it finished is shown below.", "warning"))
    elif info.status == "failed":
        out.append(Notice(f"Failed: {info.error or 'no error recorded'}", "error"))
    for p in data.problems:
        out.append(Notice(f"This run's record is damaged: {p}.", "error"))
    return out


def usage_blocks(usage: RunUsage) -> list[Block]:
    """The run's model calls as one row of numbers: calls, cache hits, prompt tokens evaluated
    vs reused from cached prefixes, completion tokens, time in the model (none: no blocks)."""
    if not (usage.calls or usage.cache_hits or usage.failures or usage.unreadable):
        return []
    rate = usage.reuse_rate
    columns = ["model calls", "from response cache", "prompt tokens", "reused", "evaluated",
               "reuse rate", "completion tokens", "model s", "failed"]
    row: list[Any] = [usage.calls, usage.cache_hits, usage.prompt_tokens, usage.reused_tokens,
                      usage.evaluated_tokens, None if rate is None else f"{rate:.0%}",
                      usage.completion_tokens, round(usage.model_s, 1), usage.failures]
    if usage.cost_usd is not None:
        columns.append("cost ($)")
        row.append(round(usage.cost_usd, 4))
    caption = ("Reused: prompt tokens served from a cached prefix (KV state) instead of "
               "evaluated; calls answered from the response cache cost no model time and are "
               "counted apart." if rate is not None else
               "This run's calls do not report prompt-prefix reuse (recorded before it was "
               "counted); calls answered from the response cache are counted apart.")
    if usage.unreadable:
        caption += f" {usage.unreadable} unreadable call record(s) are left out."
    return [Heading("Model calls"), Table(columns, [row], caption=caption)]


def scalar(v: Any) -> Any:
    """A table cell: numbers and short text as they are, anything nested as compact JSON."""
    if v is None or isinstance(v, (bool, int, float, str)):
        if isinstance(v, float):
            return round(v, 4)
        return v
    return json.dumps(v, ensure_ascii=False, default=str)[:300]


def value_blocks(name: str, value: Any) -> list[Block]:
    """A JSON value as tables where it has the shape of one, else as JSON."""
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        cols = list(dict.fromkeys(k for r in value for k in r))
        return [Table(cols, [[scalar(r.get(c)) for c in cols] for r in value], caption=name)]
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        cols = list(dict.fromkeys(k for v in value.values() for k in v))
        if len(cols) <= 12 and all(not isinstance(x, (dict, list))
                                   for v in value.values() for x in v.values()):
            return [Table(["", *cols], [[k, *[scalar(v.get(c)) for c in cols]]
                                        for k, v in value.items()], caption=name)]
    if isinstance(value, list) and value and all(not isinstance(x, (dict, list)) for x in value):
        return [Table([name], [[scalar(x)] for x in value])]
    return [Code(json.dumps(value, indent=2, ensure_ascii=False, default=str)[:MAX_TEXT], "json")]


def result_blocks(payload: dict[str, Any]) -> list[Block]:
    """The `result` event: scalars in one table, each list/table-shaped value in its own."""
    flat = [[k, scalar(v)] for k, v in payload.items() if not isinstance(v, (dict, list))]
    out: list[Block] = [Table(["field", "value"], flat)] if flat else []
    for k, v in payload.items():
        if isinstance(v, (dict, list)):
            out += [Heading(k.replace("_", " "), 3), *value_blocks(k, v)]
    return out


def image_paths(payload: Any) -> list[Path]:
    """Paths to PNG files mentioned anywhere in a payload (e.g. a map_png field)."""
    found: list[Path] = []
    if isinstance(payload, dict):
        for v in payload.values():
            found += image_paths(v)
    elif isinstance(payload, list):
        for v in payload:
            found += image_paths(v)
    elif isinstance(payload, str) and payload.lower().endswith(".png") and len(payload) < 1000:
        found.append(Path(payload))
    return found


def artifact_blocks(data: RunData, root: Path, skip: set[Path] | None = None) -> list[Block]:
    """PNG, Markdown and HTML files the run wrote (its store folder and its output folder)."""
    dirs = [d for d in (root / data.info.id, data.out_dir()) if d is not None]
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.iterdir() if p.suffix.lower() in (".png", ".md", ".html")
                            and p.is_file())
    skip = {p.resolve() for p in (skip or set())}
    files = [f for f in dict.fromkeys(files) if f.resolve() not in skip]
    out: list[Block] = []
    for f in files:
        if f.suffix.lower() == ".png":
            out.append(Image(f, caption=f.name))
        else:
            text = f.read_text(encoding="utf-8", errors="replace")[:MAX_TEXT]
            body: Block = Markdown(text) if f.suffix.lower() == ".md" else Code(text, "html")
            out.append(Section(f.name, [body]))
    missing = [d for d in dirs[1:] if not d.is_dir()]
    if missing:
        out.append(Notice(f"The run's output folder {missing[0]} is missing; its files cannot "
                          "be shown.", "warning"))
    return out


def images_from_result(data: RunData) -> list[Block]:
    """The PNGs the last `result` event names (a missing one as a warning)."""
    out: list[Block] = []
    for e in data.of("result")[-1:]:
        for p in image_paths(e.payload):
            if p.is_file():
                out.append(Image(p, caption=p.name))
            else:
                out.append(Notice(f"The result names an image that is missing: {p}", "warning"))
    return out


def timeline_blocks(data: RunData) -> list[Block]:
    """The run's events as a table (the last MAX_EVENTS), captioned with counts per type."""
    counts = Counter(e.type for e in data.events)
    rows = []
    for e in data.events[-MAX_EVENTS:]:
        text = json.dumps(e.payload, ensure_ascii=False, default=str)
        rows.append([when(e.ts), e.type, e.key or "", text[:160]])
    caption = ", ".join(f"{n} {t}" for t, n in counts.most_common())
    if len(data.events) > MAX_EVENTS:
        caption += f" (the last {MAX_EVENTS} are listed)"
    return [Table(["time", "type", "key", "payload"], rows, caption=caption)]


def config_blocks(data: RunData) -> list[Block]:
    """The run's config as YAML."""
    return [Code(yaml.safe_dump(data.info.config, sort_keys=False, allow_unicode=True), "yaml")]


def generic_blocks(data: RunData, root: Path) -> list[Block]:
    """Everything about a run that needs no knowledge of its kind."""
    info = data.info
    out: list[Block] = []
    if info.summary:
        out += [Heading("Summary"), *result_blocks(info.summary)]
    result = data.last("result")
    if result is not None:
        out += [Heading("Result"), *result_blocks(result.payload), *images_from_result(data)]
    elif info.status == "completed" and not info.summary:
        out.append(Notice("This run recorded no `result` event and no summary.", "info"))
    shown = {b.path for b in out if isinstance(b, Image)}
    files = artifact_blocks(data, root, skip=shown)
    if files:
        out += [Heading("Files"), *files]
    out += [Heading("Events"), *timeline_blocks(data),
            Section("Config", config_blocks(data))]
    return out
