"""Converse judges: summarise a finished run and score it on its rubric (`scai.rubric`), with
parsing that cannot fail silently (a judgement that does not parse is recorded as a failure,
never as a default score)."""

from __future__ import annotations

from pydantic import BaseModel

from scai.converse.agent import PROMPTS, render_statement
from scai.converse.scenario import ContextPolicy
from scai.converse.transcript import Transcript
from scai.converse.window import cut_point
from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelClient
from scai.rubric import JudgeSpec

MAX_TRANSCRIPT_CHARS = 14000


class Judgement(BaseModel):
    """One judge's verdict on one run."""

    judge: str
    summary: str | None = None
    scores: dict[str, int] | None = None
    rationale: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the scores parsed."""
        return self.scores is not None


def transcript_text(transcript: Transcript, limit: int = MAX_TRANSCRIPT_CHARS,
                    low: int | None = None) -> str:
    """The public record (no nested deliberations), newest part kept if too long: the last
    `limit` characters, or with `low`, whole lines from a cut that moves a block at a time
    (`window.cut_point`), so a judge asked every round reads a prompt that only grows at its end
    between cuts."""
    lines = [f"(round {s.round}) {render_statement(s)}" for s in transcript.statements
             if s.kind != "briefing"]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    if low is None:
        return "...\n" + text[-limit:]
    return "...\n" + "\n".join(lines[cut_point([len(line) + 1 for line in lines], limit, low):])


DONE_SCHEMA = {
    "type": "object",
    "properties": {"finished": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["finished", "reason"],
}


async def judge_finished(
    spec: JudgeSpec, client: ModelClient, transcript: Transcript, *, seed: int,
    context: ContextPolicy | None = None,
) -> bool | None:
    """Has the conversation reached its end? None when the judge's answer did not parse.
    `context` (the scenario's policy) decides how a long transcript is cut: by blocks, or
    sliding (without one)."""
    low = None if context is None or context.sliding else context.low_mark(MAX_TRANSCRIPT_CHARS)
    try:
        out = await client.complete(
            [Message(role="system", content=spec.instructions),
             Message(role="user", content=PROMPTS["judge_done"].render(
                 transcript=transcript_text(transcript, low=low)))],
            GenerationParams(seed=seed, temperature=0.0, max_tokens=80, json_schema=DONE_SCHEMA),
        )
    except ParseFailure:
        return None
    return bool(out.parsed["finished"])
