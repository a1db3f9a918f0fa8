"""Contract (Social Contract AI): users teach an assistant its constitution by simulation."""

from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, EpisodeMessage, Player
from scai.contract.persona import Persona, load_personas
from scai.contract.simulate import RunResult, simulate

__all__ = [
    "Constitution", "ContractConfig", "Episode", "EpisodeMessage", "Persona", "Player",
    "RunResult", "load_personas", "simulate",
]
