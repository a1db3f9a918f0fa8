"""A conversation run (`kind: converse`): the transcript as chat, what each agent could see,
nested deliberations folded under the statement they produced, and the judges' scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scai.converse.judge import Judgement
from scai.converse.transcript import Statement, Transcript
from scai.report.blocks import (
    Block,
    Chat,
    ChatLine,
    Code,
    Figure,
    Heading,
    Markdown,
    Notice,
    Section,
    Table,
    Tabs,
)
from scai.report.figures import bars
from scai.report.reader import RunData, StoreReader
from scai.stats import mean_ci

_STEP = re.compile(r"^main\|r(\d+)\|t(\d+)\|(.+)$")


def load_transcript(data: RunData) -> tuple[Transcript | None, list[Block]]:
    """The run's transcript.json; if it is missing or broken, the speeches from its step events."""
    out_dir = data.out_dir()
    notes: list[Block] = []
    if out_dir is not None:
        path = Path(out_dir) / "transcript.json"
        if path.is_file():
            try:
                return Transcript.model_validate_json(path.read_text(encoding="utf-8")), notes
            except ValueError as exc:
                notes.append(Notice(f"The transcript file {path} is not readable "
                                    f"({str(exc).splitlines()[0]}); showing the statements "
                                    "from the run's step events instead.", "error"))
        else:
            notes.append(Notice(f"The transcript file {path} is missing; showing the "
                                "statements from the run's step events instead (visibility "
                                "and deliberations are not in them).", "warning"))
    elif data.info.status != "running":
        notes.append(Notice("This run names no output folder; showing the statements from its "
                            "step events.", "warning"))
    transcript = Transcript()
    for e in data.of("step"):
        m = _STEP.match(e.key or "")
        if not m or e.payload.get("kind") not in ("speech", "outcome"):
            continue
        transcript.add(speaker=m.group(3), content=str(e.payload.get("text", "")),
                       round=int(m.group(1)), turn=int(m.group(2)),
                       kind="speech", key=e.key or "")
    return (transcript if transcript.statements else None), notes


def _line(s: Statement, transcript: Transcript) -> ChatLine:
    note = f"round {s.round}" + ("" if s.visible_to is None
                                 else f" · visible to {', '.join(s.visible_to)}")
    line = ChatLine(speaker=s.speaker, text=s.content, note=note,
                    role="moderator" if s.speaker == "moderator" else "assistant")
    nested = transcript.nested.get(s.key)
    if nested is not None:
        line.nested = [chat(nested)]
        line.nested_title = (f"Private deliberation of {s.speaker} "
                             f"({len(nested.speeches())} statements)")
    return line


def chat(transcript: Transcript, statements: list[Statement] | None = None) -> Chat:
    """Statements as chat bubbles; deliberations nest under the statement they produced."""
    return Chat([_line(s, transcript) for s in (statements if statements is not None
                                                 else transcript.statements)])


def agent_views(data: RunData, transcript: Transcript) -> Tabs:
    """Per agent: exactly the statements it could see, and the prompt of its last turn."""
    names = [a.get("name") for a in data.info.config.get("agents", []) if isinstance(a, dict)]
    names = [n for n in names if n] or list(dict.fromkeys(
        s.speaker for s in transcript.statements if s.speaker != "moderator"))
    calls = {}
    for e in data.of("model_call"):
        step = (e.payload.get("tags") or {}).get("step")
        if step:
            calls[step] = e.payload.get("messages") or []
    tabs = []
    for name in names:
        seen = transcript.visible_to(name)
        hidden = len(transcript.statements) - len(seen)
        blocks: list[Block] = [Markdown(f"{name} could see {len(seen)} of "
                                        f"{len(transcript.statements)} statements"
                                        + (f" ({hidden} were not visible to it)." if hidden
                                           else "."))]
        blocks.append(chat(transcript, seen))
        own = [s.key for s in transcript.statements if s.speaker == name and s.key in calls]
        if own:
            prompt = "\n\n".join(f"[{m.get('role')}]\n{m.get('content')}" for m in calls[own[-1]])
            blocks.append(Section(f"The exact prompt of {name}'s last turn", [Code(prompt)]))
        tabs.append((name, blocks))
    return Tabs(tabs)


def judgement_blocks(data: RunData, siblings: list[RunData]) -> list[Block]:
    out: list[Block] = []
    judgements = []
    for e in data.of("judgement"):
        try:
            judgements.append(Judgement.model_validate(e.payload))
        except ValueError:
            out.append(Notice("A judgement record could not be read.", "error"))
    if not judgements:
        return [*out, Notice("No judgement recorded (yet).", "info")]
    rows = [[j.judge, m, v] for j in judgements for m, v in (j.scores or {}).items()]
    if rows:
        out.append(Table(["judge", "metric", "score"], rows))
    for j in judgements:
        if j.summary:
            out.append(Markdown(f"**{j.judge}:** {j.summary}"))
        if j.rationale:
            out.append(Markdown(f"*Rationale:* {j.rationale}"))
        if j.error:
            out.append(Notice(f"{j.judge}: the scores could not be parsed ({j.error}).", "warning"))
    groups: dict[str, dict[str, list[float]]] = {}
    for s in siblings:
        for e in s.of("judgement"):
            for m, v in (e.payload.get("scores") or {}).items():
                if isinstance(v, (int, float)):
                    groups.setdefault(e.payload.get("judge", "judge"), {}).setdefault(m, []).append(v)
    if groups:
        est = {judge: {m: mean_ci(v) for m, v in ms.items()} for judge, ms in groups.items()}
        how = f"mean and 95% CI over {len(siblings)} runs" if len(siblings) > 1 else "one run"
        out.append(Figure(bars(est, title=f"judged scores ({how})", ylabel="score"),
                          name="judged_scores"))
    return out


def converse_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The conversation page body."""
    siblings = [data if s.id == data.info.id else reader.load(s.id)
                for s in reader.siblings(data.info)]
    transcript, notes = load_transcript(data)
    out: list[Block] = [Heading("Judges"), *judgement_blocks(data, siblings),
                        Heading("Transcript"), *notes]
    if transcript is None:
        return [*out, Notice("No statement recorded yet.", "warning")]
    out += [chat(transcript), Heading("What each agent could see"),
            agent_views(data, transcript)]
    if data.info.summary:
        out.append(Section("Run summary", [Code(json.dumps(data.info.summary, indent=2), "json")]))
    return out
