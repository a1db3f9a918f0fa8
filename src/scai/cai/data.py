"""CAI data: the constitution, the shipped prompt sets, public benchmark files and splits.

Everything shipped lives in `scai/data/cai/` (written for scai, MIT). Public benchmarks
(HarmBench, JailbreakBench, StrongREJECT, XSTest) are never downloaded: `load_public` reads a
copy the user already has, and every problem with it is one `ConfigError` line naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, field_validator, model_validator

from scai.config import ConfigModel, load_yaml, validate_as
from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError, ScaiError

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "cai"
# The shipped prompt sets, named explicitly: other files in DATA_DIR (SFT demonstrations,
# calibration labels) are data too, but not prompts a rubric may judge.
PROMPT_SETS = ("red_team", "helpful", "style", "over_refusal")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


class Principle(ConfigModel):
    """One principle: what a critic should look for, and how a reviser should fix it."""

    id: str
    critique: str
    revision: str

    @field_validator("id")
    @classmethod
    def _snake_case(cls, v: str) -> str:
        if not _SNAKE.match(v):
            raise ValueError("must be snake_case (lowercase letters, digits, underscores)")
        return v

    @field_validator("critique", "revision")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


class Constitution(ConfigModel):
    """A named, versioned list of principles, read from YAML."""

    name: str
    version: str
    author: str
    principles: list[Principle]

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        # `version: 1.0` in YAML is a float; accept it rather than make authors quote it.
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _unique_ids(self) -> Constitution:
        if not self.principles:
            raise ValueError("principles: at least one principle is needed")
        seen: set[str] = set()
        for p in self.principles:
            if p.id in seen:
                raise ValueError(f"principles: duplicate id {p.id!r}")
            seen.add(p.id)
        return self

    @classmethod
    def load(cls, path: Path | str | None = None) -> Constitution:
        """The constitution at `path`, or the one shipped with scai; ConfigError if invalid."""
        path = Path(path) if path is not None else DATA_DIR / "principles.yaml"
        data = load_yaml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with name, version, author, principles")
        return validate_as(cls, data, str(path))

    def get(self, principle_id: str) -> Principle:
        """The principle with this id; ConfigError listing the known ids if there is none."""
        for p in self.principles:
            if p.id == principle_id:
                return p
        known = ", ".join(p.id for p in self.principles)
        raise ConfigError(f"constitution {self.name!r}: no principle {principle_id!r} ({known})")


class PromptItem(BaseModel):
    """One prompt with its id; `source` says where it came from (scai or a public format);
    `label` is "safe" or "unsafe" where the file says so (XSTest, a generic `label` column)."""

    id: str
    prompt: str
    category: str | None = None
    style: str | None = None
    check: str | None = None
    source: str = "scai"
    label: Literal["safe", "unsafe"] | None = None


def normalise_prompt(text: str) -> str:
    """Prompt text compared for duplicates: Unicode-normalised, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# ---------------------------------------------------------------------------------------------
# Reading files


@dataclass(frozen=True)
class _Format:
    """How one public format names its columns (all matched case-insensitively)."""

    name: str
    prefix: str
    detect: tuple[tuple[str, ...], ...]  # every group must have at least one column present
    prompt: str
    category: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    context: str | None = None
    prefix_numeric_ids: bool = False
    labels: bool = False  # reads a `label` column of safe/unsafe (XSTest: else from its type)


# Order matters: JailbreakBench files also have a `Behavior` column, so they are tried before
# HarmBench; XSTest's `prompt` column is generic, so its `type` and `focus` columns pick it out
# first; the generic `prompt` column comes last so a benchmark's own columns win.
_FORMATS = (
    _Format("strongreject", "sr", (("forbidden_prompt",),), "forbidden_prompt", ("category",)),
    _Format("jailbreakbench", "jbb", (("goal",), ("category",)), "goal", ("category",),
            ("index", "", "unnamed: 0", "behavior"), prefix_numeric_ids=True),
    _Format("harmbench", "hb", (("behavior",), ("semanticcategory", "functionalcategory")),
            "behavior", ("semanticcategory", "functionalcategory"), ("behaviorid",),
            context="contextstring"),
    _Format("xstest", "xs", (("prompt",), ("type",), ("focus",)), "prompt", ("type",),
            ("id", "id_v2", "id_v1"), prefix_numeric_ids=True, labels=True),
    _Format("generic", "p", (("prompt",),), "prompt", ("category",), ("id",), labels=True),
)
_EXPECTED = ("HarmBench (Behavior, SemanticCategory/FunctionalCategory, BehaviorID), "
             "JailbreakBench (Goal, Category), StrongREJECT (forbidden_prompt, category), "
             "XSTest (id, type, prompt, label, focus, note), or a 'prompt' column")


def _detect(columns: list[str], where: str) -> _Format:
    have = {c.strip().lower() for c in columns}
    for fmt in _FORMATS:
        if all(any(c in have for c in group) for group in fmt.detect):
            return fmt
    shown = ", ".join(repr(c) for c in columns[:8]) + (", ..." if len(columns) > 8 else "")
    raise ConfigError(f"{where}: unrecognised columns ({shown or 'none'}); expected {_EXPECTED}")


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


class _Builder:
    """Turns rows of one detected format into PromptItems, checking each as it goes."""

    def __init__(self, fmt: _Format, path: Path, source: str):
        self.fmt, self.path, self.source = fmt, path, source
        self.items: list[PromptItem] = []
        self.id_lines: dict[str, int] = {}

    def add(self, raw: dict[str, Any], line: int) -> None:
        """Check one row (`line` of the file) and keep it as a PromptItem."""
        row = {str(k).strip().lower(): v for k, v in raw.items() if k is not None}
        fmt, where = self.fmt, f"{self.path}:{line}"
        if fmt.prompt not in row:
            raise ConfigError(f"{where}: no {fmt.prompt!r} field (the file looks like {fmt.name})")
        prompt = _text(row, fmt.prompt)
        if prompt is None:
            raise ConfigError(f"{where}: {fmt.prompt!r} is empty or not text")
        context = _text(row, fmt.context) if fmt.context else None
        if context:
            # HarmBench's contextual behaviours only make sense with their context in front.
            prompt = f"{context}\n\n---\n\n{prompt}"
        item_id = next((v for c in fmt.ids if (v := _text(row, c))), None)
        if item_id is None:
            # Generated from the text, not the row number, so ids (and hence splits) survive the
            # file being reordered or extended.
            digest = hashlib.sha256(normalise_prompt(prompt).encode()).hexdigest()[:10]
            item_id = f"{fmt.prefix}-{digest}"
        elif fmt.prefix_numeric_ids and item_id.isdigit():
            item_id = f"{fmt.prefix}-{item_id}"
        if item_id in self.id_lines:
            raise ConfigError(f"{where}: duplicate id {item_id!r} (also on line "
                              f"{self.id_lines[item_id]}; a generated id means the same prompt)")
        self.id_lines[item_id] = line
        category = next((v for c in fmt.category if (v := _text(row, c))), None)
        self.items.append(PromptItem(
            id=item_id, prompt=prompt, category=category,
            style=_text(row, "style") if fmt.name == "generic" else None,
            check=_text(row, "check") if fmt.name == "generic" else None,
            source=self.source, label=self._label(row, category, where) if fmt.labels else None))

    def _label(self, row: dict[str, Any], category: str | None, where: str,
               ) -> Literal["safe", "unsafe"] | None:
        label = (_text(row, "label") or "").lower()
        if label in ("safe", "unsafe"):
            return label  # type: ignore[return-value]
        if self.fmt.name != "xstest":
            return None  # a generic file's `label` may mean anything else: not read as safety
        if label:
            raise ConfigError(f"{where}: label must be 'safe' or 'unsafe', got {label!r}")
        # XSTest v2 has no label column: its unsafe prompts are the `contrast_*` types.
        return "unsafe" if (category or "").lower().startswith("contrast_") else "safe"

    def done(self) -> list[PromptItem]:
        """Every item read; ConfigError if there were none."""
        if not self.items:
            raise ConfigError(f"{self.path}: no prompts in the file")
        return self.items


def _read_jsonl(path: Path, text: str, source: str | None) -> list[PromptItem]:
    builder: _Builder | None = None
    for n, row in jsonl_rows(path, text):
        if builder is None:
            fmt = _detect([str(k) for k in row], f"{path}:{n}")
            builder = _Builder(fmt, path, source or fmt.name)
        builder.add(row, n)
    if builder is None:
        raise ConfigError(f"{path}: no prompts in the file")
    return builder.done()


def _read_csv(path: Path, text: str) -> list[PromptItem]:
    # newline="": only \r and \n end a record, so a quoted prompt may hold any other line break.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = list(reader.fieldnames or [])
        fmt = _detect(columns, str(path))
        builder = _Builder(fmt, path, fmt.name)
        for row in reader:
            builder.add(row, reader.line_num)
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    return builder.done()


def load_public(path: Path | str, keep: Literal["safe", "unsafe"] | None = None,
                ) -> list[PromptItem]:
    """Prompts from a user's HarmBench, JailbreakBench, StrongREJECT, XSTest or generic CSV/JSONL
    file. The format is detected from the columns and recorded in each item's `source`.

    `keep="safe"` leaves out rows labelled unsafe (XSTest's contrast prompts), `keep="unsafe"`
    rows labelled safe; unlabelled rows are always kept.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        if not path.exists():
            raise ConfigError(f"{path}: file not found")
        raise ConfigError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                          f"expected .csv or .jsonl")
    text = read_text(path)
    items = _read_csv(path, text) if suffix == ".csv" else _read_jsonl(path, text, None)
    if keep is None:
        return items
    kept = [it for it in items if it.label in (None, keep)]
    if not kept:
        raise ConfigError(f"{path}: every one of its {len(items)} prompts is labelled "
                          f"{'unsafe' if keep == 'safe' else 'safe'}; none is {keep}")
    return kept


def prompt_set_names() -> list[str]:
    """The prompt sets shipped with scai (each `scai/data/cai/<name>.jsonl`)."""
    return list(PROMPT_SETS)


def load_prompts(kind: str) -> list[PromptItem]:
    """One of the prompt sets shipped with scai: 'red_team', 'helpful', 'style', 'over_refusal'."""
    if kind not in PROMPT_SETS:
        raise ConfigError(f"unknown prompt set {kind!r} (one of: {', '.join(PROMPT_SETS)})")
    path = DATA_DIR / f"{kind}.jsonl"
    return _read_jsonl(path, read_text(path), "scai")


def spread(items: list[PromptItem]) -> list[PromptItem]:
    """The items in turn by category (first of each, then second of each, ...), each category in
    file order: the first N of a set grouped by category then cover as many categories as N can."""
    groups: dict[str | None, list[PromptItem]] = {}
    for it in items:
        groups.setdefault(it.category, []).append(it)
    lanes = list(groups.values())
    return [lane[k] for k in range(max(map(len, lanes), default=0)) for lane in lanes
            if k < len(lane)]


# ---------------------------------------------------------------------------------------------
# Splits


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def split_prompts(
    items: list[PromptItem], *, eval_fraction: float, seed: int
) -> tuple[list[PromptItem], list[PromptItem]]:
    """Deterministic (train, eval) split by id: the same seed and ids give the same split in the
    same order, whatever the input order. Items with the same prompt text stay on one side."""
    if not 0.0 < eval_fraction < 1.0:
        raise ConfigError(f"eval_fraction: must be between 0 and 1 (exclusive), got {eval_fraction}")
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ScaiError(f"cannot split prompts: duplicate ids {', '.join(dup[:5])}")
    groups: dict[str, list[PromptItem]] = {}
    for it in items:
        groups.setdefault(normalise_prompt(it.prompt), []).append(it)
    # Rank each group by a hash of (seed, smallest id): independent of input order and of
    # Python's per-process hash salt.
    ordered = sorted((sorted(g, key=lambda it: it.id) for g in groups.values()),
                     key=lambda g: _rank(seed, g[0].id))
    n = len(items)
    target = min(max(round(n * eval_fraction), 1), n - 1) if n >= 2 else 0
    train: list[PromptItem] = []
    evals: list[PromptItem] = []
    for group in ordered:
        if len(evals) < target and len(evals) + len(group) < n:
            evals.extend(group)
        else:
            train.extend(group)
    return train, evals


def assert_disjoint(train: list[PromptItem], eval: list[PromptItem]) -> None:
    """Raise ScaiError naming the prompts that appear in both sets (same id or same text)."""
    by_id = {it.id: it for it in train}
    by_text = {normalise_prompt(it.prompt): it for it in train}
    clashes: list[str] = []
    for it in eval:
        other = by_id.get(it.id) or by_text.get(normalise_prompt(it.prompt))
        if other is not None:
            shown = it.prompt if len(it.prompt) <= 60 else it.prompt[:57] + "..."
            shown = " ".join(shown.split())
            clashes.append(f"{shown!r} (train {other.id}, eval {it.id})")
    if clashes:
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        raise ScaiError(f"train and eval overlap in {len(clashes)} prompt"
                        f"{'s' * (len(clashes) != 1)}: {'; '.join(clashes[:3])}{more}")
