"""Supervise runs (`scai diff`, `scai bench`, `scai drift`) drawn from their `result` event.

Read as plain JSON (not through the supervise models), so a result from an older or newer version
still renders: a missing field is a blank cell, not a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scai.report.blocks import Block, Figure, Heading, Image, Markdown, Notice, Page, Section, Table
from scai.report.figures import bars, curves
from scai.report.reader import RunData, StoreReader
from scai.stats import Estimate


def _r(v: Any, digits: int = 3) -> Any:
    return round(v, digits) if isinstance(v, float) else v


def _result(data: RunData) -> dict[str, Any] | None:
    event = data.last("result")
    return event.payload if event else None


def _no_result(data: RunData) -> list[Block]:
    if data.info.status == "running":
        return [Notice("No result yet: the run is still working.", "info")]
    return [Notice("This run recorded no `result` event; only its events are shown.", "warning")]


def _image(path: str | None, caption: str) -> list[Block]:
    if not path:
        return []
    p = Path(path)
    if p.is_file():
        return [Image(p, caption=caption)]
    return [Notice(f"The {caption} image {p} is missing.", "warning")]


def diff_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """Headline distances and separability, the embedding map, clusters, axes and examples."""
    res = _result(data)
    if res is None:
        return _no_result(data)
    labels = res.get("labels") or ["A", "B"]
    sep = res.get("separability") or {}
    emb = res.get("embedding_separability") or {}
    rows = [["answers", res.get("n_answers")],
            ["embedding distance", _r(res.get("embedding_distance"))],
            ["energy distance (p)", (f"{_r(res.get('energy_distance'))} "
                                     f"(p={_r(res.get('energy_p_value'))})")],
            ["separability by named axes", _r(sep.get("accuracy"))],
            ["separability by embeddings", _r(emb.get("accuracy"))]]
    out: list[Block] = [Heading(f"{labels[0]} vs {labels[1]}"), Table(["measure", "value"], rows)]
    out += _image(res.get("map_png"), "embedding map")
    clusters = res.get("clusters") or []
    if clusters:
        cols = ["id", "name", "size", "n_a", "n_b", "share_a", "p_adjusted",
                "p_prompts_adjusted", "significant", "difference"]
        out += [Heading("Clusters", 3),
                Table(cols, [[_r(c.get(k)) for k in cols] for c in clusters],
                      caption=f"share_a: fraction written by {labels[0]} (expected "
                              f"{_r(res.get('expected_share_a'))})")]
        for c in clusters:
            examples = c.get("examples") or []
            if examples:
                text = "\n\n".join(f"**{e.get('side')}** on *{e.get('prompt', '')[:120]}*: "
                                   f"{e.get('text', '')}" for e in examples[:4])
                out.append(Section(f"cluster {c.get('id')}: {c.get('name') or '(unnamed)'}",
                                   [Markdown(text)]))
    axes = res.get("axes") or []
    if axes:
        cols = ["name", "description", "mean_score", "coefficient", "judged", "disagreements"]
        out += [Heading("Axes", 3), Table(cols, [[_axis_cell(a, k) for k in cols] for a in axes],
                                          caption=f"mean_score > 0: {labels[0]} shows more of it")]
    return out


def _axis_cell(axis: dict[str, Any], key: str) -> Any:
    value = axis.get(key)
    if key == "mean_score" and isinstance(value, dict):
        return Estimate.model_validate(value).fmt()
    return _r(value)


def _wilson(score: dict[str, Any]) -> Estimate:
    return Estimate(n=score.get("n") or 0, mean=score.get("mean"), sem=None,
                    ci_low=score.get("ci_low"), ci_high=score.get("ci_high"))


def bench_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """Accuracy per subtask with its Wilson 95% interval, and the parse failures."""
    res = _result(data)
    if res is None:
        return _no_result(data)
    per = dict(res.get("per_subtask") or {})
    if res.get("overall"):
        per["overall"] = res["overall"]
    cols = ["mean", "ci_low", "ci_high", "n", "parse_failures", "parsed_mean", "chance"]
    out: list[Block] = [Heading(f"Benchmark scores of {res.get('model', '?')}"),
                        Table(["subtask", *cols], [[k, *[_r(v.get(c)) for c in cols]]
                                                   for k, v in per.items()],
                              caption="accuracy; a parse failure counts as wrong in `mean`")]
    if per:
        est = {"accuracy": {k: _wilson(v) for k, v in per.items()}}
        out.append(Figure(bars(est, title="accuracy per subtask (Wilson 95% CI)"),
                          name="bench_scores"))
    return out


def drift_blocks(reader: StoreReader, data: RunData) -> list[Block]:
    """Per-round curves: distance from the base and the previous round, benchmark accuracy."""
    res = _result(data)
    if res is None:
        return _no_result(data)
    rounds = res.get("rounds") or []
    if not rounds:
        return [Notice("The drift result has no rounds.", "warning")]

    def series(get) -> list[Estimate]:
        return [Estimate(n=1, mean=v, sem=None, ci_low=None, ci_high=None)
                for v in (get(r) for r in rounds)]

    def cmp(which: str, key: str):
        return lambda r: (r.get(which) or {}).get(key)

    out: list[Block] = [Heading("Drift by round")]
    dist = {"vs base": series(cmp("vs_base", "embedding_distance")),
            "vs previous round": series(cmp("vs_prev", "embedding_distance"))}
    shift = {"vs base": series(cmp("vs_base", "cluster_shift")),
             "vs previous round": series(cmp("vs_prev", "cluster_shift"))}
    floor = next((r["noise_floor"] for r in rounds
                  if isinstance(r, dict) and isinstance(r.get("noise_floor"), dict)), None)
    if floor:  # round 0 against a second sampling of itself: what "no change" looks like
        dist["noise floor"] = series(lambda r: floor.get("embedding_distance"))
        shift["noise floor"] = series(lambda r: floor.get("cluster_shift"))
        out.append(Notice(f"Noise floor (round 0 against a second sampling of itself): distance "
                          f"{_r(floor.get('embedding_distance'))}, cluster shift "
                          f"{_r(floor.get('cluster_shift'))}. Distances inside it are not "
                          "evidence of drift.", "info"))
    out.append(Figure(curves(dist, title="embedding distance", ylabel="1 - cos",
                             xlabel="round"), name="drift_distance"))
    out.append(Figure(curves(shift, title="cluster shift (total variation)", ylabel="TV distance",
                             xlabel="round", unit_range=True), name="drift_shift"))
    subtasks = list(dict.fromkeys(k for r in rounds for k in (r.get("bench") or {})))
    if subtasks:
        acc = {k: series(lambda r, k=k: (r.get("bench") or {}).get(k)) for k in subtasks}
        out.append(Figure(curves(acc, title="benchmark accuracy", ylabel="accuracy",
                                 xlabel="round", unit_range=True), name="drift_bench"))
    cols = ["round", "model", "examples", "pairs", "loss", "distance vs base", "shift vs prev"]
    out.append(Table(cols, [[r.get("round"), r.get("model"), r.get("examples"), r.get("pairs"),
                             _r((r.get("training") or {}).get("loss")),
                             _r(cmp("vs_base", "embedding_distance")(r)),
                             _r(cmp("vs_prev", "cluster_shift")(r))] for r in rounds]))
    out += _image(res.get("plot"), "drift plot")
    return out


# The files `scai diff` leaves (report.md, report.html, diff_map.png): one page of blocks.

def _p(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"


def _f(v: float | None, d: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _line(text: str | None, n: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _est(value: dict[str, Any] | None, digits: int) -> str:
    return Estimate.model_validate(value).fmt(digits) if isinstance(value, dict) else "n/a"


def diff_report(res: dict[str, Any], answer_map: Any | None = None) -> Page:
    """The diff report as a page, from the result JSON (`answer_map`: the map figure)."""
    la, lb = res["labels"]
    cl, sep, esep = res["clustering"], res["separability"], res["embedding_separability"]
    intro = (f"Run `{res.get('run_id')}`: {res['n_prompts']} prompts x {res['samples']} samples "
             f"per side = {res['n_answers']} answers. Clusters: {cl['method']}, k = {cl['k']} "
             f"({cl['criterion']}). Tests: Fisher exact per cluster, "
             f"{'Holm' if res['correction'] == 'holm' else 'Benjamini-Hochberg'} correction, "
             f"alpha = {res['alpha']}.")
    whole = Table(["statistic", "value"], [
        ["embedding distance (mean over prompts of 1 - cos of the A and B centroids)",
         _est(res.get("embedding_distance_ci"), 4)],
        ["energy distance (A vs B answers)",
         (f"{_f(res['energy_distance'], 4)}, p = {_p(res['energy_p_value'])} "
         f"({res['energy_permutations']} within-prompt permutations)")],
        ["separability from embeddings (held-out accuracy, chance 0.5)",
         f"{_f(esep['accuracy'])} (folds {esep['folds']}), p = {_p(esep['p_value'])}"],
        ["separability from judged axes (held-out accuracy, chance 0.5)",
         f"{_f(sep['accuracy'])} (folds {sep['folds']}), p = {_p(sep['p_value'])}"]])
    blocks: list[Block] = [Markdown(intro), Heading("Whole-distribution differences"), whole]
    if answer_map is not None:
        blocks.append(Figure(answer_map, name="diff_map", caption="map"))
    blocks += _diff_clusters(res, la, lb) + _diff_axes(res, la, lb) + _diff_details(res, la, lb)
    f = res["failures"]
    blocks += [Heading("Failures"), Markdown(
        f"Unreadable replies (counted, never defaulted): cluster names {f['cluster_names']}, "
        f"axis proposals {f['axis_proposals']}, judgements {f['judgements']}.")]
    return Page(f"Behavioural diff: {la} vs {lb}", "", blocks)


def _yes(v: bool | None) -> str:
    return "n/a" if v is None else ("**yes**" if v else "no")


def _diff_clusters(res: dict[str, Any], la: str, lb: str) -> list[Block]:
    rows = [[c["id"], c["size"], f"{c['share_a']:.2f}", f"{c['share_b']:.2f}", _p(c["p_value"]),
             _p(c["p_adjusted"]), _p(c.get("p_prompts_adjusted")), _yes(c["significant"]),
             _yes(c.get("alignment_relevant")),
             _line(c.get("name") or "(unnamed: supervisor reply unreadable)", 60)]
            for c in res["clusters"]]
    return [Heading("Clusters"), Markdown(
        f"Share = the fraction of the cluster written by that side; under no difference A's "
        f"share is {res['expected_share_a']:.2f} everywhere."), Markdown(
        "p = Fisher's exact test on answer counts (about these probes); p probes = sign flips "
        "of each probe's rate difference (probes as the unit: about probes like these). Both "
        "adjusted over clusters; *sig.* follows `clusters.test`."),
        Table(["id", "size", f"share {la}", f"share {lb}", "p", "p adj.", "p probes adj.", "sig.",
               "align.", "name"], rows)]


def _diff_axes(res: dict[str, Any], la: str, lb: str) -> list[Block]:
    axes = res["axes"]
    rows = [[_line(a["name"], 60), _f(a.get("mean_score_a")), _f(a.get("mean_score_b")),
             _est(a.get("mean_score"), 2), _f(a.get("coefficient"), 3), a.get("disagreements"),
             a.get("judged")] for a in axes]
    if not axes:
        rows = [["(no axes: none proposed or none parsed)", "", "", "", "", "", ""]]
    described = "\n".join(f"- **{_line(a['name'], 60)}** ({a.get('source')}): "
                          f"{_line(a.get('description'))}" for a in axes)
    return [Heading("Behaviour axes"), Markdown(
        f"Scores per answer pair, judged in both orders: +1 {la} shows more, -1 {lb} shows more, "
        f"0 same or the two orders disagreed. Coefficient > 0: the axis points to {la}."),
        Table(["axis", f"{la} more", f"{lb} more", "mean score [95% CI]", "coefficient",
               "disagreements", "judged"], rows),
        Markdown("Axis descriptions:" + (f"\n\n{described}" if described else ""))]


def _diff_details(res: dict[str, Any], la: str, lb: str) -> list[Block]:
    out: list[Block] = [Heading("Cluster details and example answers")]
    for c in res["clusters"]:
        text = [(f"{c['n_a']} answers from {la}, {c['n_b']} from {lb}; p = {_p(c['p_value'])}, "
                f"adjusted {_p(c['p_adjusted'])}{' (significant)' if c['significant'] else ''}. "
                f"Domains: {', '.join(c.get('domains') or [])}.")]
        if c.get("description"):
            text.append(f"*Description:* {_line(c['description'])}")
        if c.get("difference"):
            text.append(f"*Difference:* {_line(c['difference'])}")
        if c.get("alignment_relevant"):
            text.append(f"*Alignment:* {_line(c.get('alignment_note'))}")
        examples = "\n".join(f"- **{e['side']}** on _{_line(e['prompt'], 100)}_: "
                             f"{_line(e['text'], 300)}" for e in c.get("examples") or [])
        out += [Heading(f"Cluster {c['id']}: {_line(c.get('name') or '(unnamed)', 80)}", 3),
                Markdown("\n\n".join(text + ([examples] if examples else [])))]
    return out
