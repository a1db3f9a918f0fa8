"""The mediator learner on a page: per persona, its endorsement of the final text and where it
ranked the elected candidate; per rule (scripted users), the mean and minimum utility of what the
rule would have elected on the same rankings, with `mediator_rules.png`; each epoch's candidates.

Read from the constitutions' `mediation` records only (in memory after a simulation, or the
stored `constitution` payloads), so summary.md, aggregate.json, the dashboard and `scai report`
show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scai.contract.mediator_record import Mediation, mediations
from scai.contract.social_choice import RULE_NAMES, borda_scores
from scai.report.blocks import Block, Figure, Heading, Markdown, Section, Table
from scai.report.figures import bars
from scai.report.posterior import short
from scai.stats import Estimate, mean_ci

PerRun = Sequence[Sequence[Mediation]]  # one list of mediations (by epoch) per run
MAX_ROWS = 40  # persona rows on a page


def _unit_values(per_run: PerRun, value) -> list[float]:
    """The values a CI is computed over: one per run (its mean over epochs) when there are
    several runs, else one per epoch of the single run."""
    runs = [[v for m in run if (v := value(m)) is not None] for run in per_run]
    runs = [r for r in runs if r]
    if len(runs) > 1:
        return [sum(r) / len(r) for r in runs]
    return runs[0] if runs else []


def unit_name(per_run: PerRun) -> str:
    """What one value of a CI is: a run (mean over its epochs) or an epoch."""
    return "runs" if sum(1 for r in per_run if r) > 1 else "epochs"


def rule_estimates(per_run: PerRun) -> dict[str, dict[str, Estimate]]:
    """rule -> mean utility / min utility (each a mean and 95% CI), scripted mediations only."""
    scripted = [[m for m in run if m.scripted] for run in per_run]
    out: dict[str, dict[str, Estimate]] = {}
    for rule in RULE_NAMES:
        def stat(m: Mediation, field: str, rule: str = rule) -> float | None:
            return getattr(m.outcomes[rule], field) if rule in m.outcomes else None

        out[rule] = {
            "mean utility": mean_ci(_unit_values(scripted, lambda m: stat(m, "mean_utility"))),
            "min utility": mean_ci(_unit_values(scripted, lambda m: stat(m, "min_utility")))}
    return out


def final_estimates(per_run: PerRun) -> dict[str, Estimate]:
    """The final text's (after revision) mean and minimum utility, scripted mediations only."""
    scripted = [[m for m in run if m.scripted] for run in per_run]
    return {"mean utility": mean_ci(_unit_values(scripted, lambda m: m.final_mean_utility)),
            "min utility": mean_ci(_unit_values(scripted, lambda m: m.final_min_utility))}


def persona_rows(per_run: PerRun) -> list[dict[str, Any]]:
    """Per persona of each run's last mediation: its endorsement of the final text and where
    it ranked the elected candidate."""
    rows = []
    for i, run in enumerate(per_run):
        if run:
            m = run[-1]
            rows += [{"run": i, "epoch": m.epoch, "persona": v.name, "group": v.group,
                      "endorsement": v.endorsement, "scale": m.endorsement_scale,
                      "winner_rank": v.winner_rank, "candidates": len(m.candidates)}
                     for v in m.members]
    return rows


def group_rows(per_run: PerRun) -> list[dict[str, Any]]:
    """Per group (hidden policy; `all` when members have none), over every mediation: mean
    endorsement and mean rank of the elected candidate, with 95% CIs over runs or epochs."""
    groups = sorted({v.group or "all" for run in per_run for m in run for v in m.members})

    def mean_of(m: Mediation, group: str, field: str) -> float | None:
        xs = [getattr(v, field) for v in m.members if (v.group or "all") == group
              and getattr(v, field) is not None]
        return sum(xs) / len(xs) if xs else None

    return [{"group": g, "members": max(sum((v.group or "all") == g for v in m.members)
                                        for run in per_run for m in run),
             "endorsement": mean_ci(_unit_values(per_run, lambda m, g=g: mean_of(
                 m, g, "endorsement"))),
             "winner_rank": mean_ci(_unit_values(per_run, lambda m, g=g: mean_of(
                 m, g, "winner_rank")))} for g in groups]


def agreement(per_run: PerRun) -> dict[str, dict[str, int]]:
    """Per rule: mediations it agreed with the selected rule in, and Condorcet winners it
    elected (of the mediations that had one)."""
    flat = [m for run in per_run for m in run]
    out = {}
    for rule in RULE_NAMES:
        with_cw = [m for m in flat if m.condorcet is not None and rule in m.outcomes]
        out[rule] = {
            "same_as_selected": sum(m.outcomes[rule].winner == m.winner for m in flat
                                    if rule in m.outcomes),
            "condorcet_elected": sum(m.outcomes[rule].winner == m.condorcet for m in with_cw),
            "condorcet_cases": len(with_cw), "mediations": len(flat)}
    return out


def mediation_summary(per_run: PerRun) -> dict[str, Any] | None:
    """What aggregate.json records of the mediations (None when the runs had none)."""
    flat = [m for run in per_run for m in run]
    if not flat:
        return None
    return {
        "rule": flat[-1].rule, "mediations": len(flat), "ci_over": unit_name(per_run),
        "rules": {r: {k: e.model_dump() for k, e in v.items()}
                  for r, v in rule_estimates(per_run).items()},
        "final": {k: e.model_dump() for k, e in final_estimates(per_run).items()},
        "agreement": agreement(per_run),
        "groups": [{**row, "endorsement": row["endorsement"].model_dump(),
                    "winner_rank": row["winner_rank"].model_dump()} for row in group_rows(per_run)],
        "personas": persona_rows(per_run)}


def rules_figure(per_run: PerRun, name: str) -> Figure | None:
    """mediator_rules.png: each rule's mean and minimum utility with 95% CIs (scripted users)."""
    est = rule_estimates(per_run)
    if all(e["mean utility"].mean is None for e in est.values()):
        return None
    groups = {stat: {rule: est[rule][stat] for rule in RULE_NAMES}
              for stat in ("mean utility", "min utility")}
    how = f"mean and 95% CI over {unit_name(per_run)}"
    fig = bars(groups, title=f"{name}: utility of each rule's winner ({how})",
               ylabel="utility (1 = a member's ideal)")
    fig.axes[0].set_ylim(0, 1.05)  # utilities live in [0, 1]; a wide CI is cut at the frame
    return Figure(fig, name="mediator_rules", caption="mean and minimum utility per rule")


def mediation_blocks(per_run: PerRun, name: str) -> list[Block]:
    """The mediator's section: the rule table and figure (scripted), the persona table."""
    flat = [m for run in per_run for m in run]
    if not flat:
        return []
    out: list[Block] = [Heading("Mediation (mediator learner)"), Markdown(
        f"{len(flat)} mediation(s), rule `{flat[-1].rule}`, drafter `{flat[-1].drafter}`; "
        f"intervals are Student-t 95% over {unit_name(per_run)}.")]
    est, agree = rule_estimates(per_run), agreement(per_run)
    if any(e["mean utility"].mean is not None for e in est.values()):
        final = final_estimates(per_run)
        rows = [[rule, est[rule]["mean utility"].fmt(3), est[rule]["min utility"].fmt(3),
                 f"{agree[rule]['same_as_selected']}/{agree[rule]['mediations']}",
                 f"{agree[rule]['condorcet_elected']}/{agree[rule]['condorcet_cases']}"]
                for rule in RULE_NAMES]
        rows.append([f"final text ({flat[-1].rule}, after revision)",
                     final["mean utility"].fmt(3), final["min utility"].fmt(3), "", ""])
        out.append(Table(["rule", "mean utility", "min utility",
                          "same winner as the selected rule", "elected the Condorcet winner"], rows,
                         caption="every rule on the same rankings (scripted users' utilities)"))
        figure = rules_figure(per_run, name)
        if figure is not None:
            out.append(figure)
    scale = flat[-1].endorsement_scale
    out.append(Table(["group", "members", f"endorsement of the final text ({scale})",
                      "rank of the elected candidate (1 = first)"],
                     [[r["group"], r["members"], r["endorsement"].fmt(2), r["winner_rank"].fmt(2)]
                      for r in group_rows(per_run)],
                     caption=f"per group, over every mediation (95% CI over {unit_name(per_run)})"))
    rows = persona_rows(per_run)
    out.append(Table(["run", "persona", "group", f"endorsement ({scale})",
                      "rank of the elected candidate"],
                     [[r["run"], r["persona"], r["group"] or "",
                       "n/a" if r["endorsement"] is None else round(r["endorsement"], 3),
                       f"{r['winner_rank']} of {r['candidates']}"] for r in rows[:MAX_ROWS]],
                     caption="per persona, each run's last mediation" + (
                         f" (first {MAX_ROWS} of {len(rows)} rows; all in aggregate.json)"
                         if len(rows) > MAX_ROWS else "")))
    return out


def candidate_table(m: Mediation) -> Table:
    """One epoch's candidates: first places, Borda points, which rules elected each."""
    n = len(m.candidates)
    profile = [v.ranking for v in m.members]
    borda = borda_scores(profile, n)
    firsts = [sum(r[0] == c for r in profile) for c in range(n)]
    rows = [[f"c{c}", short(text, 90), firsts[c], borda[c],
             ", ".join(r for r, o in m.outcomes.items() if o.winner == c) or "",
             "yes" if m.condorcet == c else ""] for c, text in enumerate(m.candidates)]
    return Table(["candidate", "principle", "first places", "Borda", "elected by",
                  "Condorcet winner"], rows,
                 caption=f"mediation after epoch {m.epoch}: {m.rule} elected c{m.winner}; "
                 f"final: {short(m.final, 80)!r}")


def run_mediations(runs: Sequence[Any]) -> list[list[Mediation]]:
    """The mediations of each run of a simulation (`RunResult`s), epoch by epoch."""
    return [mediations(e.constitution for e in r.epochs) for r in runs]


def stored_mediations(datas: Sequence[Any]) -> list[list[Mediation]]:
    """The mediations of each stored run (`RunData`), read from its `constitution` payloads."""
    return [mediations(e.payload for e in d.of("constitution")) for d in datas]


def aggregate_fields(runs: Sequence[Any]) -> dict[str, Any]:
    """aggregate.json's `mediation` entry (nothing for runs without a mediator)."""
    summary = mediation_summary(run_mediations(runs))
    return {"mediation": summary} if summary else {}


def mediation_section(per_run: PerRun, name: str) -> list[Block]:
    """`mediation_blocks` followed by each epoch's candidate table, folded."""
    blocks = mediation_blocks(per_run, name)
    detail = [candidate_table(m) for run in per_run for m in run]
    if blocks and detail:
        blocks.append(Section("Candidates of every mediation", list(detail)))
    return blocks
