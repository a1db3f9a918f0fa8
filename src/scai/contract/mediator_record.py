"""What one mediation leaves: the opinions, the candidates, every member's ranking, what every
rule would have elected on those rankings, the critique-and-revise rounds and the endorsements.

The record travels inside the learned constitution (`Constitution.mediation`), so it is stored
with the `constitution` event the loop logs (`c{epoch}`) and read back with it on a resume.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from scai.contract.social_choice import Rule


class MemberVote(BaseModel):
    """One member's part: its opinion, ranking, critiques and endorsement of the final text."""

    id: str
    name: str
    kind: Literal["scripted", "llm"]
    group: str | None = None
    ideal: float | None = Field(None, description="Scripted: the generosity it wants (hidden "
                                "from the others; recorded for the analysis).")
    opinion: str = ""
    ranking: list[int] = Field(default_factory=list, description="Candidate indices, best first.")
    repaired: int = Field(0, description="LLM: letters its ranking missed (appended in the "
                          "order it was shown them).")
    utilities: list[float] | None = Field(None, description="Scripted: utility of each candidate.")
    winner_rank: int = Field(0, description="Where it ranked the elected candidate (1 = first).")
    critiques: list[str] = Field(default_factory=list, description="One per round.")
    endorsement: float | None = Field(None, description="Of the final text: LLM a 1-5 rating "
                                      "(None if unreadable); scripted its utility (0-1).")


class RuleOutcome(BaseModel):
    """What one rule elects on the members' rankings, and (scripted) what that gives them."""

    winner: int
    mean_utility: float | None = None
    min_utility: float | None = None


class RevisionRound(BaseModel):
    """One critique-and-revise round: the revision, who preferred it, whether it replaced."""

    round: int
    revision: str | None = Field(None, description="None: no usable revision this round.")
    preferred_by: int = Field(0, description="Members who preferred the revision.")
    adopted: bool = False
    note: str = ""


class Mediation(BaseModel):
    """One epoch's deliberation, from opinions to the final text."""

    epoch: int
    rule: Rule
    drafter: str
    candidates: list[str]
    members: list[MemberVote]
    outcomes: dict[str, RuleOutcome] = Field(description="Every rule on the same rankings.")
    condorcet: int | None = Field(None, description="The Condorcet winner, if there is one.")
    winner: int = Field(description="The candidate the selected rule elected.")
    rounds: list[RevisionRound] = Field(default_factory=list)
    final: str
    final_mean_utility: float | None = None
    final_min_utility: float | None = None
    endorsement_scale: Literal["rating 1-5", "utility 0-1"]

    @property
    def scripted(self) -> bool:
        """Every member's utilities are known (the rules' utilities can be compared)."""
        return all(m.utilities is not None for m in self.members)


def mediation_of(constitution: Any) -> Mediation | None:
    """The mediation behind a constitution (a `Constitution`, whose model holds this record, or
    a stored `constitution` payload)."""
    if not isinstance(constitution, dict):
        return constitution.mediation
    if isinstance(constitution.get("mediation"), dict):
        try:
            return Mediation.model_validate(constitution["mediation"])
        except ValueError:
            return None
    return None


def mediations(constitutions: Iterable[Any]) -> list[Mediation]:
    """Every mediation found among `constitutions`, in their order."""
    return [m for c in constitutions if (m := mediation_of(c)) is not None]
