"""A conversation run (`kind: converse`): the transcript as chat, what each agent could see,
nested deliberations folded under the statement they produced, and the judges' scores.

The dashboard page (`converse_blocks`) and the files a run leaves (`transcript_page` ->
transcript.md, `aggregate_page` -> aggregate.png) are built here, from the same blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

from scai.converse.judge import Judgement
from scai.converse.keys import parse_step_key
from scai.converse.result import ConverseRun, judged_scores
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
    Page,
    Section,
    Table,
    Tabs,
)
from scai.report.figures import bars
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate


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
        key = parse_step_key(e.key or "")
        if key is None or key.nested or e.payload.get("kind") not in ("speech", "outcome"):
            continue
        transcript.add(speaker=key.what, content=str(e.payload.get("text", "")),
                       round=key.round, turn=key.turn, kind="speech", key=e.key or "")
    return (transcript if transcript.statements else None), notes


def _line(s: Statement, transcript: Transcript) -> ChatLine:
    # A deliberation's briefing comes before its first round (round 0): say what it is.
    note = (f"round {s.round}" if s.round > 0 else s.kind) + (
        "" if s.visible_to is None else f" · visible to {', '.join(s.visible_to)}")
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


def _judgements(data: RunData) -> tuple[list[Judgement], int]:
    """The run's judgement records, and how many could not be read."""
    found, bad = [], 0
    for e in data.of("judgement"):
        try:
            found.append(Judgement.model_validate(e.payload))
        except ValueError:
            bad += 1
    return found, bad


def scores_figure(scores: dict[str, dict[str, Estimate]], runs: int, name: str) -> Figure:
    """Judged scores, one bar group per judge, with the 95% CI over runs."""
    how = f"mean and 95% CI over {runs} runs" if runs > 1 else "one run"
    return Figure(bars(scores, title=f"judged scores ({how})", ylabel="score"), name=name)


def judgement_blocks(data: RunData, siblings: list[RunData]) -> list[Block]:
    """The run's judges (scores, summaries, rationales), and every judged score over its
    sibling runs as a figure."""
    judgements, bad = _judgements(data)
    out: list[Block] = [Notice("A judgement record could not be read.", "error")] * bad
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
    scores = judged_scores(j for s in siblings for j in _judgements(s)[0])
    if scores:
        out.append(scores_figure(scores, len(siblings), "judged_scores"))
    return out


def _round_blocks(transcript: Transcript) -> list[Block]:
    """The main conversation round by round: a heading, then its statements as chat."""
    rounds: list[tuple[int, list[ChatLine]]] = []
    for s in transcript.statements:
        if not rounds or (s.round != rounds[-1][0] and s.round > 0):
            rounds.append((s.round, []))
        rounds[-1][1].append(_line(s, transcript))
    out: list[Block] = []
    for number, lines in rounds:
        out += ([Heading(f"Round {number}", 3)] if number > 0 else []) + [Chat(lines)]
    return out


def _verdict_blocks(j: Judgement) -> list[Block]:
    out: list[Block] = [Heading(f"Judge: {j.judge}", 2)]
    if j.summary:
        out.append(Markdown(j.summary))
    if j.scores is not None:
        out.append(Markdown("\n".join(f"- **{k}**: {v}" for k, v in j.scores.items())))
        out.append(Markdown(f"*Rationale:* {j.rationale}"))
    elif j.error:
        out.append(Markdown(f"**Scores could not be parsed:** {j.error}"))
    return out


def transcript_page(name: str, description: str, run: ConverseRun,
                    transcript: Transcript) -> Page:
    """A finished run as its transcript.md: rounds, speakers, visibility, deliberations folded
    under the statement they produced, then each judge's summary and scores."""
    subtitle = (f"Run `{run.run_id}` · seed {run.seed} · {run.rounds_run} rounds · "
                f"stopped by: {run.stop_reason}")
    blocks: list[Block] = [Markdown(description.strip())] if description.strip() else []
    blocks += _round_blocks(transcript)
    for j in run.judgements:
        blocks += _verdict_blocks(j)
    return Page(name, subtitle, blocks)


def aggregate_page(name: str, scores: dict[str, dict[str, Estimate]], runs: int) -> Page | None:
    """Judged scores over a scenario's runs as the figure `aggregate` (None: nothing scored)."""
    if not any(e.mean is not None for ms in scores.values() for e in ms.values()):
        return None
    return Page(name, f"{runs} runs", [scores_figure(scores, runs, "aggregate")])


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
