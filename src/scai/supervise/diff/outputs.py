"""What `scai diff` leaves in its folder: answers.jsonl, and the report page (report.md,
report.html, diff_map.png) built by `scai.report.diff.diff_page` and written once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scai.report.blocks import Figure
from scai.report.diff import diff_page
from scai.report.export import write_files
from scai.report.figures import pyplot
from scai.supervise.diff.result import DiffResult
from scai.supervise.diff.sampling import Answer

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


def answer_map(xy: np.ndarray, is_a: np.ndarray, clusters: np.ndarray, labels: tuple[str, str],
               significant: set[int], title: str):
    """Answers as points coloured by side; each cluster's id at its centre (* = significant)."""
    plt = pyplot()
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
    return fig


def write_outputs(result: DiffResult, out_dir: Path, x: np.ndarray, is_a: np.ndarray,
                  cl: np.ndarray, answers: Sequence[Answer], *, projection: str = "pca",
                  seed: int = 0, centred: bool = False) -> None:
    """Write answers.jsonl, then the report page (report.md, report.html, diff_map.png);
    record the paths in `result`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    answers_path = out_dir / "answers.jsonl"
    with answers_path.open("w", encoding="utf-8") as fh:
        for a, c in zip(answers, cl.tolist(), strict=True):
            fh.write(json.dumps({**a.model_dump(), "cluster": c}, ensure_ascii=False) + "\n")
    la, lb = result.labels
    fig = answer_map(project(x, projection, seed), is_a, cl, result.labels,
                     {c.id for c in result.clusters if c.significant},
                     f"{la} vs {lb}: answers ({projection.upper()} of "
                     f"{'prompt-centred ' if centred else ''}MiniLM embeddings); "
                     "* = significant cluster")
    result.map_png, result.answers_path = str(out_dir / "diff_map.png"), str(answers_path)
    result.report_md = str(out_dir / "report.md")
    result.report_html = str(out_dir / "report.html")
    write_files(diff_page(result, Figure(fig, name="diff_map", caption="map")), out_dir,
                markdown="report.md", html="report.html")
