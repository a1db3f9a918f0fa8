"""Supervise runs (`scai diff`, `scai bench`, `scai drift`) drawn from their `result` event.

Read as plain JSON (not through the supervise models), so a result from an older or newer version
still renders: a missing field is a blank cell, not a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scai.report.blocks import Block, Figure, Heading, Image, Markdown, Notice, Section, Table
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
