"""Probe sets: the prompts both sides answer. Shipped default, or a user's YAML/JSONL/TXT file."""

from __future__ import annotations

import random
import re
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from scai.config import parse_yaml
from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError


class Probe(BaseModel):
    """One prompt both sides answer; `id` keys its answers in the store."""

    id: str
    domain: str = "general"
    text: str = Field(..., min_length=1)


def default_probes_path() -> Path:
    """The shipped probe set (`scai/data/supervise/probes.yaml`)."""
    return Path(str(resources.files("scai.data") / "supervise" / "probes.yaml"))


def _probe(path: Path, where: str, row: object, n: int) -> Probe:
    if isinstance(row, str):
        row = {"text": row}
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: expected a string or a mapping with 'text', "
                          f"got {type(row).__name__}")
    text = row.get("text", row.get("prompt"))
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: a probe needs a non-empty 'text' (or 'prompt')")
    pid = str(row.get("id") or f"p{n:04d}")
    if not re.fullmatch(r"[\w.\-]{1,80}", pid):
        raise ConfigError(f"{where}: probe id {pid!r} may use only letters, digits, . _ -")
    return Probe(id=pid, domain=str(row.get("domain") or "general"), text=text.strip())


def load_probes(path: Path | None = None) -> list[Probe]:
    """Probes from `path` (default: the shipped set); one-line ConfigError on a bad file."""
    path = Path(path) if path is not None else default_probes_path()
    text = read_text(path)
    probes: list[Probe] = []
    if path.suffix in (".yaml", ".yml"):
        data = parse_yaml(text, str(path))
        rows = data.get("probes") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ConfigError(f"{path}: expected a list of probes (or a mapping with 'probes:')")
        probes = [_probe(path, f"{path}: probe {n}", row, n) for n, row in enumerate(rows, 1)]
    elif path.suffix == ".jsonl":
        probes = [_probe(path, f"{path}:{n}", row, n) for n, row in jsonl_rows(path, text)]
    elif path.suffix in (".txt", ".md", ""):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        probes = [_probe(path, f"{path}:{n}", ln, n) for n, ln in enumerate(lines, 1)]
    else:
        raise ConfigError(f"{path}: unknown probe file type {path.suffix!r} "
                          "(use .yaml, .jsonl or .txt)")
    if not probes:
        raise ConfigError(f"{path}: no probes in the file")
    seen: set[str] = set()
    for p in probes:
        if p.id in seen:
            raise ConfigError(f"{path}: probe id {p.id!r} appears twice")
        seen.add(p.id)
    return probes


def select_probes(probes: list[Probe], limit: int | None, seed: int) -> list[Probe]:
    """The first `limit` probes after a seeded shuffle (all of them, in file order, if no limit).
    Shuffling first keeps a small run spread over domains instead of taking the first domain."""
    if limit is None or limit >= len(probes):
        return list(probes)
    order = list(probes)
    random.Random(seed).shuffle(order)
    return order[:limit]
