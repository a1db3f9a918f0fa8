"""The scenario file (`kind: converse`): agents, visibility, turn policy, termination, judges."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, model_validator

from scai.config import ConfigModel
from scai.llm import GenerationParams, ModelSettings
from scai.rubric import JudgeSpec


def check_template(text: str | None, allowed: set[str], where: str) -> None:
    """A template may use only the placeholders it will be given (and must parse)."""
    if not text:
        return
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (write {{{{ and }}}} for literal braces)") from None
    unknown = used - allowed
    if unknown:
        raise ValueError(
            f"{where}: unknown placeholder(s) {sorted(unknown)}; available: {sorted(allowed)}"
        )


SLIDING = ("drop_oldest", "summarise")  # the window moves one statement a turn (as recorded)
SUMMARISING = ("summarise", "summarise_block")


class ContextPolicy(ConfigModel):
    """How an agent's view of a long conversation is kept within its token budget.

    The block policies (the default) drop a block of the oldest statements when the budget is
    exceeded, down to `low_water`, so the prompt stays the same but for its end for many turns
    (docs/prefix-reuse.md). The sliding ones drop one statement a turn, as runs recorded before
    block trimming did, so those resume unchanged.
    """

    max_tokens: int = Field(1536, ge=64, description="Budget for the conversation part of a prompt.")
    policy: Literal["drop_block", "summarise_block", "drop_oldest", "summarise"] = Field(
        "drop_block",
        description="What falls out of the budget is dropped (with a note of how many) or "
        "summarised: drop_block and summarise_block cut a block at a time; drop_oldest and "
        "summarise slide one statement a turn.",
    )
    low_water: float = Field(
        0.6, gt=0, le=1,
        description="Block policies: a cut keeps the newest statements that fit in this "
        "fraction of max_tokens (1.0 slides like drop_oldest). The sliding policies ignore it.",
    )
    keep_last: int = Field(2, ge=1, description="The newest statements are always kept whole.")

    @property
    def sliding(self) -> bool:
        """Does the window move one statement a turn (drop_oldest, summarise)?"""
        return self.policy in SLIDING

    @property
    def summarises(self) -> bool:
        """Is what falls out of the window summarised (not just counted)?"""
        return self.policy in SUMMARISING

    def low_mark(self, budget: int) -> int:
        """What a cut trims a window of `budget` down to (all of it when sliding)."""
        return budget if self.sliding else int(budget * self.low_water)


class Deliberation(ConfigModel):
    """A private conversation among an agent's own sub-agents before the agent speaks."""

    members: list[AgentSpec] = Field(min_length=1)
    rounds: int = Field(1, ge=1, le=20)
    turn_policy: TurnPolicy = Field(default_factory=lambda: TurnPolicy())
    outcome: Literal["chair", "summary"] = Field(
        "chair",
        description="'chair': the chair member writes the statement the agent makes; "
        "'summary': the agent itself speaks, given a summary of the deliberation.",
    )
    chair: str | None = Field(None, description="Which member writes the outcome (default: first).")
    prompt: str = Field(
        "Deliberate privately about how {agent} should respond. Be brief and concrete.",
        description="Opens the deliberation; variables: {agent}, {round}, {year}.",
    )

    @model_validator(mode="after")
    def _chair_is_member(self) -> Deliberation:
        check_template(self.prompt, {"agent", "round", "year"}, "deliberation.prompt")
        names = [m.name for m in self.members]
        if self.chair is not None and self.chair not in names:
            raise ValueError(f"chair {self.chair!r} is not one of the members {names}")
        if len(set(names)) != len(names):
            raise ValueError("member names must be unique")
        return self


class AgentSpec(ConfigModel):
    """One participant."""

    name: str = Field(min_length=1, max_length=60, pattern=r"^[^/|]+$")
    persona: str = Field(description="Who the agent is and how it behaves (its system prompt).")
    private_notes: str | None = Field(
        None, description="Known only to this agent (e.g. a reservation price)."
    )
    model: ModelSettings | None = Field(None, description="Overrides the scenario's model.")
    hears: list[str] | None = Field(
        None, description="Whose statements this agent can see (default: everyone's)."
    )
    deliberation: Deliberation | None = None


class TurnPolicy(ConfigModel):
    """Who speaks when."""

    type: Literal["round_robin", "fixed_order", "simultaneous", "moderator"] = Field(
        "round_robin",
        description="round_robin: everyone each round, the first speaker rotating; fixed_order: "
        "`order` every round; simultaneous: all answer the same state in parallel; moderator: a "
        "model picks each next speaker or ends the round.",
    )
    order: list[str] | None = Field(None, description="Speakers per round for fixed_order.")
    moderator_model: ModelSettings | None = Field(None, description="Default: scenario model.")
    moderator_prompt: str = Field(
        "You chair this conversation. Pick who should speak next so that the discussion "
        "advances, END the round when everyone has been heard, or STOP the conversation when "
        "it has reached its conclusion.",
    )
    max_turns_per_round: int = Field(6, ge=1, description="Moderator: most turns in a round.")
    moderator_can_stop: bool = Field(
        True, description="Moderator: may answer STOP to end the whole conversation."
    )


class Termination(ConfigModel):
    """Stop at the first condition met (checked after every turn; rounds always bound a run)."""

    max_turns: int | None = Field(None, ge=1)
    phrase: str | None = Field(None, description="Stop when any statement contains this text.")
    token_budget: int | None = Field(None, ge=1, description="Stop after this many tokens in total.")
    judge: bool = Field(
        False, description="After each round, ask the first judge whether the conversation is over."
    )


class ConverseConfig(ConfigModel):
    """A multi-agent conversation scenario."""

    kind: Literal["converse"] = "converse"
    name: str = "conversation"
    description: str = ""
    model: ModelSettings = Field(default_factory=ModelSettings)
    params: GenerationParams = Field(
        default_factory=lambda: GenerationParams(temperature=0.8, max_tokens=160)
    )
    seed: int = 0
    setting: str = Field("", description="Shared background given to every agent.")
    rounds: int = Field(3, ge=1, le=500)
    start_year: int | None = Field(None, description="If set, {year} advances each round.")
    years_per_round: int = 1
    round_prompt: str | None = Field(
        None, description="Announced to everyone at each round's start; {round}, {year} filled."
    )
    turn_instruction: str = Field(
        "Respond to the latest statements in character. Be concise (at most 120 words).",
        description="Closes each agent's prompt, after the explicit scenario state.",
    )
    agents: list[AgentSpec] = Field(min_length=1)
    turn_policy: TurnPolicy = Field(default_factory=TurnPolicy)
    termination: Termination = Field(default_factory=Termination)
    context: ContextPolicy = Field(default_factory=ContextPolicy)
    judges: list[JudgeSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_consistent(self) -> ConverseConfig:
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique, got {names}")
        if "moderator" in names:
            raise ValueError("'moderator' is reserved for scenario announcements")
        for agent in self.agents:
            for heard in agent.hears or []:
                if heard not in names:
                    raise ValueError(f"agent {agent.name!r} hears unknown agent {heard!r}")
        if self.turn_policy.type == "fixed_order":
            if not self.turn_policy.order:
                raise ValueError("turn_policy.order is required for fixed_order")
            unknown = set(self.turn_policy.order) - set(names)
            if unknown:
                raise ValueError(f"turn_policy.order names unknown agents {sorted(unknown)}")
        if self.termination.judge and not self.judges:
            raise ValueError("termination.judge needs at least one judge")
        check_template(self.round_prompt, {"round", "rounds", "year"}, "round_prompt")
        if self.round_prompt and "{year}" in self.round_prompt and self.start_year is None:
            raise ValueError("round_prompt uses {year}: set start_year")
        return self


Deliberation.model_rebuild()
