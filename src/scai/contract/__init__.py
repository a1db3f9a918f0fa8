"""Contract (Social Contract AI): users teach an assistant its constitution by simulation.

Games are plug-ins (`Task`, registered by `task.type`; see contract/tasks), and so are learners
(`MetaLearner`, listed in `LEARNERS`).
"""

from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, EpisodeMessage, Player
from scai.contract.metalearn import LEARNERS, LearnContext, MetaLearner
from scai.contract.persona import Persona, load_personas
from scai.contract.result import SimulationResult
from scai.contract.simulate import RunResult, simulate
from scai.contract.tasks import TASKS, Task, TaskConfig, register_task

__all__ = [
    "LEARNERS", "TASKS", "Constitution", "ContractConfig", "Episode", "EpisodeMessage",
    "LearnContext", "MetaLearner", "Persona", "Player", "RunResult", "SimulationResult", "Task",
    "TaskConfig", "load_personas", "register_task", "simulate",
]
