"""The simulation file (`kind: contract`): society, task, learner, memory, epochs.

Each part owns its section's model beside the code that reads it: a game's `task:` section lives
in its module under `contract/tasks/` (chosen by `task.type` from the registry), `learner:` in
metalearn.py, `memory:` in memory.py. This module assembles them into the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path
from scai.contract.bayes import bayes_problem
from scai.contract.groups import GroupsConfig, per_group_problem
from scai.contract.memory import MemoryConfig
from scai.contract.metalearn import LearnerConfig
from scai.contract.paper import paper_curves
from scai.contract.tasks import AnyTaskConfig
from scai.contract.tasks.assistance import AssistanceTask
from scai.contract.tasks.ultimatum_config import (
    POLICIES,
    Manner,
    Policy,
    ScriptedPolicy,
    UltimatumTask,
    UserGroup,
)
from scai.llm import GenerationParams, ModelSettings

__all__ = ["POLICIES", "AssistanceTask", "ContractConfig", "LearnerConfig", "Manner",
           "MemoryConfig", "ModelSettings", "Policy", "ScriptedPolicy", "UltimatumTask",
           "UserGroup"]


class ContractConfig(ConfigModel):
    """A Social Contract simulation."""

    kind: Literal["contract"] = "contract"
    name: str = Field("contract", min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    description: str = ""
    seed: int = 0
    epochs: int = Field(3, ge=1, le=100)
    model: ModelSettings = Field(default_factory=ModelSettings, description="The assistant.")
    user_model: ModelSettings | None = Field(None, description="LLM users (default: model).")
    meta_model: ModelSettings | None = Field(None, description="The meta-learner (default: model).")
    params: GenerationParams = Field(
        default_factory=lambda: GenerationParams(temperature=0.7, max_tokens=48,
                                                 repeat_penalty=1.3))
    task: AnyTaskConfig = Field(
        default_factory=UltimatumTask,
        description="The game, chosen by `type` (ultimatum, assistance, or a registered one).")
    learner: LearnerConfig = Field(default_factory=LearnerConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    personas: Path | None = Field(None, description="Extra personas (YAML or JSONL).")
    paper_reference: str | None = Field(
        None, description="Which published SCAI curve to compare with (see data/contract/paper.yaml).")
    constitution: list[str] | None = Field(
        None, description="Start from this constitution instead of the prior.")
    # A section of its own, not inside `constitution:` (a list of principles in every file
    # written so far): how the assistant treats the task's user groups (contract/groups.py).
    groups: GroupsConfig = Field(default_factory=GroupsConfig)

    _resolve = field_validator("personas")(resolve_path)

    @model_validator(mode="after")
    def _per_group_playable(self) -> ContractConfig:
        if self.groups.mode == "per_group":
            problem = per_group_problem(self.task)
            if problem:
                raise ValueError(f"groups.mode per_group: {problem}")
        return self

    @model_validator(mode="after")
    def _learner_can_read_game(self) -> ContractConfig:
        if self.learner.type == "bayes" and not getattr(self.task, "predicts_actions", False):
            raise ValueError(bayes_problem(self.task.type))
        return self

    @model_validator(mode="after")
    def _reference_known(self) -> ContractConfig:
        if self.paper_reference is not None:
            known = paper_curves()
            if self.paper_reference not in known:
                raise ValueError(f"paper_reference: unknown {self.paper_reference!r}; one of "
                                 f"{sorted(known)}")
        return self
