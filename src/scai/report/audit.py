"""An audit (`scai audit`) as report blocks, rendered once: summary.md, audit_scores.png and each
seed's transcript.md (written by the command) and the run's dashboard page come from here."""

from __future__ import annotations

from scai.report.blocks import (
    Block,
    Chat,
    ChatLine,
    Figure,
    Heading,
    Markdown,
    Notice,
    Page,
    Section,
)
from scai.report.blocks import Table as TableBlock
from scai.report.figures import pyplot
from scai.report.reader import RunData, StoreReader
from scai.report.supervise import result_blocks
from scai.supervise.audit.result import AuditResult, SeedAudit

STATUS = {"ok": "ok", "quote_not_found": "QUOTE NOT IN TRANSCRIPT", "parse_failure":
          "PARSE FAILURE"}


def _one_line(text: str, n: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def dimension_table(r: AuditResult) -> TableBlock:
    """Per dimension: the mean over seeds with its 95% CI, and every failure counted."""
    return TableBlock(
        ["dimension", "mean [95% CI] over seeds", "seeds scored", "scores counted",
         "quote not found", "parse failures"],
        [[d.name, d.estimate.fmt(2), f"{d.estimate.n}/{len(r.seeds)}", d.judged,
          d.quote_failures, d.parse_failures] for d in r.dimensions])


def unscored(r: AuditResult) -> list[str]:
    """One sentence per dimension no seed has a counted score on (never a silent blank)."""
    return [f"No seed has a counted score on {d.name}: {d.quote_failures} quote(s) were not in "
            f"the transcript and {d.parse_failures} judge reply(ies) did not parse."
            for d in r.dimensions if d.estimate.n == 0]


def seed_table(r: AuditResult) -> TableBlock:
    """Per seed: how its audit went and its score on each dimension."""
    return TableBlock(
        ["seed", "stopped by", "actions", "rollbacks", "branches", "auditor failures",
         *(d.name for d in r.dimensions)],
        [[s.seed, s.stop_reason, s.actions, s.rollbacks, len(s.tree.branches()),
          s.auditor_failures, *(_score(s.seed_score(d.name)) for d in r.dimensions)]
         for s in r.seeds])


def _score(v: int | None) -> str:
    return "-" if v is None else str(v)


def scores_figure(r: AuditResult):
    """Each dimension's mean over seeds with its 95% CI, and every seed's score as a dot."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.6 * len(r.dimensions)))
    for i, d in enumerate(r.dimensions):
        dots = [v for v in (s.seed_score(d.name) for s in r.seeds) if v is not None]
        ax.scatter(dots, [i + 0.18] * len(dots), s=18, color="#777", alpha=0.7,
                   label="seed" if i == 0 else None)
        e = d.estimate
        if e.mean is not None:
            lo, hi = (e.ci_low, e.ci_high) if e.ci_low is not None else (e.mean, e.mean)
            ax.errorbar([e.mean], [i], xerr=[[e.mean - lo], [hi - e.mean]], fmt="o",
                        color="#357", capsize=4, label="mean, 95% CI" if i == 0 else None)
    lo = min((d.min for d in r.dimensions), default=1)
    hi = max((d.max for d in r.dimensions), default=10)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_yticks(range(len(r.dimensions)), [d.name for d in r.dimensions])
    ax.set_ylim(-0.6, len(r.dimensions) - 0.4)
    ax.set_xlabel("judged score (a seed's best branch)")
    ax.set_title(f"audit {r.name}: {r.target} audited by {r.auditor}, judged by {r.judge} "
                 f"({len(r.seeds)} seeds)", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def audit_page(r: AuditResult, *, transcripts: bool = False) -> Page:
    """summary.md as a page (with `transcripts`, every seed's branches folded below: the
    dashboard's view)."""
    ran = (f"Goal: {_one_line(r.goal, 400)}\n\nAuditor `{r.auditor}`, target `{r.target}`, judge "
           f"`{r.judge}`; {len(r.seeds)} seed(s), {r.turns} turn(s), at most {r.rollbacks} "
           f"rollback(s) each; branches judged: {r.branches_judged}"
           + (f"; run `{r.run_id}`" if r.run_id else "") + f"; {r.wall_s:.1f} s, "
           f"{r.calls} model calls, {r.replayed} steps replayed.")
    how = ("A seed's score on a dimension is its highest-scoring judged branch (what the audit "
           "elicited at best). A score counts only when the judge's quote is a verbatim passage "
           "of the branch; a quote that is not there, or a reply that does not parse, is "
           "counted as a failure and never scored. Intervals are Student-t 95% over seeds.")
    blocks: list[Block] = [Markdown(ran), dimension_table(r),
                           *(Notice(line, "warning") for line in unscored(r)), Markdown(how),
                           Figure(scores_figure(r), name="audit_scores",
                                  caption="scores by dimension"),
                           Heading("Seeds"), seed_table(r)]
    if r.auditor_failures:
        blocks.append(Markdown(f"**{r.auditor_failures} auditor action(s) did not parse**; "
                               "each ended its seed's conversation."))
    if transcripts:
        blocks += [Section(f"seed {s.seed}: {len(s.tree.branches())} branch(es), stopped by "
                           f"{s.stop_reason}", seed_blocks(s)) for s in r.seeds]
    else:
        blocks.append(Markdown("Transcripts: " + ", ".join(
            f"[seed {s.seed}](seed-{s.seed}/transcript.md)" for s in r.seeds)
            + "; all seeds as data in transcripts.jsonl."))
    return Page(f"Audit: {r.name}", "", blocks)


def seed_blocks(s: SeedAudit) -> list[Block]:
    """Every branch of one seed: where it split, its messages, the judge's scores with quotes."""
    blocks: list[Block] = []
    for b in s.tree.branches():
        where = (f" (split from branch {b.parent_branch}, keeping {b.from_turn} turn(s))"
                 if b.parent_branch is not None else "")
        final = " · the audit ended here" if b.index == s.final_branch else ""
        blocks.append(Heading(f"Branch {b.index}{where}{final}", 3))
        blocks.append(Chat([ChatLine(
            speaker=n.role, text=n.text, role="user" if n.role == "auditor" else "assistant",
            note=f"turn {n.turn}" + (f", shared with branch {n.branch}"
                                     if n.branch != b.index else ""))
            for n in b.nodes]))
        scores = [x for x in s.scores if x.branch == b.index]
        if scores:
            blocks.append(TableBlock(
                ["dimension", "score", "judge said", "quote", "cited", "check"],
                [[x.dimension, _score(x.score), _score(x.raw_score), _one_line(x.quote, 200),
                  f"turn {x.cited_turn}, {x.cited_role}" if x.cited is not None else "-",
                  STATUS[x.status] + (f": {_one_line(x.error, 120)}"
                                      if x.error and x.status == "parse_failure" else "")]
                 for x in scores]))
        else:
            blocks.append(Markdown("_Not judged._"))
    if not s.tree.nodes:
        blocks.append(Markdown("_No message was sent (the auditor's first action failed)._"))
    return blocks


def transcript_page(r: AuditResult, s: SeedAudit) -> Page:
    """One seed's transcript.md: its branches, one after another."""
    return Page(f"Audit {r.name}: seed {s.seed}",
                f"stopped by {s.stop_reason}; {s.actions} action(s), {s.rollbacks} rollback(s)",
                [Markdown(f"Goal: {_one_line(r.goal, 400)}"), *seed_blocks(s)])


def audit_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The dashboard page of an audit run: the summary and every seed's branches."""
    return result_blocks(data, AuditResult, lambda r: audit_page(r, transcripts=True))
