# ruff: noqa: F811  (the tiny-model fixture imported from test_cai_train is a parameter here)
"""Experiment tracking: `train.report_to: [tensorboard]` makes TRL write TensorBoard event files
under the run's folder, with the same numbers scai's own training log keeps."""

from __future__ import annotations

import pytest

from scai.cai.config import CaiConfig
from scai.cai.train import TrainSettings, train_dpo, train_sft
from scai.errors import ConfigError
from scai.kinds import validate_kind

pytest.importorskip("trl")
pytest.importorskip("tensorboard")
from tests.test_cai_train import PAIRS, SFT, tiny  # noqa: F401  (fixture)


def scalars(folder):
    """Every scalar series in one TensorBoard folder: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_report_to_is_off_by_default_and_left_out_of_the_config_dump():
    assert "report_to" not in CaiConfig().model_dump()["train"]
    on = validate_kind("cai", {"kind": "cai", "train": {"report_to": ["tensorboard"]}}, "t")
    assert on.model_dump()["train"]["report_to"] == ["tensorboard"]
    with pytest.raises(ConfigError, match="report_to"):
        validate_kind("cai", {"kind": "cai", "train": {"report_to": ["comet"]}}, "t")


@pytest.mark.train
def test_sft_and_dpo_report_every_step_to_tensorboard_under_the_run_folder(tiny, tmp_path):
    settings = TrainSettings(sft_steps=2, dpo_steps=2, batch_size=2, max_length=64,
                             report_to=["tensorboard"])
    sft = train_sft(tiny, SFT, settings, tmp_path, progress=False)
    dpo = train_dpo(tmp_path / "sft", PAIRS, settings, tmp_path, progress=False)
    for stage in (sft, dpo):
        logged = scalars(tmp_path / "logs" / stage.stage)
        assert [s for s, _ in logged["train/loss"]] == [r.step for r in stage.steps] == [1, 2]
        assert [v for _, v in logged["train/loss"]] == pytest.approx(
            [r.values["loss"] for r in stage.steps], rel=1e-5)
    assert "train/rewards/margins" in scalars(tmp_path / "logs" / "dpo")
    assert not list(tmp_path.glob("*/trainer/runs"))  # not transformers' default folder


@pytest.mark.train
def test_wandb_in_offline_mode_writes_its_run_under_the_run_folder(tiny, tmp_path, monkeypatch):
    pytest.importorskip("wandb")  # not in the test extras: runs only where W&B is installed
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    settings = TrainSettings(sft_steps=1, dpo_steps=1, batch_size=2, max_length=64,
                             report_to=["wandb"])
    train_sft(tiny, SFT, settings, tmp_path, progress=False)
    train_dpo(tmp_path / "sft", PAIRS, settings, tmp_path, progress=False)
    for stage in ("sft", "dpo"):  # a W&B run of each stage, in its own folder
        assert len(list((tmp_path / "logs" / stage / "wandb").glob("offline-run-*"))) == 1
