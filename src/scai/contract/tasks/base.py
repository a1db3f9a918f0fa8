"""The task protocol: what a Social Contract game declares, and the registry of games.

A game is a `TaskConfig` (its section of the config file, chosen by `task.type`), a typed outcome
(the `data` of its episodes) and a `Task`: its prompts, its structured actions, how an epoch is
played, its metrics, what a meta-learner observes and is told, its banned words and its plots.
`register_task` adds one to `TASKS`; the config file, the loop, the learners, the command line and
the report all read the game through this protocol and nothing else.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import core_schema

from scai.config import ConfigModel
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.persona import Persona
from scai.contract.prompts import PROMPTS
from scai.contract.steps import Caller
from scai.errors import ConfigError
from scai.llm import ModelSettings
from scai.prompts import PromptBook

OnEpisode = Callable[[Episode, bool], None]


class TaskConfig(ConfigModel):
    """Base of a game's config section; `type` names the game in `TASKS`."""

    type: str
    # What the game lets a learner or a router do (checked when the config file is read):
    # `predicts_actions`: the game says how the assistant would act under a principle (the
    # bayes learner's likelihood); `one_user_at_a_time`: the assistant faces one user per game,
    # so a router can choose a constitution per user (per-group constitutions).
    predicts_actions: ClassVar[bool] = False
    one_user_at_a_time: ClassVar[bool] = False



@dataclass
class Observation:
    """A choice a user made between two options (what a voting learner tests principles on)."""

    situation: str
    chosen: str
    other: str


@dataclass(frozen=True)
class Panel:
    """One plot of a game's metrics per epoch: series label -> metric name.

    `prefix` adds one series per metric starting with it (e.g. `persona:` per person); `right`
    series are drawn on a second axis from 0 to 1 (e.g. a Gini beside ratings). A metric `m` that
    comes with `m:ci_low` and `m:ci_high` (a 95% CI within the run) gets that band when the
    figure shows one run.
    """

    name: str
    title: str
    ylabel: str
    series: dict[str, str] = field(default_factory=dict)
    unit_range: bool = False
    prefix: str | None = None
    right: dict[str, str] = field(default_factory=dict)
    right_ylabel: str = ""


@dataclass
class Table:
    """What a game is played with: the run's step maker, its models and its people."""

    steps: Caller
    model: ModelSettings  # the assistant (flexible agents)
    user_model: ModelSettings  # LLM users
    personas: list[Persona]

    @property
    def seed(self) -> int:
        """The run's seed (every draw of the game derives from it)."""
        return self.steps.seed


class Task(ABC):
    """One game. Subclasses set the class attributes and implement the abstract methods."""

    type: ClassVar[str]
    config: ClassVar[type[TaskConfig]]
    outcome: ClassVar[type[BaseModel]]  # the typed `data` of this game's episodes
    prompts: ClassVar[PromptBook] = PROMPTS
    game_words: ClassVar[tuple[str, ...]] = ()  # a general principle never names the game
    shown: ClassVar[tuple[str, ...]] = ()  # metrics in summary.md's table, in order
    brief: ClassVar[tuple[str, ...]] = ()  # the few the command line prints
    panels: ClassVar[tuple[Panel, ...]] = ()  # the dashboard's and `scai report`'s curves
    summary_plot: ClassVar[str | None] = None  # the panel drawn beside summary.md
    # (metric, label) compared with data/contract/paper.yaml when a config names a reference
    paper_metric: ClassVar[tuple[str, str] | None] = None

    def __init__(self, cfg: TaskConfig, table: Table):
        self.cfg = cfg
        self.table = table

    @classmethod
    def episode(cls, payload: dict[str, Any]) -> Episode:
        """A recorded episode of this game, with typed data (old records load too)."""
        return Episode[cls.outcome].model_validate(payload)  # type: ignore[name-defined]

    def prior(self) -> str:
        """The name of the starting inclination drawn for this run."""
        return "given"

    @abstractmethod
    def initial_constitution(self, prior: str) -> Constitution:
        """The constitution of epoch 0 when the config gives none."""

    @classmethod
    @abstractmethod
    def per_epoch(cls, cfg: TaskConfig) -> int:
        """Episodes in one epoch of a game configured by `cfg` (for progress)."""

    @abstractmethod
    async def play_epoch(self, epoch: int, constitution: Constitution, done: dict[str, Episode],
                         on_episode: OnEpisode) -> list[Episode]:
        """Every episode of `epoch`; those in `done` are replayed, not played again."""

    @abstractmethod
    def metrics(self, episodes: list[Episode]) -> dict[str, float | None]:
        """The epoch's metrics (include `parse_failures`)."""

    @abstractmethod
    def score_text(self, metrics: dict[str, float | None]) -> str:
        """How a constitution did, as the meta-learner reads it in the history."""

    @abstractmethod
    def objective(self) -> str:
        """What the meta-learner is told to aim for."""

    def observations(self, episodes: list[Episode]) -> list[Observation]:
        """Choices users made, for learners that test principles against them."""
        return []

    def banned_words(self) -> list[str]:
        """Words (besides `game_words`) a general principle must not use."""
        return []

    @classmethod
    def headline(cls, episode: Episode) -> str:
        """One line naming what happened in an episode (the report's fold titles)."""
        return episode.task

    @classmethod
    def eval_variants(cls, cfg: TaskConfig) -> list[tuple[str, TaskConfig]]:
        """Named variants of `cfg` for `evaluate-constitution` (none by default)."""
        raise ConfigError(f"evaluate-constitution: the {cls.type} task has no out-of-"
                          "distribution variants; the --task config must be an ultimatum task")


async def play_all(plans: list[tuple[str, Callable[[], Awaitable[Episode]]]],
                   done: dict[str, Episode], on_episode: OnEpisode) -> list[Episode]:
    """Play (id, play) plans concurrently, in order; an id already in `done` is replayed."""

    async def one(eid: str, play: Callable[[], Awaitable[Episode]]) -> Episode:
        if eid in done:
            on_episode(done[eid], True)
            return done[eid]
        ep = await play()
        on_episode(ep, False)
        return ep

    return list(await asyncio.gather(*(one(eid, play) for eid, play in plans)))


TASKS: dict[str, type[Task]] = {}


def register_task(task: type[Task]) -> type[Task]:
    """Add a game to `TASKS` under its config's `type` (usable as a class decorator)."""
    TASKS[task.type] = task
    return task


def task_for(cfg: TaskConfig) -> type[Task]:
    """The game a config section belongs to."""
    return TASKS[cfg.type]


def task_types(capability: str) -> list[str]:
    """The registered games' `type`s whose config has `capability` set, in registry order."""
    return [name for name, task in TASKS.items() if getattr(task.config, capability, False)]


_adapters: dict[tuple[type[TaskConfig], ...], TypeAdapter] = {}


def _adapter() -> TypeAdapter:
    configs = tuple(t.config for t in TASKS.values())
    if configs not in _adapters:
        union = Union[configs]  # noqa: UP007  (built at run time from the registry)
        _adapters[configs] = TypeAdapter(Annotated[union, Field(discriminator="type")])
    return _adapters[configs]


class _AnyTask:
    """Validates a `task:` section as whichever registered game its `type` names."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        def validate(value: Any, info: core_schema.ValidationInfo) -> TaskConfig:
            return _adapter().validate_python(value, context=info.context)

        def dump(value: TaskConfig, info: core_schema.SerializationInfo) -> Any:
            return value.model_dump(mode=info.mode)

        return core_schema.with_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(
                dump, info_arg=True))


AnyTaskConfig = Annotated[TaskConfig, _AnyTask]
