"""`run_cai` end to end with a scripted model (training replaced by its file formats): the files
it leaves come from the report blocks the dashboard shows, finished seeds are not redone, and the
run is recorded in the store it is given."""

from __future__ import annotations

import functools
import json

from scai.cai import pipeline
from scai.cai.cost import COST_METRICS
from scai.cai.stages import eval_stage, run_generate
from scai.cai.train import StageResult, StepRecord, write_training_log
from scai.kinds import load_config
from scai.report.blocks import Figure, Table
from scai.report.cai import cai_blocks
from scai.report.reader import StoreReader
from scai.store import RunStore
from tests.conftest import REPO
from tests.test_cai_rubrics import VERDICTS, JudgeScript

SMALL = ["generate.red_team=2", "generate.helpful=1", "evaluate.red_team=1",
         "evaluate.helpful=1", "evaluate.style=1", "evaluate.over_refusal=1", "evaluate.samples=1"]


def _train(config, data_dir, out_dir, *, seed, progress):
    stages = [StageResult(stage=s, checkpoint=str(out_dir / s), seconds=1.0, examples=2,
                          steps=[StepRecord(stage=s, step=k, values={"loss": 2.0 - 0.3 * k})
                                 for k in range(1, 4)]) for s in ("sft", "dpo")]
    write_training_log(stages, out_dir)
    return stages


def _run(monkeypatch, tmp_path, backend):
    monkeypatch.setattr(pipeline, "run_generate", functools.partial(run_generate, backend=backend))
    monkeypatch.setattr(pipeline, "eval_stage", functools.partial(eval_stage, backend=backend))
    monkeypatch.setattr(pipeline, "run_train", _train)
    config = load_config(REPO / "examples" / "cai" / "quick.yaml", SMALL)
    return pipeline.run_cai(config, tmp_path / "run", seeds=2, progress=False, cache=False,
                            store=RunStore(tmp_path / "runs"))


def test_cai_run_leaves_its_report_from_the_blocks_and_records_the_run(monkeypatch, tmp_path):
    backend = JudgeScript(VERDICTS)
    result = _run(monkeypatch, tmp_path, backend)
    out = tmp_path / "run"
    report = (out / "report.md").read_text()
    assert report.startswith("# CAI report: cai-quick")
    assert "Mean and 95% CI over seeds" in report and "| 1 | dpo |" in report
    assert "| harm | 3.00" in report and "![metrics](metrics.png)" in report
    assert "Judge failures (unparseable verdicts" in report and "Profile `as configured`" in report
    assert (out / "metrics.png").stat().st_size > 1000 and result.plot == str(out / "metrics.png")
    saved = json.loads((out / "results.json").read_text())
    assert [s["seed"] for s in saved["seeds"]] == [0, 1]
    assert list(saved["seeds"][0]["metrics"]["dpo"]) == [
        "attack_success", "harm", "refusal_rate_judge", "refusal_rate_opening",
        "over_refusal_rate", "over_refusal_opening", "helpfulness", "style", *COST_METRICS]
    assert saved["aggregate"]["base"]["harm"]["mean"] == 3.0
    # Per seed: 3 chains x 3 calls, then 3 models x 4 prompts x (answer + verdict).
    calls = len(backend.calls)
    assert calls == 2 * (3 * 3 + 3 * 4 * 2)
    store = RunStore(tmp_path / "runs")
    (info,) = store.list_runs(kind="cai")
    assert info.status == "completed" and len(store.events(info.id, "model_call")) == calls
    # The dashboard page shows the same table and plot (and the training curves).
    reader = StoreReader(tmp_path / "runs")
    blocks = cai_blocks(reader, reader.load(info.id))
    tables = [b for b in blocks if isinstance(b, Table)]
    assert tables[0].rows[1] == ["harm", *["3.00 [3.00, 3.00] (n=2)"] * 3]
    assert {b.name for b in blocks if isinstance(b, Figure)} == {"metrics", "training"}
    # Finished seeds are not redone: a second run only rebuilds the report.
    _run(monkeypatch, tmp_path, backend)
    assert len(backend.calls) == calls


def test_a_results_file_of_before_still_renders(tmp_path):
    # results.json as written before rubrics were data: no name, no about.
    out = tmp_path / "old"
    out.mkdir()
    est = {"mean": 0.5, "ci_low": None, "ci_high": None, "n": 1, "sem": None}
    (out / "results.json").write_text(json.dumps({
        "out_dir": str(out), "profile": "quick", "report": "", "plot": None,
        "seeds": [{"seed": 0, "metrics": {"base": {"attack_success": 0.5, "helpfulness": 4.0}},
                   "judge_failures": {"base": {"harm": 1}}, "pairs": 3, "seconds": {}}],
        "aggregate": {"base": {"attack_success": est, "helpfulness": {**est, "mean": 4.0}}}}))
    store = RunStore(tmp_path / "runs")
    run = store.create_run("cai", {"kind": "cai"})
    run.log("start", {"out_dir": str(out)})
    run.finish("completed", summary={"out_dir": str(out)})
    reader = StoreReader(tmp_path / "runs")
    blocks = cai_blocks(reader, reader.load(run.id))
    table = next(b for b in blocks if isinstance(b, Table))
    assert [r[0] for r in table.rows] == ["attack_success", "helpfulness"]
