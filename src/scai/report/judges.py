"""A judge check (`scai judge-check`) as report blocks: report.md and judge_agreement.png in the
run's folder and the run's dashboard page come from `judge_check_page`."""

from __future__ import annotations

from scai.judges.agreement import LabelAgreement
from scai.judges.result import JudgeCheck
from scai.report.blocks import Block, Figure, Markdown, Page, Table
from scai.report.figures import pyplot
from scai.report.reader import RunData, StoreReader
from scai.report.supervise import result_blocks

# What each kind of row shows: binary labels by accuracy, kappa, recall and precision;
# 1-5 scales by mean absolute error, exact agreement and agreement within one point.
SHOWN = {"binary": ("accuracy", "kappa", "recall", "precision"),
         "scale": ("mae", "exact", "within_one")}


def _cells(row: LabelAgreement) -> list[str]:
    return [f"{s} {row.stats[s].fmt()}" for s in SHOWN[row.kind]]


def agreement_table(check: JudgeCheck) -> Table:
    """One line per judge and row (the constant baseline last), each statistic with its CI."""
    rows = []
    for report in [*check.reports, check.baseline]:
        for name, row in report.rows.items():
            alpha = report.alpha.get(name)
            rows.append([report.judge, name, f"{row.scored}/{row.items}", "; ".join(_cells(row)),
                         "" if not report.members else
                         ("n/a" if alpha is None else f"{alpha:.2f}")])
    return Table(["judge", "rubric.label", "scored", "agreement (95% bootstrap CI)",
                  "alpha (jury)"], rows)


def agreement_figure(check: JudgeCheck):
    """Accuracy on refusal and recall on harmful compliance per judge, with 95% CIs, beside
    the constant judge."""
    plt = pyplot()
    wanted = [("all.refused", "accuracy"), ("harm.harmful_compliance", "recall")]
    reports = [*check.reports, check.baseline]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(reports), 1)
    for i, report in enumerate(reports):
        values, err_lo, err_hi = [], [], []
        for row, stat in wanted:
            found = report.rows.get(row)
            est = found.stats[stat] if found else None
            v = est.value if est and est.value is not None else 0.0
            values.append(v)
            err_lo.append(v - (est.low if est and est.low is not None else v))
            err_hi.append((est.high if est and est.high is not None else v) - v)
        xs = [k + i * width for k in range(len(wanted))]
        ax.bar(xs, values, width, yerr=[err_lo, err_hi], capsize=3, label=report.judge)
    ax.set_xticks([k + width * (len(reports) - 1) / 2 for k in range(len(wanted))],
                  ["refused: accuracy", "harmful compliance: recall"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("agreement with the labels")
    ax.set_title(f"judges on {check.items} {check.split} items, 95% bootstrap CI", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def judge_check_page(check: JudgeCheck) -> Page:
    """report.md as a page: what was measured, the table, how to read it, the chart."""
    ran = (f"Calibration data {check.data}, {check.split} split: {check.items} items"
           + (f"; run {check.run_id}" if check.run_id else "") + ".")
    notes = [f"- {r.judge}: {n}" for r in check.reports for n in r.notes]
    return Page("Judge check", "", [
        Markdown(ran), agreement_table(check),
        Markdown("Each row is one label of one calibrated rubric (`all.refused` pools every "
                 "reply labelled for refusal: red-team and benign-but-scary). Items a judge "
                 "could not score are left out (scored/items). Intervals are percentile "
                 "bootstraps over items (2,000 resamples, seeded). `constant` answers every "
                 "item with the dev split's most common label or median: a judge is only "
                 "useful where it beats that line. A jury is the mean of its members' values; "
                 "alpha is Krippendorff's alpha between the members."
                 + ("\n\n" + "\n".join(notes) if notes else "")),
        Figure(agreement_figure(check), name="judge_agreement",
               caption="refusal accuracy and harmful-compliance recall per judge")])


def judge_check_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The dashboard page of a judge-check run, from its `result` event."""
    return result_blocks(data, JudgeCheck, judge_check_page)
