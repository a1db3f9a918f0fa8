"""CAI evaluation rubrics as data: the shipped ones (scai/data/cai/rubrics.yaml) and any a
config adds under `evaluate.rubrics`.

Everything CAI evaluation knows about its metrics comes from these entries: the judge prompt
and schema, the prompt set judged and how many prompts (`evaluate.<prompts>`, per --profile too),
the combined score, the metric names in results, tables and plots.
"""

from __future__ import annotations

import itertools
from functools import cache

from pydantic import Field, model_validator

from scai.cai.data import DATA_DIR, prompt_set_names
from scai.cai.judge import NEEDS, STATISTICS
from scai.config import load_yaml, validate_as
from scai.errors import ConfigError
from scai.rubric import Rubric

# What a CAI judge prompt may use: the request, the reply, and what a style prompt asks for.
VARIABLES = ("prompt", "reply", "check")
MAX_COUNT = 100_000


class CaiRubric(Rubric):
    """A rubric CAI evaluation judges every model on, with the prompts it is judged on."""

    prompts: str = Field(description="The prompt set judged (a shipped set: red_team, helpful, "
                         "style); a split set contributes its held-out side only.")
    count: int | None = Field(None, ge=0, le=MAX_COUNT, description="Prompts used by default "
                              "(None: as an earlier rubric on the same set).")
    profiles: dict[str, int] = Field(default_factory=dict,
                                     description="Prompts used under each --profile.")
    report: list[str] = Field(default_factory=list, description="Metrics reported, in order: the "
                              "rubric's name is its mean score, other names are statistics.")
    max_tokens: int = Field(48, ge=8, le=4096, description="The judge's reply budget.")

    @model_validator(mode="after")
    def _usable(self) -> CaiRubric:
        if not self.prompt.strip():
            raise ValueError(f"rubric {self.name}: prompt: the judge prompt is empty")
        unknown = self.variables() - set(VARIABLES)
        if unknown:
            raise ValueError(f"rubric {self.name}: prompt uses {sorted(unknown)}; "
                             f"available: {', '.join(VARIABLES)}")
        if self.prompts not in prompt_set_names():
            raise ValueError(f"rubric {self.name}: prompts: unknown prompt set {self.prompts!r} "
                             f"(one of: {', '.join(prompt_set_names())})")
        fields = {m.name for m in self.metrics}
        for name in self.report:
            if name != self.name and name not in STATISTICS:
                raise ValueError(f"rubric {self.name}: report: unknown metric {name!r} (its own "
                                 f"name or one of: {', '.join(STATISTICS)})")
            if not NEEDS.get(name, set()) <= fields:
                raise ValueError(f"rubric {self.name}: report: {name} needs the fields "
                                 f"{sorted(NEEDS[name])}")
        return self

    @property
    def reported(self) -> list[str]:
        """The metric names this rubric puts in results, in order."""
        return self.report or [self.name]


@cache
def shipped_rubrics() -> dict[str, CaiRubric]:
    """The rubrics shipped with scai, by name, in file order."""
    path = DATA_DIR / "rubrics.yaml"
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of rubric name -> entry")
    return {name: validate_as(CaiRubric, {"name": name, **body}, f"{path}: {name}")
            for name, body in data.items()}


def with_added(extra: list[CaiRubric]) -> list[CaiRubric]:
    """The shipped rubrics, each replaced by an added one of the same name, then the new ones."""
    added = {r.name: r for r in extra}
    merged = [added.pop(name, r) for name, r in shipped_rubrics().items()]
    return merged + list(added.values())


def metric_names(rubrics: list[CaiRubric]) -> list[str]:
    """Every reported metric, in rubric order (the columns of tables and plots)."""
    return [name for r in rubrics for name in r.reported]


def metric_bounds(rubrics: list[CaiRubric]) -> dict[str, tuple[float, float]]:
    """What each reported metric can be: a statistic is a share (0..1); a rubric's own score
    spans its combiner's values over the corners of its fields' ranges (the combiners are
    linear in each field)."""
    out: dict[str, tuple[float, float]] = {}
    for r in rubrics:
        for name in r.reported:
            if name in STATISTICS:
                out[name] = (0.0, 1.0)
            elif name == r.name:
                corners = [r.score(dict(zip([m.name for m in r.metrics], c, strict=True)))
                           for c in itertools.product(*((m.min, m.max) for m in r.metrics))]
                out[name] = (min(corners), max(corners))
    return out


def default_counts(rubrics: list[CaiRubric]) -> dict[str, int]:
    """Prompts per prompt set: the first count a rubric on that set declares."""
    counts: dict[str, int] = {}
    for r in rubrics:
        if r.count is not None:
            counts.setdefault(r.prompts, r.count)
    missing = sorted({r.prompts for r in rubrics} - set(counts))
    if missing:
        raise ConfigError(f"evaluate.rubrics: no count for the prompt set(s) {', '.join(missing)}")
    return counts


def profile_counts(profile: str) -> dict[str, int]:
    """Prompts per prompt set under a --profile, from the shipped rubrics."""
    counts: dict[str, int] = {}
    for r in shipped_rubrics().values():
        if profile in r.profiles:
            counts.setdefault(r.prompts, r.profiles[profile])
    return counts
