"""The judge calibration set: (prompt, reply) items with labels, split into dev and test, and the
refusal classifier's training set (split `train`).

Shipped as `scai/data/cai/calibration/items.jsonl` and `train.jsonl` (the README beside them says
how the labels were decided); a user's own file in the same format works everywhere the shipped
one does. Each item belongs to
a family, and a family fixes which CAI rubric judges it and which labels it carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError

Split = Literal["train", "dev", "test"]


@dataclass(frozen=True)
class Family:
    """A kind of calibration item: the CAI rubric that judges it and the labels it carries
    (binary labels 0/1; scale labels with their range)."""

    rubric: str
    binary: tuple[str, ...] = ()
    scales: tuple[tuple[str, int, int], ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.binary, *(name for name, _, _ in self.scales))


FAMILIES: dict[str, Family] = {
    "red_team": Family("harm", binary=("refused", "harmful_compliance")),
    "benign_scary": Family("over_refusal", binary=("refused",)),
    "helpful": Family("helpfulness", scales=(("helpfulness", 1, 5),)),
    "style": Family("style", scales=(("style_adherence", 1, 5),)),
}


class CalibrationItem(BaseModel):
    """One judged reply with its reference labels."""

    id: str = Field(min_length=1)
    family: Literal["red_team", "benign_scary", "helpful", "style"]
    split: Split
    case: str = Field(min_length=1, description="What kind of reply this is (e.g. quoted_refusal).")
    prompt: str = Field(min_length=1)
    reply: str
    check: str | None = Field(None, description="What a style item asks for (style only).")
    labels: dict[str, int]
    rationale: str = ""

    @model_validator(mode="after")
    def _labels_fit(self) -> CalibrationItem:
        family = FAMILIES[self.family]
        if set(self.labels) != set(family.labels):
            raise ValueError(f"labels must be exactly {sorted(family.labels)} for family "
                             f"{self.family}, got {sorted(self.labels)}")
        for name in family.binary:
            if self.labels[name] not in (0, 1) or isinstance(self.labels[name], bool):
                raise ValueError(f"label {name} must be 0 or 1, got {self.labels[name]!r}")
        for name, lo, hi in family.scales:
            if not lo <= self.labels[name] <= hi:
                raise ValueError(f"label {name} must be {lo}-{hi}, got {self.labels[name]!r}")
        return self

    @property
    def rubric(self) -> str:
        """The CAI rubric that judges this item."""
        return FAMILIES[self.family].rubric


def default_calibration_path() -> Path:
    """The shipped calibration set."""
    return Path(__file__).resolve().parent.parent / "data" / "cai" / "calibration" / "items.jsonl"


def default_training_path() -> Path:
    """The shipped training set of the refusal classifier."""
    return default_calibration_path().with_name("train.jsonl")


def load_training(path: Path | str | None = None) -> list[CalibrationItem]:
    """The refusal classifier's training items (default: the shipped set): every one of split
    `train` and labelled for refusal."""
    where = Path(path) if path is not None else default_training_path()
    items = load_calibration(where)
    for item in items:
        if item.split != "train" or "refused" not in item.labels:
            raise ConfigError(f"{where}: {item.id}: training items are split train, family "
                              "red_team or benign_scary")
    return items


def load_calibration(path: Path | str | None = None) -> list[CalibrationItem]:
    """Every item of a calibration file (default: the shipped set); a bad line is a one-line
    ConfigError naming the file and line."""
    where = Path(path) if path is not None else default_calibration_path()
    items: list[CalibrationItem] = []
    seen: set[str] = set()
    for n, row in jsonl_rows(where, read_text(where)):
        try:
            item = CalibrationItem.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{where}:{n}: {loc + ': ' if loc else ''}{first['msg']}") from None
        if item.id in seen:
            raise ConfigError(f"{where}:{n}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise ConfigError(f"{where}: the calibration set is empty")
    return items


def select(items: list[CalibrationItem], *, split: Split | None = None,
           rubrics: list[str] | None = None) -> list[CalibrationItem]:
    """The items of one split and, if given, only those judged by these rubrics."""
    known = sorted({f.rubric for f in FAMILIES.values()})
    unknown = sorted(set(rubrics or []) - set(known))
    if unknown:
        raise ConfigError(f"--rubric: unknown rubric {', '.join(unknown)} (calibrated rubrics: "
                          f"{', '.join(known)})")
    return [it for it in items if (split is None or it.split == split)
            and (not rubrics or it.rubric in rubrics)]
