"""The diff report: a 2-D map of the answers (PNG), and Markdown and HTML with the tables."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from scai.supervise.diff.result import DiffResult

COLOURS = ("#1f77b4", "#d62728")


def project(x: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates of the rows of `x`: PCA, or t-SNE (PCA below 10 rows)."""
    if len(x) < 2:
        return np.zeros((len(x), 2))
    if method == "tsne" and len(x) >= 10:
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), random_state=seed,
                    init="pca", metric="cosine").fit_transform(x)
    from sklearn.decomposition import PCA

    xy = PCA(n_components=min(2, x.shape[1], len(x)), random_state=seed).fit_transform(x)
    return xy if xy.shape[1] == 2 else np.c_[xy, np.zeros(len(xy))]


def draw_map(xy: np.ndarray, is_a: np.ndarray, clusters: np.ndarray, labels: tuple[str, str],
             significant: set[int], path: Path, title: str) -> Path:
    """Answers as points coloured by side; each cluster's id at its centre (* = significant)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6), dpi=110)
    for mask, colour, label, marker in ((is_a, COLOURS[0], labels[0], "o"),
                                        (~is_a, COLOURS[1], labels[1], "^")):
        ax.scatter(xy[mask, 0], xy[mask, 1], s=22, c=colour, alpha=0.6, marker=marker,
                   label=f"{label} ({int(mask.sum())})", edgecolors="none")
    for c in sorted(set(clusters.tolist())):
        if c < 0:
            continue
        cx, cy = xy[clusters == c].mean(0)
        ax.annotate(f"{c}{'*' if c in significant else ''}", (cx, cy), fontsize=11,
                    fontweight="bold", ha="center", va="center",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8, "lw": 0.5})
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _p(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"


def _f(v: float | None, d: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{d}f}"


def _one_line(text: str, n: int = 400) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 3] + "..."


def markdown(r: DiffResult) -> str:
    """The whole report as Markdown (the map is linked as a file next to it)."""
    la, lb = r.labels
    sep, esep = r.separability, r.embedding_separability
    lines = [
        f"# Behavioural diff: {la} vs {lb}", "",
        (f"Run `{r.run_id}`: {r.n_prompts} prompts x {r.samples} samples per side = "
        f"{r.n_answers} answers. Clusters: {r.clustering.method}, k = {r.clustering.k} "
        f"({r.clustering.criterion}). Tests: Fisher exact per cluster, "
        f"{'Holm' if r.correction == 'holm' else 'Benjamini-Hochberg'} correction, "
        f"alpha = {r.alpha}."), "",
        "## Whole-distribution differences", "",
        "| statistic | value |", "|---|---|",
        (f"| embedding distance (mean over prompts of 1 - cos of the A and B centroids) | "
        f"{r.embedding_distance_ci.fmt(4)} |"),
        (f"| energy distance (A vs B answers) | {_f(r.energy_distance, 4)}, p = "
        f"{_p(r.energy_p_value)} ({r.energy_permutations} within-prompt permutations) |"),
        (f"| separability from embeddings (held-out accuracy, chance 0.5) | "
        f"{_f(esep.accuracy)} (folds {esep.folds}), p = {_p(esep.p_value)} |"),
        (f"| separability from judged axes (held-out accuracy, chance 0.5) | "
        f"{_f(sep.accuracy)} (folds {sep.folds}), p = {_p(sep.p_value)} |"),
        "", f"![map]({Path(r.map_png).name})" if r.map_png else "", "",
        "## Clusters", "",
        (f"Share = the fraction of the cluster written by that side; under no difference A's "
        f"share is {r.expected_share_a:.2f} everywhere."), "",
        ("p = Fisher's exact test on answer counts (about these probes); p probes = sign flips "
         "of each probe's rate difference (probes as the unit: about probes like these). Both "
         "adjusted over clusters; *sig.* follows `clusters.test`."), "",
        "| id | size | share " + la + " | share " + lb + " | p | p adj. | p probes adj. | sig. "
        "| align. | name |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in r.clusters:
        lines.append(
            f"| {c.id} | {c.size} | {c.share_a:.2f} | {c.share_b:.2f} | {_p(c.p_value)} | "
            f"{_p(c.p_adjusted)} | {_p(c.p_prompts_adjusted)} | "
            f"{'**yes**' if c.significant else 'no'} | "
            f"{'n/a' if c.alignment_relevant is None else ('**yes**' if c.alignment_relevant else 'no')}"
            f" | {_one_line(c.name or '(unnamed: supervisor reply unreadable)', 60)} |")
    lines += ["", "## Behaviour axes", "",
              "Scores per answer pair, judged in both orders: +1 " + la + " shows more, -1 " + lb
              + " shows more, 0 same or the two orders disagreed. Coefficient > 0: the axis "
              "points to " + la + ".", "",
              (f"| axis | {la} more | {lb} more | mean score [95% CI] | coefficient | "
              "disagreements | judged |"), "|---|---|---|---|---|---|---|"]
    for a in r.axes:
        lines.append(f"| {_one_line(a.name, 60)} | {_f(a.mean_score_a)} | {_f(a.mean_score_b)} | "
                     f"{a.mean_score.fmt(2)} | {_f(a.coefficient, 3)} | {a.disagreements} | "
                     f"{a.judged} |")
    if not r.axes:
        lines.append("| (no axes: none proposed or none parsed) | | | | | | |")
    lines += ["", "Axis descriptions:", ""]
    lines += [f"- **{_one_line(a.name, 60)}** ({a.source}): {_one_line(a.description)}"
              for a in r.axes]
    lines += ["", "## Cluster details and example answers", ""]
    for c in r.clusters:
        lines += [f"### Cluster {c.id}: {_one_line(c.name or '(unnamed)', 80)}", "",
                  (f"{c.n_a} answers from {la}, {c.n_b} from {lb}; p = {_p(c.p_value)}, adjusted "
                  f"{_p(c.p_adjusted)}{' (significant)' if c.significant else ''}. "
                  f"Domains: {', '.join(c.domains)}."), ""]
        if c.description:
            lines += [f"*Description:* {_one_line(c.description)}", ""]
        if c.difference:
            lines += [f"*Difference:* {_one_line(c.difference)}", ""]
        if c.alignment_relevant:
            lines += [f"*Alignment:* {_one_line(c.alignment_note or '')}", ""]
        for e in c.examples:
            lines.append(f"- **{e.side}** on _{_one_line(e.prompt, 100)}_: "
                         f"{_one_line(e.text, 300)}")
        lines.append("")
    f = r.failures
    lines += ["## Failures", "",
              (f"Unreadable replies (counted, never defaulted): cluster names {f.cluster_names}, "
              f"axis proposals {f.axis_proposals}, judgements {f.judgements}."), ""]
    return "\n".join(lines)


def to_html(md: str, map_png: Path | None, title: str) -> str:
    """A self-contained HTML page: the Markdown rendered simply, the map inlined as base64."""
    body = []
    in_table = False
    in_list = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if set(line) <= set("|-"):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
                body.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("!["):
            if map_png and Path(map_png).exists():
                data = base64.b64encode(Path(map_png).read_bytes()).decode()
                body.append(f'<img alt="map" src="data:image/png;base64,{data}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    if in_list:
        body.append("</ul>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:3px 8px;font-size:0.9em;text-align:left}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def _inline(text: str) -> str:
    import re

    text = html.escape(text.replace("\\|", "|"))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    text = re.sub(r"(?<![\w*])\*(.+?)\*(?!\w)", r"<i>\1</i>", text)
    return re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"<i>\1</i>", text)
