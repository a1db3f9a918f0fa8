"""Supervise results render once: the files a command leaves and the run's dashboard page are the
same page of blocks, built from the result model; a result that cannot be read is a notice."""

from __future__ import annotations

from pathlib import Path

from scai.report import StoreReader, pyplot, run_page
from scai.report.as_markdown import PngFolder, to_markdown
from scai.report.bench import bench_blocks
from scai.report.blocks import Figure, Heading, Image, Notice, Page, Table, walk
from scai.report.diff import diff_blocks
from scai.report.drift import drift_blocks
from scai.stats import Estimate
from scai.store import RunStore
from scai.supervise.bench import run_benchmark
from scai.supervise.diff import AxisRow, ClusterRow, DiffResult, Example, Failures, Separability
from scai.supervise.diff.statistics import Clustering
from scai.supervise.drift import Comparison, DriftResult, RoundResult
from tests.bench_backends import answer, client
from tests.test_supervise_bench import _item


def _est(mean: float, lo: float, hi: float) -> Estimate:
    return Estimate(n=8, mean=mean, sem=0.1, ci_low=lo, ci_high=hi)


def _diff_result(map_png: Path | None) -> DiffResult:
    sep = Separability(features="axes", accuracy=0.81, folds=[0.8, 0.82], ci=None, p_value=0.01)
    return DiffResult(
        run_id=None, labels=("short", "long"), n_prompts=4, samples=2, n_answers=16,
        embedding_distance=0.31, embedding_distance_ci=_est(0.31, 0.2, 0.4),
        energy_distance=0.12, energy_p_value=0.01, energy_permutations=99,
        expected_share_a=0.5, clustering=Clustering(labels=[0] * 16, k=2, method="kmeans",
                                                    criterion="silhouette", silhouette=0.3),
        correction="holm", alpha=0.05,
        clusters=[ClusterRow(id=0, size=5, n_a=4, n_b=1, share_a=0.8, share_b=0.2,
                             expected_share_a=0.5, odds_ratio=4.0, p_value=0.01, p_adjusted=0.04,
                             significant=True, name="refuses politely", examples=[Example(
                                 side="short", prompt_id="p1", prompt="Help?", text="No.")])],
        axes=[AxisRow(name="verbosity", description="how long", mean_score_a=0.1,
                      mean_score_b=0.6, mean_score=_est(-0.5, -0.7, -0.3), coefficient=-1.2,
                      disagreements=1, judged=8)],
        separability=sep, embedding_separability=sep.model_copy(update={"features": "embeddings"}),
        failures=Failures(judgements=2), map_png=str(map_png) if map_png else None)


def _logged(kind: str, payload: dict | None, status: str = "completed") -> tuple[StoreReader, str]:
    store = RunStore()
    run = store.create_run(kind, {"kind": kind}, name=f"{kind}-page")
    if payload is not None:
        run.log("result", payload)
    if status != "running":
        run.finish(status)
    return StoreReader(store.root), run.id


def _png(path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(path)
    plt.close(fig)
    return path


def test_bench_report_file_and_dashboard_page_are_the_same_page(tmp_path):
    items = [_item(1, label="A"), _item(2, label="B"), _item(3, "change_events", "true", True)]
    c, _ = client(lambda text, params: answer("A" if "letter" in text else "true"))
    r = run_benchmark("scripted", items, store=RunStore(), client=c, out_dir=tmp_path / "out",
                      progress=False)
    reader = StoreReader()
    blocks = bench_blocks(reader, reader.load(r.run_id))
    assert blocks[0] == Heading("Reflectivity benchmark: scripted")
    table = next(b for b in blocks if isinstance(b, Table))
    assert [row[0] for row in table.rows] == ["own_vs_others", "change_events", "overall"]
    assert table.rows[0][2] == "50.0%" and table.rows[1][2] == "100.0%"
    assert [b.name for b in walk(blocks) if isinstance(b, Figure)] == ["bench_accuracy"]
    # The dashboard's blocks, written as Markdown, are report.md to the byte.
    again = to_markdown(Page(blocks[0].text, "", blocks[1:]), PngFolder(tmp_path, "x", named=True))
    assert again == (tmp_path / "out" / "report.md").read_text()


def test_diff_page_shows_the_stored_map_and_warns_when_it_is_gone(tmp_path):
    result = _diff_result(_png(tmp_path / "diff_map.png"))
    reader, run_id = _logged("diff", result.model_dump(mode="json"))
    page = run_page(reader, run_id)
    kinds = [type(b) for b in page.blocks]
    assert Heading("Behavioural diff: short vs long") in page.blocks and Image in kinds
    cells = [str(v) for b in page.blocks if isinstance(b, Table) for row in b.rows for v in row]
    assert "refuses politely" in cells and "-0.50 [-0.70, -0.30] (n=8)" in cells
    (tmp_path / "diff_map.png").unlink()
    blocks = diff_blocks(reader, reader.load(run_id))
    assert Notice(f"The embedding map {tmp_path / 'diff_map.png'} is missing.", "warning") \
        in blocks


def test_drift_page_draws_the_curves_from_the_result():
    comp = Comparison(versus="round 0", embedding_distance=0.1, embedding_distance_ci=(0.05, 0.15),
                      energy_distance=0.3, energy_p_value=0.01, cluster_shift=0.2,
                      significant_clusters=1, clusters=3, axis_accuracy=0.6,
                      embedding_accuracy=0.7)
    result = DriftResult(run_id=None, out_dir="gone", method="sft", report="", plot=None,
                         rounds=[RoundResult(round=0, model="hf:base", bench={"overall": 0.4}),
                                 RoundResult(round=1, model="hf:r1", vs_base=comp, vs_prev=comp,
                                             bench={"overall": 0.5})])
    reader, run_id = _logged("drift", result.model_dump(mode="json"))
    blocks = drift_blocks(reader, reader.load(run_id))
    assert blocks[0] == Heading("Drift: sft (1 rounds of sft)") and Heading("Drift by round") \
        in blocks
    assert [b.name for b in blocks if isinstance(b, Figure)] == ["drift"]
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.rows[1][:3] == [1, "-", "0.100 [0.050, 0.150]"]


def test_a_result_that_cannot_be_read_is_one_notice_not_a_crash():
    reader, run_id = _logged("diff", {"labels": ["a", "b"], "n_answers": 3})  # abridged, old
    blocks = diff_blocks(reader, reader.load(run_id))
    assert len(blocks) == 1 and blocks[0].level == "error"
    assert "could not be read as a DiffResult" in blocks[0].text
    assert any(isinstance(b, Notice) and "DiffResult" in b.text
               for b in run_page(reader, run_id).blocks)  # the page itself still renders
    reader, run_id = _logged("bench", None)
    assert "recorded no `result` event" in bench_blocks(reader, reader.load(run_id))[0].text
    reader, run_id = _logged("drift", None, status="running")
    assert drift_blocks(reader, reader.load(run_id))[0].text.startswith("No result yet")
