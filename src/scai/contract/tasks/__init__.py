"""The Social Contract games, by the config's `task.type` (see `base.py` for the protocol).

Adding a game: a module here with its config class, its outcome and its `Task`, its prompts in
`contract/prompts.yaml`, and its class in `BUILT_IN` below (a test or a plug-in may instead call
`register_task` itself).
"""

from scai.contract.tasks.assistance import Assistance
from scai.contract.tasks.base import (
    TASKS,
    AnyTaskConfig,
    Observation,
    Panel,
    Table,
    Task,
    TaskConfig,
    register_task,
    task_for,
)
from scai.contract.tasks.dictator import Dictator
from scai.contract.tasks.public_goods import PublicGoods
from scai.contract.tasks.ultimatum import Ultimatum

# this order is the one errors list
BUILT_IN: tuple[type[Task], ...] = (Ultimatum, Assistance, Dictator, PublicGoods)
for _task in BUILT_IN:
    register_task(_task)

__all__ = ["BUILT_IN", "TASKS", "AnyTaskConfig", "Observation", "Panel", "Table", "Task",
           "TaskConfig", "register_task", "task_for"]
