"""The seeded trait of a drift run (the idempotence experiment): its markers, the retained share
of the seeding's shift, the trait file's errors and the report section. The real-model run is in
test_supervise_drift.py (a seeded round 0 and one round of self-distillation)."""

from __future__ import annotations

import numpy as np
import pytest

from scai.errors import ConfigError
from scai.report.drift_trait import trait_blocks
from scai.supervise.drift.result import DriftResult, RoundResult
from scai.supervise.drift.trait import (
    Interval,
    TraitReading,
    behaviour,
    load_trait,
    marker_count,
    retained_shift,
)


def test_the_shipped_pirate_trait_matches_whole_words_only():
    trait = load_trait(None)
    assert trait.name == "pirate" and len(trait.pairs) >= 10
    assert trait.demonstrations.is_file()
    texts = ["Arr, boil it six minutes.", "Aye, that works.", "Ahoy there, MATEY!",
             "Put it in an array.", "Yes, the yeast rises.", "The ayes have it.", ""]
    assert marker_count(texts, trait) == 3
    k, rate = behaviour(texts, trait)
    assert k == 3 and rate.value == pytest.approx(3 / 7) and rate.low < 3 / 7 < rate.high


def test_every_contrast_pair_shows_the_trait_on_one_side_only():
    trait = load_trait(None)
    assert all(marker_count([p.positive], trait) == 1 and marker_count([p.negative], trait) == 0
               for p in trait.pairs)


def test_retained_shift_is_one_as_seeded_zero_at_base_and_linear_between():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 12, 8))  # 3 layers + embeddings, 12 probes, 8 dims
    seeded = base + rng.normal(size=(1, 1, 8))  # every probe moved the same way
    half = base + 0.5 * (seeded - base)
    for current, expected in ((seeded, 1.0), (base, 0.0), (half, 0.5),
                              (base + 2 * (seeded - base), 2.0)):
        layers, kept = retained_shift(base, seeded, current)
        assert len(layers) == 3 and layers == pytest.approx([expected] * 3, abs=1e-3)
        assert kept.value == pytest.approx(expected) and kept.low <= kept.value <= kept.high
    # a move orthogonal to the seeding's is not the trait
    d = (seeded - base).mean(1, keepdims=True)
    other = rng.normal(size=(1, 1, 8))
    other = other - (other * d).sum(-1, keepdims=True) / (d * d).sum(-1, keepdims=True) * d
    _, kept = retained_shift(base, seeded, base + other)
    assert kept.value == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("body", "needle"), [
    ("name: x\ndemonstrations: d.jsonl\nmarkers: ['(']\npairs: []\n", "markers"),
    ("name: x\ndemonstrations: missing.jsonl\nmarkers: [arr]\npairs:\n"
     + "  - {positive: a, negative: b}\n" * 4, "no file"),
    ("name: x\nmarkers: [arr]\n", "demonstrations"),
])
def test_a_bad_trait_file_is_one_line(tmp_path, body, needle):
    (tmp_path / "d.jsonl").write_text('{"id": "1", "prompt": "p", "reply": "r"}\n')
    path = tmp_path / "t.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=needle) as err:
        load_trait(path)
    assert "t.yaml" in str(err.value) and "\n" not in str(err.value).strip()


def _reading(rate: float, kept: float) -> TraitReading:
    return TraitReading(trait="pirate", answers=10, with_marker=round(rate * 10),
                        rate=Interval(value=rate, low=max(0, rate - 0.2), high=min(1, rate + 0.2)),
                        retained=Interval(value=kept, low=kept - 0.1, high=kept + 0.1),
                        retained_by_layer=[kept] * 3)


def test_the_report_section_lists_base_seeded_and_rounds_with_intervals():
    rounds = [RoundResult(round=k, model=f"hf:r{k}", trait=_reading(r, kept))
              for k, (r, kept) in enumerate([(0.9, 1.0), (0.6, 0.7)])]
    result = DriftResult(run_id=None, out_dir=".", method="distill", rounds=rounds, report="",
                         plot=None, trait_base=_reading(0.0, 0.0))
    blocks = trait_blocks(result)
    table = next(b for b in blocks if hasattr(b, "rows"))
    assert [row[0] for row in table.rows] == ["base (before seeding)", "round 0 (seeded)",
                                              "round 1"]
    assert table.rows[2][1:] == ["6/10", "0.60 [0.40, 0.80]", "0.70 [0.60, 0.80]"]
    assert any(getattr(b, "name", None) == "drift_trait" for b in blocks)
    assert trait_blocks(result.model_copy(update={"rounds": rounds[:0], "trait_base": None})) == []


def test_a_bad_trait_file_stops_the_drift_config_before_anything_runs(tmp_path):
    from scai.kinds import load_config
    from tests.conftest import REPO, scai

    bad = tmp_path / "t.yaml"
    bad.write_text("name: x\nmarkers: [arr]\n")
    with pytest.raises(ConfigError, match="demonstrations"):
        load_config(REPO / "examples/supervise/idempotence.yaml", [f"trait.file={bad}"])
    r = scai("drift", str(REPO / "examples/supervise/idempotence.yaml"), "--set",
             f"trait.file={bad}", "--out", str(tmp_path / "out"))
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "t.yaml: demonstrations" in r.stderr and not (tmp_path / "out").exists()
