"""What the parts of a conversation share: the tally, the keyed step caller, and the `Floor`
that turn policies, the moderator, memory and deliberation work through.

Every model call a conversation makes goes through `StepCaller`, a thin layer over
`scai.steps.keyed_call` that adds what is conversational: the seed from the scenario, the
scenario's generation parameters, stop strings at other speakers' names, and the speaker
prefix a small model likes to write stripped from its reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scai.converse.agent import Agent, strip_speaker_prefix
from scai.converse.scenario import ConverseConfig
from scai.converse.transcript import Statement, Transcript
from scai.llm import GenerationParams, Message, ModelClient
from scai.steps import ClientPool, Counts, KeyedLog, Step, keyed_call


@dataclass
class Tally(Counts):
    """Calls, tokens, replays and parse failures, shared by a conversation and its
    deliberations; `on_turn` hears every statement as it is added (progress bars)."""

    on_turn: Callable[[Statement], None] | None = None


@dataclass
class Outcome:
    """A finished conversation: its transcript, why it stopped, and how many rounds ran."""

    transcript: Transcript
    stop_reason: str
    rounds_run: int
    tally: Tally = field(default_factory=Tally)


class StepCaller:
    """One conversation's keyed model calls (replayed on resume; seeded by key)."""

    def __init__(self, config: ConverseConfig, log: KeyedLog, tally: Tally, *, path: str,
                 names: list[str]):
        self.config = config
        self.log = log
        self.tally = tally
        self.path = path
        self.names = names  # the speakers of this conversation, "moderator" last

    async def __call__(
        self, client: ModelClient, key: str, messages: list[Message], kind: str,
        schema: dict[str, Any] | None = None, max_tokens: int | None = None,
    ) -> Step:
        """One step; a reply that fails `schema` raises ParseFailure (counted in the tally)."""
        update: dict[str, Any] = {}
        if schema is not None:
            update["json_schema"] = schema
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        if schema is None:
            # Small models like to write the other participants' lines too: stop there.
            update["stop"] = tuple(dict.fromkeys(
                [*self.config.params.stop, *(f"\n{n}:" for n in self.names), "\n[Round"]))
        params = GenerationParams.model_validate({**self.config.params.model_dump(), **update})
        return await keyed_call(
            client, self.log, key, messages, params, seed=self.config.seed, kind=kind,
            extra={"path": self.path}, failures="raise", counts=self.tally,
            clean=lambda text: strip_speaker_prefix(text, self.names),
        )


class Floor(Protocol):
    """What a conversation offers the components that run it (policies, moderator, memory,
    deliberation): its parts, its step caller, and turns to give."""

    config: ConverseConfig
    pool: ClientPool
    log: KeyedLog
    tally: Tally
    transcript: Transcript
    agents: dict[str, Agent]
    call: StepCaller
    turn: int

    def key(self, round_: int, turn: int, what: str) -> str:
        """The step key of `what` at this round and turn in this conversation."""
        ...

    async def give_turns(self, speakers: list[str], round_: int, year: int | None) -> None:
        """Let `speakers` speak (several at once answer the same state)."""
        ...

    def should_stop(self) -> str:
        """Why the conversation must stop now ("" to go on)."""
        ...

    def nested(self, config: ConverseConfig, *, path: str, briefing: str,
               year: int | None) -> Floor:
        """A conversation inside this one (a deliberation), sharing its pool, log and tally."""
        ...

    async def run(self) -> Outcome:
        """Play every round (or until a stop rule fires)."""
        ...
