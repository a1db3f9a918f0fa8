"""Contract (Social Contract AI): users teach an assistant its constitution by simulation.

Games are plug-ins (`Task`, registered by `task.type`; see contract/tasks), and so are learners
(`MetaLearner`, listed in `LEARNERS`). The constitution is shared, or one per user group with a
router choosing which one the assistant follows (`GroupsConfig`; groups.py, router.py).
"""

from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, EpisodeMessage, Player
from scai.contract.groups import GroupsConfig
from scai.contract.metalearn import LEARNERS, LearnContext, MetaLearner
from scai.contract.persona import Persona, load_personas
from scai.contract.result import SimulationResult
from scai.contract.router import Route
from scai.contract.simulate import RunResult, simulate
from scai.contract.tasks import TASKS, Task, TaskConfig, register_task

__all__ = [
    "LEARNERS", "TASKS", "Constitution", "ContractConfig", "Episode", "EpisodeMessage",
    "GroupsConfig", "LearnContext", "MetaLearner", "Persona", "Player", "Route", "RunResult",
    "SimulationResult", "Task", "TaskConfig", "load_personas", "register_task", "simulate",
]
