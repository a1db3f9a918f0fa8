"""`scai cai generate` then `scai cai train` on the real embedded model, through the CLI."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, scai

pytest.importorskip("trl")


@pytest.mark.model
@pytest.mark.train
def test_generate_then_train_through_the_cli(tmp_path):
    config = REPO / "examples" / "cai" / "quick.yaml"
    small = ["--set", "generate.red_team=2", "--set", "generate.helpful=1",
             "--set", "generate.max_tokens=48"]
    gen = scai("cai", "generate", str(config), "--out", str(tmp_path / "data"), *small)
    assert gen.returncode == 0, gen.stderr
    assert "3 chains" in gen.stdout
    split = json.loads((tmp_path / "data" / "split.json").read_text())
    assert len(split["train"]) == 3 and not set(split["train"]) & set(split["eval"])
    chain = json.loads((tmp_path / "data" / "chains.jsonl").read_text().splitlines()[0])
    assert chain["original"] and chain["rounds"][0]["critique"] and chain["rounds"][0]["revision"]

    train = scai("cai", "train", str(config), "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "model"), "--set", "train.sft_steps=1",
                 "--set", "train.dpo_steps=1", "--set", "train.batch_size=2",
                 "--set", "train.max_length=64", timeout=600)
    pairs = (tmp_path / "data" / "pairs.jsonl").read_text().splitlines()
    if not pairs:  # every revision equalled its original: DPO has nothing to learn from
        assert train.returncode != 0 and "no preference pairs" in train.stderr
        return
    assert train.returncode == 0, train.stderr
    assert "SFT: 1 steps" in train.stdout and "DPO: 1 steps" in train.stdout
    assert (tmp_path / "model" / "dpo" / "config.json").is_file()
    assert (tmp_path / "model" / "training.png").stat().st_size > 1000
    report = json.loads((tmp_path / "model" / "train.json").read_text())
    assert report["stages"][1]["reference_frozen"] is True


def test_train_without_data_is_one_clear_line(tmp_path):
    config = REPO / "examples" / "cai" / "quick.yaml"
    r = scai("cai", "train", str(config), "--data", str(tmp_path / "none"))
    assert r.returncode != 0
    assert "sft.jsonl: missing" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.model
@pytest.mark.train
def test_cai_run_two_seeds_end_to_end_on_the_embedded_model(tmp_path):
    config = REPO / "examples" / "cai" / "quick.yaml"
    tiny = [f"--set={k}" for k in (
        "generate.red_team=2", "generate.helpful=1", "generate.max_tokens=40",
        "train.sft_steps=1", "train.dpo_steps=1", "train.batch_size=2", "train.max_length=64",
        "evaluate.red_team=1", "evaluate.helpful=1", "evaluate.style=1", "evaluate.over_refusal=1",
        "evaluate.samples=1", "evaluate.max_tokens=24")]
    r = scai("cai", "run", str(config), "--seeds", "2", "--out", str(tmp_path / "run"), *tiny,
             timeout=900)
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [s["seed"] for s in results["seeds"]] == [0, 1]
    assert set(results["aggregate"]) == {"base", "sft", "dpo"}
    helpful = results["aggregate"]["dpo"]["helpfulness"]
    assert helpful["n"] <= 2 and (helpful["n"] < 2 or helpful["ci_low"] is not None)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Mean and 95% CI over seeds" in report and "| 1 | dpo |" in report
    assert (tmp_path / "run" / "metrics.png").stat().st_size > 1000
    # The run is in the store with every generation and evaluation call (tokens in `scai runs`).
    from scai.store import RunStore

    store = RunStore(tmp_path / "runs")
    (info,) = store.list_runs(kind="cai")
    calls = store.events(info.id, "model_call")
    models = {c.payload["model"] for c in calls}
    # per seed at least: 3 models x 4 held-out prompts x (answer + verdict)
    assert len(calls) >= 2 * 3 * 4 * 2 and info.status == "completed"
    assert sum((c.payload["completion"]["usage"] or {}).get("completion_tokens", 0)
               for c in calls) > 0
    assert any(m.startswith("hf:") for m in models) and "local" in models
    # Finished seeds are not redone: a second call only rebuilds the report.
    ckpt = tmp_path / "run" / "seed-1" / "model" / "dpo" / "config.json"
    stamp = ckpt.stat().st_mtime_ns
    again = scai("cai", "run", str(config), "--seeds", "2", "--out", str(tmp_path / "run"), *tiny)
    assert again.returncode == 0 and ckpt.stat().st_mtime_ns == stamp
    bad = scai("cai", "run", str(config), "--profile", "huge")
    assert bad.returncode == 2 and "one of quick, full" in bad.stderr
