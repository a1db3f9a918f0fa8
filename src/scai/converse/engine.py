"""The conversation engine: turn policies, termination, nested deliberation, resumable steps.

Every model call is a *step* with a deterministic key (path, round, turn, speaker). Steps are
logged to the run store as they finish; a resumed run replays logged steps instead of calling
the model, and each step's seed is derived from the scenario seed and its key, so the same seed
with the same cache gives the same transcript.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scai.converse.agent import PROMPTS, Agent, ScenarioState, render_statement, trim
from scai.converse.scenario import AgentSpec, ConverseConfig
from scai.converse.transcript import Statement, Transcript
from scai.errors import ParseFailure
from scai.llm import CallRecord, GenerationParams, Message, ModelClient, ModelSettings
from scai.llm.backend import Backend
from scai.llm.cache import ResponseCache
from scai.store import Run

END = "END"  # the moderator ends the round
STOP = "STOP"  # the moderator ends the conversation


def derive_seed(seed: int, key: str) -> int:
    """A per-step seed: stable for (seed, key), different across steps."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:4], "big") % (2**31 - 1)


def strip_speaker_prefix(text: str, names: list[str]) -> str:
    """Drop a leading 'Name:' that a model wrote before its own words."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for name in names:
            for prefix in (f"{name}:", f"[{name}]", f"**{name}**:"):
                if text.startswith(prefix):
                    text = text[len(prefix):].lstrip()
                    changed = True
    return text


class ClientPool:
    """One ModelClient per distinct model setting, sharing a cache and a call logger."""

    def __init__(
        self, default: ModelSettings, *, cache: ResponseCache | bool | None = True,
        on_call: Callable[[CallRecord], None] | None = None, backend: Backend | None = None,
    ):
        self.default = default
        self.backend = backend  # one backend for every model: scripted tests
        self.cache = ResponseCache() if cache is True else (cache or None)
        self.on_call = on_call
        self._clients: dict[str, ModelClient] = {}

    def get(self, settings: ModelSettings | None = None) -> ModelClient:
        settings = settings or self.default
        key = settings.model_dump_json()
        if key not in self._clients:
            self._clients[key] = ModelClient(
                settings, cache=self.cache, on_call=self.on_call, backend=self.backend)
        return self._clients[key]

    def clients(self) -> list[ModelClient]:
        return list(self._clients.values())


class StepLog:
    """Finished steps by key: read back on resume, appended to the run as they finish."""

    def __init__(self, run: Run | None = None):
        self.run = run
        self._done: dict[str, dict[str, Any]] = (
            {e.key: e.payload for e in run.events("step") if e.key} if run else {}
        )
        self.replayed = 0

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._done.get(key)
        if found is not None:
            self.replayed += 1
        return found

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self._done[key] = payload
        if self.run is not None:
            self.run.log("step", payload, key=key)

    def event(self, type_: str, payload: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.log(type_, payload)


@dataclass
class Tally:
    """Shared across a conversation and its deliberations."""

    tokens: int = 0
    calls: int = 0
    parse_failures: int = 0
    on_turn: Callable[[Statement], None] | None = None


@dataclass
class Outcome:
    transcript: Transcript
    stop_reason: str
    rounds_run: int
    tally: Tally = field(default_factory=Tally)


class Conversation:
    """One conversation (the main one, or a deliberation nested inside an agent)."""

    def __init__(
        self, config: ConverseConfig, pool: ClientPool, log: StepLog, *, path: str = "",
        tally: Tally | None = None, briefing: str | None = None, year: int | None = None,
        judge_done: Callable[[Transcript, str], Any] | None = None,
    ):
        self.config = config
        self.pool = pool
        self.log = log
        self.path = path
        self.tally = tally or Tally()
        self.transcript = Transcript(path=path)
        self.fixed_year = year
        self.judge_done = judge_done
        names = [a.name for a in config.agents]
        self.specs: dict[str, AgentSpec] = {a.name: a for a in config.agents}
        self.agents: dict[str, Agent] = {
            a.name: Agent(
                a, pool.get(a.model or config.model), others=[n for n in names if n != a.name],
                setting=config.setting, context=config.context,
            )
            for a in config.agents
        }
        self.hearers: dict[str, tuple[str, ...] | None] = {}
        for speaker in names:
            hearers = tuple(a.name for a in config.agents
                            if a.hears is None or speaker in a.hears or a.name == speaker)
            self.hearers[speaker] = None if len(hearers) == len(names) else hearers
        if briefing:
            self.transcript.add(speaker="moderator", content=briefing, round=0, turn=0,
                                kind="briefing")
        self._turn = 0

    # -- the loop ---------------------------------------------------------------------------
    def _key(self, round_: int, turn: int, what: str) -> str:
        return f"{self.path or 'main'}|r{round_}|t{turn}|{what}"

    def _year(self, round_: int) -> int | None:
        if self.fixed_year is not None:
            return self.fixed_year
        if self.config.start_year is None:
            return None
        return self.config.start_year + (round_ - 1) * self.config.years_per_round

    async def run(self) -> Outcome:
        cfg = self.config
        stop = ""
        round_ = 0
        for round_ in range(1, cfg.rounds + 1):
            year = self._year(round_)
            if cfg.round_prompt:
                values = {"round": round_, "rounds": cfg.rounds, "year": year}
                self.transcript.add(
                    speaker="moderator", content=cfg.round_prompt.format(**values).strip(),
                    round=round_,
                    turn=self._turn, kind="prompt",
                )
            stop = await self._play_round(round_, year)
            done_key = self._key(round_, self._turn, "judge-done")
            if not stop and self.judge_done is not None and await self.judge_done(
                self.transcript, done_key
            ):
                stop = "judge"
            if stop:
                break
        return Outcome(self.transcript, stop or "rounds", round_, self.tally)

    async def _play_round(self, round_: int, year: int | None) -> str:
        policy = self.config.turn_policy
        names = list(self.agents)
        if policy.type == "simultaneous":
            await self._turns(names, round_, year)
            return self._should_stop()
        if policy.type == "moderator":
            spoken: list[str] = []
            for _ in range(policy.max_turns_per_round):
                choice = await self._choose(round_, spoken)
                if choice == STOP:
                    return "moderator"
                if choice == END:
                    break
                spoken.append(choice)
                await self._turns([choice], round_, year)
                if stop := self._should_stop():
                    return stop
            return ""
        if policy.type == "fixed_order":
            order = list(policy.order or names)
        else:  # round_robin: everyone, the first speaker rotating each round
            shift = (round_ - 1) % len(names)
            order = names[shift:] + names[:shift]
        for speaker in order:
            await self._turns([speaker], round_, year)
            if stop := self._should_stop():
                return stop
        return ""

    def _should_stop(self) -> str:
        t = self.config.termination
        if self.path:  # deliberations run their rounds; termination rules bind the main conversation
            return ""
        speeches = self.transcript.speeches()
        if t.max_turns is not None and len(speeches) >= t.max_turns:
            return "max_turns"
        if t.phrase and speeches and t.phrase.lower() in speeches[-1].content.lower():
            return "phrase"
        if t.token_budget is not None and self.tally.tokens >= t.token_budget:
            return "token_budget"
        return ""

    # -- turns ------------------------------------------------------------------------------
    async def _turns(self, speakers: list[str], round_: int, year: int | None) -> None:
        """Speakers answer the same state; with several, concurrently (simultaneous moves)."""
        snapshot = list(self.transcript.statements)
        turns = list(range(self._turn, self._turn + len(speakers)))
        self._turn += len(speakers)
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

    async def _complete(
        self, client: ModelClient, key: str, messages: list[Message], kind: str,
        schema: dict | None = None, max_tokens: int | None = None,
    ) -> tuple[str, Any, int]:
        """One logged, resumable, seeded model call."""
        done = self.log.get(key)
        if done is not None:  # replayed from the store: counts toward budgets as before
            self.tally.tokens += done.get("tokens", 0)
            return done["text"], done.get("parsed"), done.get("tokens", 0)
        update: dict[str, Any] = {"seed": derive_seed(self.config.seed, key)}
        if schema is not None:
            update["json_schema"] = schema
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        if schema is None:
            # Small models like to write the other participants' lines too: stop there.
            names = [*self.agents, "moderator"]
            update["stop"] = tuple(dict.fromkeys(
                [*self.config.params.stop, *(f"\n{n}:" for n in names), "\n[Round"]))
        params = GenerationParams.model_validate({**self.config.params.model_dump(), **update})
        completion = await client.complete(messages, params, tags={"step": key})
        tokens = completion.usage.total_tokens
        text = strip_speaker_prefix(completion.text, [*self.agents, "moderator"])
        self.tally.tokens += tokens
        self.tally.calls += 1
        self.log.put(key, {"kind": kind, "text": text, "parsed": completion.parsed,
                           "tokens": tokens, "path": self.path})
        return text, completion.parsed, tokens

    async def _speak(
        self, speaker: str, round_: int, turn: int, year: int | None, snapshot: list[Statement]
    ) -> tuple[str, int, str, Transcript | None]:
        agent = self.agents[speaker]
        key = self._key(round_, turn, speaker)
        visible = [s for s in snapshot if s.visible(speaker)]
        state = ScenarioState(round=round_, rounds=self.config.rounds, year=year, speaker=speaker)
        memory = await self._memory(agent, visible, round_, turn)
        deliberation = self.specs[speaker].deliberation
        if deliberation is None:
            messages = agent.messages(visible, state, self.config.turn_instruction, memory)
            text, _, tokens = await self._complete(agent.client, key, messages, "speech")
            return text, tokens, key, None
        return await self._deliberate(agent, deliberation, key, visible, state, memory)

    async def _memory(self, agent: Agent, visible: list[Statement], round_: int, turn: int):
        """For the 'summarise' policy: a summary of what no longer fits (logged, resumable)."""
        if self.config.context.policy != "summarise":
            return None
        view = trim(visible, self.config.context)
        if not view.dropped:
            return None
        key = self._key(round_, turn, f"{agent.name}-memory-upto-{view.dropped[-1].index}")
        text = "\n".join(render_statement(s) for s in view.dropped)
        messages = [
            Message(role="system", content=PROMPTS["summarise_system"].render(name=agent.name)),
            Message(role="user", content=text[-12000:]),
        ]
        summary, _, _ = await self._complete(agent.client, key, messages, "memory")
        return summary

    async def _deliberate(self, agent, deliberation, key, visible, state, memory):
        """The agent's sub-agents talk privately; only the outcome enters this conversation."""
        # What happened since the agent last spoke (or, if nothing, the last few statements).
        last_own = max((i for i, s in enumerate(visible) if s.speaker == agent.name), default=-1)
        others = [s for s in visible if s.speaker != agent.name]
        latest = visible[last_own + 1:][-12:] or others[-4:]
        notes = (PROMPTS["private_notes"].render(notes=agent.private_notes)
                 if agent.private_notes else "")
        briefing = PROMPTS["briefing"].render(
            agent=agent.name, statements="\n".join(render_statement(s) for s in latest) or "(none yet)",
            notes=notes,
        )
        inner_config = ConverseConfig(
            name=f"{agent.name} deliberation", model=agent.spec.model or self.config.model,
            params=self.config.params, seed=self.config.seed, setting=self.config.setting,
            rounds=deliberation.rounds, agents=deliberation.members,
            turn_policy=deliberation.turn_policy, context=self.config.context,
            turn_instruction=deliberation.prompt.format(
                agent=agent.name, round=state.round, year=state.year),
        )
        inner = Conversation(
            inner_config, self.pool, self.log, path=f"{key}", tally=self.tally,
            briefing=briefing, year=state.year,
        )
        result = await inner.run()
        inner_transcript = result.transcript
        if deliberation.outcome == "chair":
            chair = inner.agents[deliberation.chair or deliberation.members[0].name]
            chair_state = ScenarioState(state.round, state.rounds, state.year, chair.name)
            messages = chair.messages(
                inner_transcript.visible_to(chair.name), chair_state,
                PROMPTS["chair_outcome"].render(agent=agent.name),
            )
            text, _, tokens = await self._complete(chair.client, key, messages, "outcome")
        else:
            record = "\n".join(render_statement(s) for s in inner_transcript.speeches())
            summary_msgs = [
                Message(role="system", content=PROMPTS["summarise_system"].render(name=agent.name)),
                Message(role="user", content=record[-12000:]),
            ]
            summary, _, _ = await self._complete(
                agent.client, f"{key}|summary", summary_msgs, "deliberation-summary"
            )
            messages = agent.messages(
                visible, state, self.config.turn_instruction, memory,
                extra=PROMPTS["summary_outcome"].render(summary=summary),
            )
            text, _, tokens = await self._complete(agent.client, key, messages, "outcome")
        return text, tokens, key, inner_transcript

    async def _choose(self, round_: int, spoken: list[str]) -> str:
        """The moderator picks the next speaker (structured output: a name or END)."""
        policy = self.config.turn_policy
        client = self.pool.get(policy.moderator_model or self.config.model)
        names = list(self.agents)
        key = self._key(round_, self._turn, "moderator-choice")
        # Nobody speaks twice in a row: a small moderator otherwise loops on one name.
        options = [n for n in names if not spoken or n != spoken[-1] or len(names) == 1]
        options += [END] if spoken else []
        if spoken and policy.moderator_can_stop:
            options.append(STOP)
        schema = {"type": "object", "properties": {"next": {"type": "string", "enum": options}},
                  "required": ["next"]}
        history = "\n".join(render_statement(s) for s in self.transcript.statements[-12:])
        messages = [
            Message(role="system", content=PROMPTS["moderator_system"].render(
                instructions=policy.moderator_prompt, names=", ".join(names))),
            Message(role="user", content=(history + "\n\n" if history else "") + PROMPTS[
                "moderator_ask"].render(round=round_, rounds=self.config.rounds,
                                        turns=len(spoken), spoken=", ".join(spoken) or "nobody")),
        ]
        try:
            _, parsed, _ = await self._complete(client, key, messages, "moderator", schema, 24)
        except ParseFailure as exc:
            # Not silent: logged and counted; the round falls back to the next unheard speaker.
            self.tally.parse_failures += 1
            self.log.event("parse_failure", {"step": key, "error": str(exc)})
            unheard = [n for n in names if n not in spoken]
            return unheard[0] if unheard else END
        return parsed["next"]
