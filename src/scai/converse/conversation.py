"""The conversation loop: rounds, turns, who hears whom, and the stop rules.

Every model call is a *step* with a deterministic key (`keys.step_key`), made through
`scai.steps.keyed_call`: logged as it finishes, replayed on resume, seeded from the scenario
seed and its key, so the same seed with the same cache gives the same transcript. Who speaks
when is a turn policy (`turns.py`); the moderator, memory summaries and nested deliberation are
components of their own, working through this conversation as their `Floor`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from scai.converse.agent import Agent, ScenarioState
from scai.converse.deliberation import deliberate
from scai.converse.floor import Outcome, StepCaller, Tally
from scai.converse.keys import step_key
from scai.converse.memory import memory_of
from scai.converse.scenario import AgentSpec, ConverseConfig
from scai.converse.transcript import Statement, Transcript
from scai.converse.turns import policy_for
from scai.steps import ClientPool, KeyedLog

JudgeDone = Callable[[Transcript, str], Awaitable[bool]]


class Conversation:
    """One conversation (the main one, or a deliberation nested inside an agent)."""

    def __init__(
        self, config: ConverseConfig, pool: ClientPool, log: KeyedLog, *, path: str = "",
        tally: Tally | None = None, briefing: str | None = None, year: int | None = None,
        judge_done: JudgeDone | None = None,
    ):
        self.config = config
        self.pool = pool
        self.log = log
        self.path = path
        self.tally = tally or Tally()
        self.transcript = Transcript(path=path)
        self.fixed_year = year
        self.judge_done = judge_done
        self.policy = policy_for(config)
        names = [a.name for a in config.agents]
        self.specs: dict[str, AgentSpec] = {a.name: a for a in config.agents}
        self.agents: dict[str, Agent] = {
            a.name: Agent(
                a, pool.get(a.model or config.model), others=[n for n in names if n != a.name],
                setting=config.setting, context=config.context,
            )
            for a in config.agents
        }
        self.call = StepCaller(config, log, self.tally, path=path, names=[*names, "moderator"])
        # Who hears each speaker, computed once; None means everyone.
        self.hearers: dict[str, tuple[str, ...] | None] = {}
        for speaker in names:
            hearers = tuple(a.name for a in config.agents
                            if a.hears is None or speaker in a.hears or a.name == speaker)
            self.hearers[speaker] = None if len(hearers) == len(names) else hearers
        if briefing:
            self.transcript.add(speaker="moderator", content=briefing, round=0, turn=0,
                                kind="briefing")
        self.turn = 0

    def key(self, round_: int, turn: int, what: str) -> str:
        """The step key of `what` at this round and turn in this conversation."""
        return step_key(self.path, round_, turn, what)

    def nested(self, config: ConverseConfig, *, path: str, briefing: str,
               year: int | None) -> Conversation:
        """A deliberation inside this conversation: same pool, log and tally."""
        return Conversation(config, self.pool, self.log, path=path, tally=self.tally,
                            briefing=briefing, year=year)

    def _year(self, round_: int) -> int | None:
        if self.fixed_year is not None:
            return self.fixed_year
        if self.config.start_year is None:
            return None
        return self.config.start_year + (round_ - 1) * self.config.years_per_round

    async def run(self) -> Outcome:
        """Play the rounds until one of them ends the conversation."""
        cfg = self.config
        stop = ""
        round_ = 0
        for round_ in range(1, cfg.rounds + 1):
            year = self._year(round_)
            if cfg.round_prompt:
                values = {"round": round_, "rounds": cfg.rounds, "year": year}
                self.transcript.add(
                    speaker="moderator", content=cfg.round_prompt.format(**values).strip(),
                    round=round_, turn=self.turn, kind="prompt",
                )
            stop = await self.policy.play_round(self, round_, year)
            done_key = self.key(round_, self.turn, "judge-done")
            if not stop and self.judge_done is not None and await self.judge_done(
                self.transcript, done_key
            ):
                stop = "judge"
            if stop:
                break
        return Outcome(self.transcript, stop or "rounds", round_, self.tally)

    def should_stop(self) -> str:
        """The first termination rule met ("" if none); deliberations only run their rounds."""
        t = self.config.termination
        if self.path:
            return ""
        speeches = self.transcript.speeches()
        if t.max_turns is not None and len(speeches) >= t.max_turns:
            return "max_turns"
        if t.phrase and speeches and t.phrase.lower() in speeches[-1].content.lower():
            return "phrase"
        if t.token_budget is not None and self.tally.tokens >= t.token_budget:
            return "token_budget"
        return ""

    async def give_turns(self, speakers: list[str], round_: int, year: int | None) -> None:
        """Speakers answer the same state; with several, concurrently (simultaneous moves)."""
        snapshot = list(self.transcript.statements)
        turns = list(range(self.turn, self.turn + len(speakers)))
        self.turn += len(speakers)
        results = await asyncio.gather(*(
            self._speak(s, round_, t, year, snapshot) for s, t in zip(speakers, turns)
        ))
        for speaker, turn, (text, tokens, key, nested) in zip(speakers, turns, results):
            statement = self.transcript.add(
                speaker=speaker, content=text, round=round_, turn=turn,
                kind="outcome" if nested is not None else "speech",
                visible_to=self.hearers[speaker], key=key, tokens=tokens,
            )
            if nested is not None:
                self.transcript.nested[key] = nested
            if self.tally.on_turn is not None:
                self.tally.on_turn(statement)

    async def _speak(
        self, speaker: str, round_: int, turn: int, year: int | None, snapshot: list[Statement]
    ) -> tuple[str, int, str, Transcript | None]:
        agent = self.agents[speaker]
        key = self.key(round_, turn, speaker)
        visible = [s for s in snapshot if s.visible(speaker)]
        state = ScenarioState(round=round_, rounds=self.config.rounds, year=year, speaker=speaker)
        memory = await memory_of(self, agent, visible, round_, turn)
        deliberation = self.specs[speaker].deliberation
        if deliberation is None:
            messages = agent.messages(visible, state, self.config.turn_instruction, memory)
            step = await self.call(agent.client, key, messages, "speech")
            return step.text, step.tokens, key, None
        text, tokens, board = await deliberate(self, agent, deliberation, key, visible, state,
                                               memory)
        return text, tokens, key, board
