"""Users' data files (prompt lists, datasets): read with one-line errors that name the file;
JSONL written one pydantic row a line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scai.errors import ConfigError


def read_text(path: Path) -> str:
    """A data file's text; one-line ConfigError if missing, binary, unreadable or empty."""
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a data file")
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty")
    return text


@dataclass(frozen=True)
class JsonlLine:
    """One non-blank JSONL line: its parsed value, or why it is not JSON."""

    line: int
    value: Any = None
    problem: str | None = None


def jsonl_lines(text: str) -> Iterator[JsonlLine]:
    """Every non-blank line of a JSONL text, parsed; a bad line is reported, not raised."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield JsonlLine(n, json.loads(line))
        except json.JSONDecodeError as exc:
            yield JsonlLine(n, problem=f"not JSON: {exc.msg}")


def jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank JSONL line; a bare string means {prompt: s}."""
    for found in jsonl_lines(text):
        n, row = found.line, found.value
        if found.problem is not None:
            raise ConfigError(f"{path}:{n}: {found.problem}")
        if isinstance(row, str):
            row = {"prompt": row}
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{n}: expected a JSON object or string, "
                              f"got {type(row).__name__}")
        yield n, row


def write_jsonl(path: Path, rows: Iterable[BaseModel]) -> Path:
    """Write one JSON object per row (UTF-8, unescaped), creating the folder; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row.model_dump(mode="json"), ensure_ascii=False) + "\n")
    return path
