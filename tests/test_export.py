"""`scai runs export`: a run's data as a Hugging Face dataset (save_to_disk, Parquet, JSONL with
a dataset card) and its metrics as TensorBoard event files, from small scripted runs."""

from __future__ import annotations

import functools
import json

import pytest
import yaml

from scai.cai import pipeline
from scai.cai.evaluate import ModelScores
from scai.cai.train import StageResult, StepRecord, write_training_log
from scai.contract import simulate
from scai.converse import run_converse
from scai.export import config_hash, export_dataset, export_tensorboard
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.contract_script import ContractScript
from tests.converse_script import AgentScript
from tests.scripted import ScriptedBackend
from tests.test_contract_loop import config as contract_config
from tests.test_converse_runs import write as converse_scenario

datasets = pytest.importorskip("datasets")


def _train(config, data_dir, out_dir, *, seed, progress):
    """Training replaced by its file format: two logged steps per stage, via the real writer."""
    stages = [StageResult(stage=s, checkpoint=str(out_dir / s), seconds=1.0, examples=2, steps=[
        StepRecord(stage=s, step=k, values={"loss": 2.0 - 0.5 * k + seed}) for k in (1, 2)])
        for s in ("sft", "dpo")]
    write_training_log(stages, out_dir)
    return stages


def _evaluate(config, models, out_dir, *, data_dir, seed, cache, progress, on_call=None,
              store=None):
    return {m: ModelScores(attack_success=0.5 - 0.1 * i, harm=1.0, refusal_rate_judge=0.0,
                           refusal_rate_opening=0.0, helpfulness=3.0 + seed, style=0.5,
                           judge_failures={}, answers=2) for i, m in enumerate(models)}


@pytest.fixture
def cai_run(tmp_path, monkeypatch) -> str:
    """A recorded `run_cai` over two seeds: real critique/revision by a scripted model (each call
    answers differently, so every revision differs from its answer), training and evaluation
    by their file formats."""
    config = load_config(REPO / "examples" / "cai" / "quick.yaml",
                         ["generate.red_team=2", "generate.helpful=1", "generate.rounds=1"])
    monkeypatch.setattr(pipeline, "run_generate", functools.partial(
        pipeline.run_generate, backend=ScriptedBackend(rule=lambda m, p: f"answer {p.seed}")))
    monkeypatch.setattr(pipeline, "run_train", _train)
    monkeypatch.setattr(pipeline, "eval_stage", _evaluate)
    pipeline.run_cai(config, tmp_path / "cai", seeds=2, progress=False, store=RunStore())
    return RunStore().list_runs(kind="cai")[0].id


def card_front(folder) -> dict:
    text = (folder / "README.md").read_text()
    return yaml.safe_load(text.split("---")[1])


def test_cai_pairs_and_sft_reload_from_disk_and_from_parquet_with_a_card(cai_run, tmp_path):
    out, _ = export_dataset(None, cai_run, "hf-dataset", tmp_path / "hf")
    loaded = datasets.load_from_disk(str(out))
    pairs = [json.loads(line) for s in (0, 1)
             for line in (tmp_path / "cai" / f"seed-{s}" / "data" / "pairs.jsonl").open()]
    assert set(loaded) == {"pairs", "sft"} and len(loaded["pairs"]) == len(pairs) > 0
    assert sorted(loaded["pairs"]["seed"]) == sorted([0] * (len(pairs) // 2) + [1] * (len(pairs) // 2))
    first = loaded["pairs"][0]
    assert (first["prompt"], first["chosen"], first["rejected"]) == (
        pairs[0]["prompt"], pairs[0]["chosen"], pairs[0]["rejected"])
    assert loaded["sft"][0]["messages"][0]["role"] == "user"
    front = card_front(out)
    info = RunStore().get(cai_run)
    assert {c["config_name"]: c["splits"][0]["num_examples"] for c in front["dataset_info"]} == {
        "pairs": len(pairs), "sft": len(loaded["sft"])}
    assert f"`{config_hash(info.config)}`" in (out / "README.md").read_text()

    out, _ = export_dataset(None, cai_run, "dataset-parquet", tmp_path / "pq")
    again = datasets.load_dataset("parquet", data_files=str(out / "pairs.parquet"))["train"]
    assert again.to_list() == loaded["pairs"].to_list()
    by_card = datasets.load_dataset(str(out), "sft")["train"]  # the card's configs
    assert by_card.to_list() == loaded["sft"].to_list()


def test_contract_episodes_carry_lines_constitution_and_outcome(tmp_path):
    sim = simulate(contract_config(tmp_path, epochs=2), out_dir=tmp_path / "o", progress=False,
                   backend=ContractScript(offer_share=0.25))
    run_id = sim.runs[0].run_id
    out, _ = export_dataset(None, run_id, "dataset-jsonl", tmp_path / "jsonl")
    rows = datasets.load_dataset("json", data_files=str(out / "episodes.jsonl"))["train"]
    assert len(rows) == len(RunStore().events(run_id, "episode")) == 12
    assert sorted(set(rows["epoch"])) == [0, 1]
    row = rows[0]
    assert row["messages"] and {m["role"] for m in row["messages"]} == {"proposer", "responder"}
    assert row["constitution"] == sim.runs[0].epochs[0].constitution.text()
    assert json.loads(row["outcome"])["offer"] == row["outcome_offer"]
    assert card_front(out)["configs"] == [{"config_name": "episodes",
                                           "data_files": "episodes.jsonl"}]


def test_converse_statements_and_the_cli(tmp_path):
    result = run_converse(load_config(converse_scenario(tmp_path)), RunStore(), runs=1,
                          out_dir=tmp_path / "conv", progress=False, backend=AgentScript())
    run_id = result.runs[0].run_id
    done = scai("runs", "export", run_id, "--format", "hf-dataset", "--out", str(tmp_path / "ds"))
    assert done.returncode == 0 and "statements" in done.stdout, done.stderr
    rows = datasets.load_from_disk(str(tmp_path / "ds"))["statements"]
    transcript = json.loads((tmp_path / "conv" / "transcript.json").read_text())
    assert rows["content"][:len(transcript["statements"])] == [
        s["content"] for s in transcript["statements"]]
    assert {"A", "B"} <= set(rows["speaker"])
    wrong = scai("runs", "export", run_id, "--format", "dataset-xml")
    assert wrong.returncode == 2 and "hf-dataset" in wrong.stderr
    judged = scai("runs", "export", run_id, "--format", "tensorboard", "-o", str(tmp_path / "tb"))
    assert judged.returncode == 0, judged.stderr
    assert tb_scalars(tmp_path / "tb")["judge/j/disagreement"] == [(0, 5.0)]  # the script's 5


def tb_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, round(e.value, 5)) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_contract_epochs_as_tensorboard_scalars_match_the_store(tmp_path):
    pytest.importorskip("tensorboard")
    sim = simulate(contract_config(tmp_path, epochs=3), out_dir=tmp_path / "o", progress=False,
                   backend=ContractScript(offer_share=0.25))
    run_id = sim.runs[0].run_id
    done = scai("runs", "export", run_id, "--format", "tensorboard", "--out", str(tmp_path / "tb"))
    assert done.returncode == 0, done.stderr
    logged = tb_scalars(tmp_path / "tb")
    epochs = [e.payload for e in RunStore().events(run_id, "epoch")]
    assert logged["epoch/share_flexible"] == [
        (e["epoch"], round(e["metrics"]["share_flexible"], 5)) for e in epochs]
    assert [s for s, _ in logged["epoch/games"]] == [0, 1, 2]


def test_cai_seeds_and_training_steps_as_tensorboard_runs(cai_run, tmp_path):
    pytest.importorskip("tensorboard")
    out = export_tensorboard(None, cai_run, tmp_path / "tb")
    for seed in (0, 1):
        logged = tb_scalars(out / f"seed-{seed}")
        assert logged["train/sft/loss"] == [(1, 1.5 + seed), (2, 1.0 + seed)]
        assert logged["eval/base/helpfulness"] == [(0, 3.0 + seed)]


def test_drift_rounds_as_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tests.ui_store import _drift_result

    run = RunStore().create_run("drift", {"kind": "drift"}, name="d")
    run.log("result", _drift_result(tmp_path).model_dump(mode="json"))
    run.finish("completed")
    logged = tb_scalars(export_tensorboard(None, run.id, tmp_path / "tb"))
    assert logged["round/bench/overall"] == [(0, 0.5), (1, 0.4), (2, 0.3)]
    assert logged["round/vs_base/embedding_distance"] == [(1, 0.1), (2, 0.2)]


def test_kinds_without_a_dataset_say_so(tmp_path):
    run = RunStore().create_run("bench", {"kind": "bench"})
    run.finish("completed")
    done = scai("runs", "export", run.id, "--format", "dataset-parquet")
    assert done.returncode == 2 and "dataset export knows cai, contract, converse" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.model
def test_a_real_conversation_exports_and_reloads(tmp_path):
    """The embedded model speaks; what it said comes back from the exported Parquet file."""
    result = run_converse(load_config(converse_scenario(tmp_path, rounds=1, judges="")),
                          RunStore(), runs=1, out_dir=tmp_path / "conv", progress=False)
    run_id = result.runs[0].run_id
    out, tables = export_dataset(None, run_id, "dataset-parquet", tmp_path / "pq")
    rows = datasets.load_dataset("parquet", data_files=str(out / "statements.parquet"))["train"]
    transcript = json.loads((tmp_path / "conv" / "transcript.json").read_text())
    said = [s["content"] for s in transcript["statements"]]
    assert len(rows) == tables[0].table.num_rows >= 2 and rows["content"][:len(said)] == said
    assert "`local`" in (out / "README.md").read_text()
