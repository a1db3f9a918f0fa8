"""A behavioural diff (`scai diff`) as report blocks, rendered once: the files the command leaves
(report.md, report.html, diff_map.png) and the run's dashboard page come from `diff_page`.

The command passes the answer map as a figure it has just drawn; the dashboard passes the
`diff_map.png` the run left on disk (the embeddings it was drawn from are not in the store).
"""

from __future__ import annotations

from pathlib import Path

from scai.report.blocks import Block, Heading, Image, Markdown, Notice, Page, Table
from scai.report.reader import RunData, StoreReader
from scai.report.supervise import result_blocks
from scai.stats import Estimate
from scai.supervise.diff.result import DiffResult


def _p(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"


def _f(v: float | None, d: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _line(text: str | None, n: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _est(value: Estimate | None, digits: int) -> str:
    return value.fmt(digits) if value is not None else "n/a"


def _yes(v: bool | None) -> str:
    return "n/a" if v is None else ("**yes**" if v else "no")


def diff_page(r: DiffResult, answer_map: Block | None = None) -> Page:
    """The diff report as a page; `answer_map` is the map (a Figure named `diff_map` when the
    command draws it, an Image of the stored PNG on the dashboard)."""
    la, lb = r.labels
    cl, sep, esep = r.clustering, r.separability, r.embedding_separability
    intro = (f"Run `{r.run_id}`: {r.n_prompts} prompts x {r.samples} samples "
             f"per side = {r.n_answers} answers. Clusters: {cl.method}, k = {cl.k} "
             f"({cl.criterion}). Tests: Fisher exact per cluster, "
             f"{'Holm' if r.correction == 'holm' else 'Benjamini-Hochberg'} correction, "
             f"alpha = {r.alpha}.")
    whole = Table(["statistic", "value"], [
        ["embedding distance (mean over prompts of 1 - cos of the A and B centroids)",
         _est(r.embedding_distance_ci, 4)],
        ["energy distance (A vs B answers)",
         (f"{_f(r.energy_distance, 4)}, p = {_p(r.energy_p_value)} "
          f"({r.energy_permutations} within-prompt permutations)")],
        ["separability from embeddings (held-out accuracy, chance 0.5)",
         f"{_f(esep.accuracy)} (folds {esep.folds}), p = {_p(esep.p_value)}"],
        ["separability from judged axes (held-out accuracy, chance 0.5)",
         f"{_f(sep.accuracy)} (folds {sep.folds}), p = {_p(sep.p_value)}"]])
    blocks: list[Block] = [Markdown(intro), Heading("Whole-distribution differences"), whole]
    if answer_map is not None:
        blocks.append(answer_map)
    blocks += _clusters(r, la, lb) + _axes(r, la, lb) + _details(r, la, lb)
    f = r.failures
    blocks += [Heading("Failures"), Markdown(
        f"Unreadable replies (counted, never defaulted): cluster names {f.cluster_names}, "
        f"axis proposals {f.axis_proposals}, judgements {f.judgements}.")]
    return Page(f"Behavioural diff: {la} vs {lb}", "", blocks)


def _clusters(r: DiffResult, la: str, lb: str) -> list[Block]:
    rows = [[c.id, c.size, f"{c.share_a:.2f}", f"{c.share_b:.2f}", _p(c.p_value),
             _p(c.p_adjusted), _p(c.p_prompts_adjusted), _yes(c.significant),
             _yes(c.alignment_relevant),
             _line(c.name or "(unnamed: supervisor reply unreadable)", 60)]
            for c in r.clusters]
    return [Heading("Clusters"), Markdown(
        f"Share = the fraction of the cluster written by that side; under no difference A's "
        f"share is {r.expected_share_a:.2f} everywhere."), Markdown(
        "p = Fisher's exact test on answer counts (about these probes); p probes = sign flips "
        "of each probe's rate difference (probes as the unit: about probes like these). Both "
        "adjusted over clusters; *sig.* follows `clusters.test`."),
        Table(["id", "size", f"share {la}", f"share {lb}", "p", "p adj.", "p probes adj.", "sig.",
               "align.", "name"], rows)]


def _axes(r: DiffResult, la: str, lb: str) -> list[Block]:
    rows = [[_line(a.name, 60), _f(a.mean_score_a), _f(a.mean_score_b),
             _est(a.mean_score, 2), _f(a.coefficient, 3), a.disagreements, a.judged]
            for a in r.axes]
    if not r.axes:
        rows = [["(no axes: none proposed or none parsed)", "", "", "", "", "", ""]]
    described = "\n".join(f"- **{_line(a.name, 60)}** ({a.source}): {_line(a.description)}"
                          for a in r.axes)
    return [Heading("Behaviour axes"), Markdown(
        f"Scores per answer pair, judged in both orders: +1 {la} shows more, -1 {lb} shows more, "
        f"0 same or the two orders disagreed. Coefficient > 0: the axis points to {la}."),
        Table(["axis", f"{la} more", f"{lb} more", "mean score [95% CI]", "coefficient",
               "disagreements", "judged"], rows),
        Markdown("Axis descriptions:" + (f"\n\n{described}" if described else ""))]


def _details(r: DiffResult, la: str, lb: str) -> list[Block]:
    out: list[Block] = [Heading("Cluster details and example answers")]
    for c in r.clusters:
        text = [(f"{c.n_a} answers from {la}, {c.n_b} from {lb}; p = {_p(c.p_value)}, "
                 f"adjusted {_p(c.p_adjusted)}{' (significant)' if c.significant else ''}. "
                 f"Domains: {', '.join(c.domains)}.")]
        if c.description:
            text.append(f"*Description:* {_line(c.description)}")
        if c.difference:
            text.append(f"*Difference:* {_line(c.difference)}")
        if c.alignment_relevant:
            text.append(f"*Alignment:* {_line(c.alignment_note)}")
        examples = "\n".join(f"- **{e.side}** on _{_line(e.prompt, 100)}_: {_line(e.text, 300)}"
                             for e in c.examples)
        out += [Heading(f"Cluster {c.id}: {_line(c.name or '(unnamed)', 80)}", 3),
                Markdown("\n\n".join(text + ([examples] if examples else [])))]
    return out


def stored_map(r: DiffResult) -> Block | None:
    """The map PNG the run left (an Image), a warning when it is gone, None when none was made."""
    if not r.map_png:
        return None
    path = Path(r.map_png)
    if path.is_file():
        return Image(path, caption="map")
    return Notice(f"The embedding map {path} is missing.", "warning")


def diff_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """The dashboard page of a diff run: the report's page, from its `result` event."""
    return result_blocks(data, DiffResult, lambda r: diff_page(r, stored_map(r)))
