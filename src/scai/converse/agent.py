"""An agent: its own system prompt, model, and view of the conversation.

`Agent.messages()` is the only place a prompt is built, and it reads only the statements the
agent may see, trimmed to its token budget, closed by an explicit scenario-state line. Its
layout keeps consecutive prompts prefix-stable: the system prompt, then the record (which only
grows at its end between two cuts), and what changes every turn (round, year, whose turn it
is) last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scai.converse.scenario import AgentSpec, ContextPolicy
from scai.converse.transcript import Statement
from scai.converse.window import cut_point
from scai.llm import Message, ModelClient
from scai.prompts import PromptBook

PROMPTS = PromptBook.load(Path(__file__).with_name("prompts.yaml"))


def estimate_tokens(text: str) -> int:
    """A cheap, model-independent estimate (about four characters per token)."""
    return len(text) // 4 + 4


@dataclass
class ScenarioState:
    """What every prompt states explicitly, so long runs do not lose track."""

    round: int
    rounds: int
    year: int | None
    speaker: str


def render_statement(s: Statement) -> str:
    """A statement as one line of a record: `Name: text`, or `[moderator] text`."""
    return f"[{s.speaker}] {s.content}" if s.speaker == "moderator" else f"{s.speaker}: {s.content}"


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


@dataclass
class ContextView:
    """The statements an agent's prompt will hold, and what was left out."""

    kept: list[Statement]
    dropped: list[Statement]


def trim(visible: list[Statement], policy: ContextPolicy) -> ContextView:
    """The newest statements within the budget (always at least `keep_last`), cut where
    `window.cut_point` says: a pure function of `visible`, so the kept part only grows at its
    end between two cuts and a resumed run trims as the first one did."""
    cut = cut_point([estimate_tokens(s.content) for s in visible], policy.max_tokens,
                    policy.low_mark(policy.max_tokens), policy.keep_last)
    return ContextView(kept=visible[cut:], dropped=visible[:cut])


@dataclass(frozen=True)
class Memory:
    """An agent's summary of what fell out of its view, under the key of the step that wrote it
    (reused until the cut moves)."""

    key: str
    text: str


class Agent:
    """A participant with a private context; it never sees what is not visible to it."""

    def __init__(
        self, spec: AgentSpec, client: ModelClient, *, others: list[str], setting: str = "",
        context: ContextPolicy | None = None, extra_notes: str | None = None,
    ):
        self.spec = spec
        self.name = spec.name
        self.client = client
        self.others = others
        self.setting = setting
        self.context = context or ContextPolicy()
        notes = "\n".join(n.strip() for n in (spec.private_notes, extra_notes) if n and n.strip())
        self.private_notes = notes or None
        self.memory: Memory | None = None  # its latest summary (the summarising policies)

    def system_prompt(self) -> str:
        private = (PROMPTS["private_notes"].render(notes=self.private_notes)
                   if self.private_notes else "")
        return PROMPTS["agent_system"].render(
            persona=self.spec.persona.strip(), setting=self.setting.strip() + "\n" if self.setting else "",
            name=self.name, others=", ".join(self.others) or "none", private=private,
        )

    def messages(
        self, visible: list[Statement], state: ScenarioState, instruction: str,
        memory: str | None = None, extra: str | None = None,
    ) -> list[Message]:
        """The chat prompt for this agent's turn. `visible` must already be filtered to it."""
        view = trim(visible, self.context)
        chat: list[tuple[str, str]] = []
        if view.dropped:
            note = (PROMPTS["memory"].render(summary=memory) if memory
                    else PROMPTS["omitted"].render(count=len(view.dropped)))
            chat.append(("user", note))
        for s in view.kept:
            if s.speaker == self.name and s.kind in ("speech", "outcome"):
                chat.append(("assistant", s.content))
            else:
                chat.append(("user", render_statement(s)))
        year = PROMPTS["year"].render(year=state.year) if state.year is not None else ""
        closing = PROMPTS["state"].render(
            round=state.round, rounds=state.rounds, year=year, speaker=state.speaker,
            instruction=instruction,
        )
        if extra:
            closing = f"{extra}\n\n{closing}"
        chat.append(("user", closing))
        return [Message(role="system", content=self.system_prompt()), *_merge(chat)]


def _merge(chat: list[tuple[str, str]]) -> list[Message]:
    """Merge consecutive same-role turns (chat templates expect alternation)."""
    merged: list[list[str]] = []
    for role, text in chat:
        if merged and merged[-1][0] == role:
            merged[-1][1] += "\n\n" + text
        else:
            merged.append([role, text])
    if merged and merged[0][0] == "assistant":
        merged.insert(0, ["user", "(The conversation begins.)"])
    return [Message(role=r, content=t) for r, t in merged]
