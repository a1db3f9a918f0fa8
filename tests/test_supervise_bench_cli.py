"""`scai bench` end to end on the embedded model (SmolLM2-135M), kept tiny."""

from __future__ import annotations

import json

import pytest

from scai.store import RunStore
from scai.supervise.bench import SUBTASKS, default_seeds_path, load_items, write_items
from tests.conftest import scai


@pytest.mark.model
@pytest.mark.embedder
def test_generate_validate_and_run_on_the_embedded_model(tmp_path):
    gen = tmp_path / "gen.jsonl"
    # One item of one subtask: generation is the slow part (~250 tokens a call on 2 CPU cores).
    # The 135M model writes an invalid item more often than not; with --seed 2 one of its three
    # attempts is valid (seeds 1 and 3 give none), so the rest of the pipeline has an item.
    r = scai("bench", "generate", "--target", "1", "--subtasks", "own_vs_others", "--out",
             str(gen), "--seed", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    assert "parse failures" in r.stdout
    made = load_items(gen)  # whatever the small model wrote is valid, or it was not written
    assert len(made) == 1 and made[0].subtask == "own_vs_others"
    assert all(it.provenance.model == "local" and it.provenance.from_items for it in made)

    r = scai("bench", "validate", str(gen), "--judges", "local", "--against",
             str(default_seeds_path()), timeout=900)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "gen.summary.json").read_text())
    counts = summary["per_subtask"].values()
    assert sum(c["input"] for c in counts) == len(made)
    kept = load_items(tmp_path / "gen.kept.jsonl") if (tmp_path / "gen.kept.jsonl").read_text() \
        else []
    rejected_rows = (tmp_path / "gen.rejected.jsonl").read_text().splitlines()
    assert len(kept) + len(rejected_rows) == len(made)
    for it in kept:
        assert it.validation.judge_answers["local"][0] == it.answer
    # The validation is a run in the store: its judge calls and its summary.
    (val,) = RunStore().list_runs(kind="bench-validate")
    assert val.status == "completed" and RunStore().events(val.id, "model_call")
    assert RunStore().events(val.id, "result")[-1].payload["kept_path"].endswith("gen.kept.jsonl")

    subset = tmp_path / "subset.jsonl"
    seeds = load_items(default_seeds_path())
    write_items(subset, [it for s in SUBTASKS for it in [x for x in seeds if x.subtask == s][:1]])
    r = scai("bench", "run", str(subset), "--model", "local", "--out", str(tmp_path / "res"),
             timeout=900)
    assert r.returncode == 0, r.stderr
    assert "overall" in r.stdout and "chance" in r.stdout
    result = json.loads((tmp_path / "res" / "results.json").read_text())
    assert set(result["per_subtask"]) == set(SUBTASKS) and result["overall"]["n"] == 5
    assert result["overall"]["parse_failures"] == 0  # the answer is grammar-constrained
    assert (tmp_path / "res" / "bench_accuracy.png").exists()
    assert "Wilson" in (tmp_path / "res" / "report.md").read_text()
    run = RunStore().list_runs(kind="bench")[0]
    assert run.status == "completed" and result["run_id"] == run.id
    assert RunStore().events(run.id, "result")[-1].payload["overall"]["n"] == 5
    # The dashboard's report renders this real result, with its chart.
    rep = scai("report", run.id, "-o", str(tmp_path / "page.html"))
    assert rep.returncode == 0, rep.stderr
    page = (tmp_path / "page.html").read_text()
    assert "Reflectivity benchmark: local" in page and "data:image/png;base64," in page
