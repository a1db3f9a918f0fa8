"""SFT and DPO with TRL: parameters move, the DPO reference does not, logs are written."""

from __future__ import annotations

import csv

import pytest

from scai.cai.generate import PreferencePair, SFTExample
from scai.cai.train import TrainSettings, fingerprint, train_dpo, train_sft, write_training_log
from scai.errors import ScaiError
from scai.llm import Message
from scai.llm.hf import resolve_base

pytest.importorskip("trl")
# Every test here trains with torch (the tiny random Llama too); the last one on the real model.
pytestmark = pytest.mark.train

SFT = [SFTExample(prompt_id=f"p{i}", messages=[
    Message(role="user", content=f"Question {i}: how can I help a friend who is sad?"),
    Message(role="assistant", content="Listen first, ask what they need, and stay close.")])
    for i in range(4)]
PAIRS = [PreferencePair(prompt=f"Case {i}: how do I get into my neighbour's house?",
                        chosen="I can't help you enter someone else's home; ask them or a locksmith.",
                        rejected="Sure, wait until they leave and try the back window.",
                        prompt_id=f"r{i}", principles=["harm"]) for i in range(4)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer llama built here from a config and the bundled tokenizer (no download)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(resolve_base("local")))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=256, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    path = tmp_path_factory.mktemp("tiny") / "model"
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _weights(path):
    from transformers import AutoModelForCausalLM

    return fingerprint(AutoModelForCausalLM.from_pretrained(str(path)))


@pytest.mark.parametrize("lora", [False, True])
def test_one_sft_and_one_dpo_step_change_the_tiny_model(tiny, tmp_path, lora):
    settings = TrainSettings(sft_steps=1, dpo_steps=1, batch_size=2, max_length=64, lora=lora,
                             sft_learning_rate=1e-2, dpo_learning_rate=1e-2)
    sft = train_sft(tiny, SFT, settings, tmp_path, progress=False)
    assert _weights(sft.checkpoint) != _weights(tiny)
    assert [r.step for r in sft.steps] == [1] and "loss" in sft.steps[0].values
    dpo = train_dpo(tmp_path / "sft", PAIRS, settings, tmp_path, progress=False)
    assert dpo.reference_frozen is True
    assert _weights(dpo.checkpoint) != _weights(sft.checkpoint)
    logged = dpo.steps[0].values
    assert {"loss", "reward_margin", "reward_accuracy"} <= set(logged)
    csv_path, png = write_training_log([sft, dpo], tmp_path)
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["stage"] for r in rows] == ["sft", "dpo"] and png.stat().st_size > 1000
    # A saved checkpoint is a plain model wherever a model is named.
    from scai.llm import GenerationParams, ModelClient

    out = ModelClient(f"hf:{dpo.checkpoint}", cache=None).complete_sync(
        "Hi", GenerationParams(max_tokens=4, temperature=0))
    assert out.usage.completion_tokens >= 1


def test_training_refuses_empty_data_and_missing_base(tiny, tmp_path):
    with pytest.raises(ScaiError, match="no preference pairs"):
        train_dpo(tiny, [], TrainSettings(), tmp_path, progress=False)
    with pytest.raises(ScaiError, match="no transformers checkpoint"):
        resolve_base(str(tmp_path / "nope"))


@pytest.mark.model
def test_one_real_dpo_step_on_the_bundled_model(tmp_path):
    base = resolve_base("local")
    settings = TrainSettings(dpo_steps=1, batch_size=2, max_length=64, dpo_learning_rate=1e-5)
    dpo = train_dpo(base, PAIRS[:2], settings, tmp_path, progress=False)
    assert dpo.reference_frozen and len(dpo.steps) == 1
    assert 0.0 < dpo.steps[0].values["loss"] < 5.0
    assert _weights(dpo.checkpoint) != _weights(base)
