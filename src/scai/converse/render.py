"""Transcripts as Markdown a person reads: rounds, speakers, who could see what, and nested
deliberations folded under the statement they produced."""

from __future__ import annotations

from scai.converse.transcript import Statement, Transcript


def _visibility(s: Statement) -> str:
    return "" if s.visible_to is None else f" *(visible to: {', '.join(s.visible_to)})*"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or ">"


def render_transcript(transcript: Transcript, depth: int = 0) -> str:
    """Markdown for a transcript; deliberations are nested `<details>` blocks."""
    out: list[str] = []
    current_round = None
    for s in transcript.statements:
        if depth == 0 and s.round != current_round and s.round > 0:
            current_round = s.round
            out.append(f"\n### Round {s.round}\n")
        if s.kind in ("prompt", "briefing"):
            out.append(f"*{s.speaker}:* {s.content}\n")
            continue
        nested = transcript.nested.get(s.key)
        if nested is not None:
            out.append(f"<details><summary>Private deliberation of {s.speaker} "
                       f"({len(nested.speeches())} statements)</summary>\n")
            out.append(render_transcript(nested, depth + 1))
            out.append("</details>\n")
        out.append(f"**{s.speaker}**{_visibility(s)}:\n\n{_quote(s.content)}\n")
    return "\n".join(out)
