"""Representation drift: CKA and concept directions per layer, against their noise floors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scai.errors import ConfigError
from scai.supervise.representations.compare import direction_drift, linear_cka
from scai.supervise.representations.concepts import load_concepts
from tests.conftest import scai


def test_linear_cka_is_one_up_to_rotation_and_scale_and_low_for_unrelated_states():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 16))
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(x, 3.0 * x @ rotation) == pytest.approx(1.0)
    assert linear_cka(x, rng.normal(size=(40, 16))) < 0.6
    assert linear_cka(x, x + 0.01 * rng.normal(size=x.shape)) > 0.99


def test_a_concept_direction_that_turned_drifts_and_an_unchanged_one_does_not():
    rng = np.random.default_rng(1)
    axis = np.zeros(32)
    axis[0] = 1.0
    neg = rng.normal(size=(10, 32))
    pos = neg + 2.0 * axis + 0.3 * rng.normal(size=(10, 32))
    same = direction_drift(pos, neg, pos, neg)
    assert same["cosine"] == pytest.approx(1.0) and not same["drift"]
    turned = np.zeros(32)
    turned[1] = 1.0  # B encodes the concept along another axis
    moved = direction_drift(pos, neg, neg + 2.0 * turned + 0.3 * rng.normal(size=(10, 32)), neg)
    assert moved["cosine"] < 0.3 and moved["drift"]


def test_the_shipped_concepts_and_a_bad_file(tmp_path):
    shipped = load_concepts()
    assert set(shipped.concepts) == {"honesty", "sycophancy", "refusal"}
    assert all(len(c.pairs) >= 10 for c in shipped.concepts.values())
    bad = tmp_path / "c.yaml"
    bad.write_text("concepts: {honesty: {pairs: [{positive: a, negative: b}]}}\n")
    with pytest.raises(ConfigError, match="c.yaml"):
        load_concepts(bad)


@pytest.mark.model
def test_a_changed_checkpoint_drifts_above_the_floor_and_the_same_one_does_not(tmp_path):
    import torch

    from scai.supervise.diff.probes import load_probes
    from scai.supervise.representations.activations import load_model
    from scai.supervise.representations.run import compare_models

    texts = [p.text for p in load_probes()][:16]
    base = load_model("hf:local")
    same = compare_models(base, base, probes=texts, progress=False, names=("local", "local"))
    assert same.drifted_layers() == [] and same.drifted_concepts() == {}
    changed, tok = load_model("hf:local")
    with torch.no_grad():  # a deliberate change to block 20's MLP only
        weight = changed.model.layers[20].mlp.down_proj.weight
        weight.add_(0.5 * weight.std() * torch.randn_like(weight, generator=torch.Generator()
                                                           .manual_seed(0)))
    moved = compare_models(base, (changed, tok), probes=texts, out_dir=tmp_path / "rd",
                           progress=False, names=("local", "changed"))
    drifted = moved.drifted_layers()
    assert drifted and min(drifted) == 21  # the blocks before the change are untouched
    assert all(r.cka == pytest.approx(1.0) for r in moved.layers[:21])
    assert moved.layers[-1].cka < 0.999
    saved = json.loads((tmp_path / "rd" / "repr.json").read_text())
    assert saved["b"] == "changed" and (tmp_path / "rd" / "repr.png").is_file()


@pytest.mark.model
def test_repr_diff_through_the_cli(tmp_path):
    r = scai("repr-diff", "hf:local", "hf:local", "--limit", "6", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "0/31 layers differ beyond the numerical floor" in r.stdout
    bad = scai("repr-diff", "hf:local", "hf:/nowhere")
    assert bad.returncode != 0 and "no transformers checkpoint at /nowhere" in bad.stderr
    assert "Traceback" not in bad.stderr
