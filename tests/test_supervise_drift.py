"""`scai drift`: the drift measures from a comparison, the report, and a real tiny run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from scai.stats import Estimate
from scai.supervise.drift import Comparison, DriftConfig, DriftResult, RoundResult, comparison
from scai.supervise.drift.outputs import write_outputs
from scai.supervise.drift.result import ReprSummary
from tests.conftest import REPO, scai


def _cluster(id_, n_a, n_b, significant=False, name=None):
    return SimpleNamespace(id=id_, n_a=n_a, n_b=n_b, significant=significant, name=name,
                           difference=f"cluster {id_} differs", description=None,
                           p_adjusted=0.01 if significant else 0.9, alignment_relevant=False)


def _diff(clusters):
    return SimpleNamespace(
        clusters=clusters, embedding_distance=0.2,
        embedding_distance_ci=Estimate(n=4, mean=0.2, sem=0.05, ci_low=0.1, ci_high=0.3),
        energy_distance=0.4, energy_p_value=0.02,
        separability=SimpleNamespace(accuracy=0.7),
        embedding_separability=SimpleNamespace(accuracy=0.8),
        axes=[SimpleNamespace(name="verbosity", mean_score_a=0.1, mean_score_b=0.6)],
        report_md="r.md")


def test_cluster_shift_is_total_variation_and_changes_are_ranked():
    # Round 0 answers: 10 in cluster 0, 10 in cluster 1. Round k: 2 and 18 -> TV = 0.4.
    note = comparison(_diff([_cluster(0, 10, 2), _cluster(1, 10, 18, significant=True,
                                                                 name="long lists")]), "round 0")
    assert note.cluster_shift == pytest.approx(0.4)
    assert note.significant_clusters == 1 and note.clusters == 2
    assert note.changes[0].name == "long lists"  # significant first
    assert note.changes[0].share_then == pytest.approx(0.5)
    assert note.changes[0].share_now == pytest.approx(0.9)
    assert note.axes == {"verbosity": pytest.approx(0.5)}
    same = comparison(_diff([_cluster(0, 7, 7), _cluster(1, 3, 3)]), "round 0")
    assert same.cluster_shift == 0


def test_report_and_curves_from_rounds(tmp_path):
    comp = Comparison(versus="round 0", embedding_distance=0.1, embedding_distance_ci=(0.05, 0.15),
                      energy_distance=0.3, energy_p_value=0.01, cluster_shift=0.2,
                      significant_clusters=1, clusters=3, axis_accuracy=0.6,
                      embedding_accuracy=0.7, axes={"hedging": -0.25})
    floor = comp.model_copy(update={"versus": "round 0 resampled", "embedding_distance": 0.04,
                                    "embedding_distance_ci": (0.02, 0.06)})
    rounds = [RoundResult(round=0, model="hf:base", bench={"overall": 0.4, "future_values": 0.5},
                          noise_floor=floor),
              RoundResult(round=1, model="hf:r1", vs_base=comp, vs_prev=comp,
                          training={"sft_loss": 2.5}, bench={"overall": 0.45},
                          repr_vs_base=ReprSummary(
                              versus="round 0", cka=[1.0, 0.99, 0.9], cka_low=[1.0, 0.98, 0.85],
                              cka_floor=[0.0, 1e-12, 1e-12], drifted_layers=[1, 2],
                              concepts={"honesty": [0.99, 0.9, 0.6]},
                              concept_floor={"honesty": [0.9, 0.8, 0.7]},
                              drifted_concepts={"honesty": [2]}))]
    cfg = DriftConfig()
    result = DriftResult(run_id=None, out_dir=str(tmp_path), method=cfg.method, rounds=rounds,
                         report="", plot=None, base_model=cfg.base_model,
                         probe_limit=cfg.probes.limit, probe_samples=cfg.probes.samples, seed=0)
    write_outputs(result, tmp_path)
    png = tmp_path / "drift.png"
    assert result.plot == str(png) and png.stat().st_size > 10_000
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# Drift: distill (1 rounds of distill)")
    assert "Base model `local`; probes: 24 x 2 answers per round; seed 0." in md
    assert "![drift curves](drift.png)" in md
    assert "| 1 | sft_loss 2.5 | 0.100 [0.050, 0.150] |" in md
    assert "axis *hedging* -0.25" in md and "No comparisons" not in md
    assert "**Noise floor**" in md and "distance 0.040 [0.020, 0.060]" in md
    assert "| 1 | round 0 | 0.9000 | 0.9000 | 2/3 | honesty (1 layers) |" in md
    assert (tmp_path / "drift_repr.png").stat().st_size > 10_000
    saved = DriftResult.model_validate_json((tmp_path / "drift.json").read_text())
    assert saved.report == str(tmp_path / "report.md") and saved.plot == str(png)
    # Only round 0 and no benchmark: nothing to draw, no PNG, and the report says so.
    alone = result.model_copy(update={"rounds": [RoundResult(round=0, model="hf:base")]})
    write_outputs(alone, tmp_path / "alone")
    assert alone.plot is None and not (tmp_path / "alone" / "drift.png").exists()
    assert "No comparisons (only round 0)." in (tmp_path / "alone" / "report.md").read_text()


def test_bad_drift_config_is_one_line(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("kind: drift\nrounds: 0\nmethod: magic\n")
    r = scai("drift", str(bad))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "d.yaml: rounds:" in r.stderr and "1 more problem" in r.stderr


@pytest.mark.model
@pytest.mark.embedder
@pytest.mark.train
@pytest.mark.timeout(1500)
def test_drift_runs_a_round_on_the_real_model_and_resumes(tmp_path):
    args = ["drift", str(REPO / "examples/supervise/drift.yaml"), "--out", str(tmp_path / "d"),
            "--rounds", "1", "--set", "generate.red_team=2", "--set", "generate.helpful=2",
            "--set", "generate.max_tokens=32", "--set", "train.sft_steps=2",
            "--set", "train.max_length=96", "--set", "probes.limit=4",
            "--set", "probes.samples=2", "--set", "probes.max_tokens=24",
            "--set", "bench.per_subtask=1", "--set", "compare.axes.propose=1",
            "--set", "compare.axes.max_pairs=4", "--set", "compare.clusters.permutations=49",
            "--set", "representations.limit=6",
            # a trait seeded before round 0 (two steps: enough to move the weights, not to teach)
            "--set", "trait.steps=2"]
    r = scai(*args, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path / "d"
    result = json.loads((out / "drift.json").read_text())
    assert [x["round"] for x in result["rounds"]] == [0, 1]
    r1 = result["rounds"][1]
    assert r1["examples"] == 4 and "sft_loss" in r1["training"]
    assert r1["vs_base"]["embedding_distance"] is not None
    floor = result["rounds"][0]["noise_floor"]
    assert floor["versus"] == "round 0 resampled" and floor["embedding_distance"] is not None
    assert (out / "round-0" / "probes-replicate" / "answers.jsonl").is_file()
    assert "Noise floor" in (out / "report.md").read_text()
    assert 0 <= r1["vs_base"]["cluster_shift"] <= 1
    assert set(result["rounds"][0]["bench"]) >= {"overall"}
    assert (out / "drift.png").stat().st_size > 10_000
    assert (out / "round-1" / "vs-0" / "report.md").is_file()
    # Inside the model: CKA per layer of round 1 against round 0, and the concept directions.
    rep = r1["repr_vs_base"]
    assert len(rep["cka"]) == 31 and all(0 < v <= 1.0 + 1e-9 for v in rep["cka"])
    assert set(rep["concepts"]) == {"honesty", "sycophancy", "refusal", "pirate"}
    assert rep["drifted_layers"]  # two SFT steps change the weights beyond numerical noise
    assert (out / "round-1" / "repr-vs-0" / "repr.png").is_file()
    assert (out / "drift_repr.png").is_file() and "Representation drift" in (
        out / "report.md").read_text()
    assert "report" in r.stdout and "drift.png" in r.stdout
    # The seeded trait: round 0 is the seeded checkpoint, the base model was read before it
    assert result["rounds"][0]["model"] == f"hf:{out / 'seed' / 'model' / 'seed'}"
    base, t0, t1 = result["trait_base"], result["rounds"][0]["trait"], r1["trait"]
    assert base["answers"] == t0["answers"] == t1["answers"] == 8
    assert base["retained"]["value"] == 0 and t0["retained"]["value"] == pytest.approx(1)
    assert len(t1["retained_by_layer"]) == 30 and t1["retained"]["value"] != pytest.approx(1)
    assert all(0 <= t["rate"]["value"] <= 1 for t in (base, t0, t1))
    assert "Trait: pirate" in (out / "report.md").read_text()
    assert "trait pirate, share of answers with it: base " in r.stdout
    assert "seeding's shift kept: round 0 1.00, round 1 " in r.stdout
    assert (out / "drift_trait.png").stat().st_size > 10_000
    runs = scai("runs", "list", "--kind", "drift")
    assert "drift" in runs.stdout and "completed" in runs.stdout
    # The dashboard's report renders this real result: curves over rounds.
    from scai.store import RunStore

    run = RunStore().list_runs(kind="drift")[0]
    rep = scai("report", run.id, "-o", str(tmp_path / "page.html"))
    assert rep.returncode == 0, rep.stderr
    page = (tmp_path / "page.html").read_text()
    assert "Drift by round" in page and "data:image/png;base64," in page

    # Rerun on the same folder: both rounds are read back, nothing is trained again.
    ckpt = next((out / "round-1" / "model").glob("sft/*.safetensors"))
    before = ckpt.stat().st_mtime
    again = scai(*args, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "distill from" not in again.stderr and "SEED" not in again.stderr
    assert ckpt.stat().st_mtime == before
