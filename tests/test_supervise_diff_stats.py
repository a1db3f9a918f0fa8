"""`scai diff` statistics on constructed data where the true difference is known."""

from __future__ import annotations

import numpy as np
import pytest

from scai.supervise.diff.axes import combine_orders, merge_proposals, separability
from scai.supervise.diff.config import AxisSpec
from scai.supervise.diff.statistics import (
    adjust,
    choose_clusters,
    cluster_tests,
    embedding_distance,
    energy_distance,
)


def _blobs(rng, centres, counts, spread=0.05):
    """Unit vectors scattered around the given centres (384-d, like MiniLM embeddings)."""
    rows = []
    for c, n in zip(centres, counts, strict=True):
        pts = c + spread * rng.standard_normal((n, c.size))
        rows.append(pts / np.linalg.norm(pts, axis=1, keepdims=True))
    return np.vstack(rows)


@pytest.fixture
def world():
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((4, 384))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return rng, centres


def _prompts(n, per=5):
    return [f"p{i // per}" for i in range(n)]


def test_the_cluster_only_b_has_is_found_and_is_the_only_significant_one(world):
    rng, centres = world
    # A: three behaviours, 40 answers each. B: the same three, 30 each, plus 30 of a fourth.
    xa = _blobs(rng, centres[:3], [40, 40, 40])
    xb = _blobs(rng, centres, [30, 30, 30, 30])
    x = np.vstack([xa, xb])
    is_a = np.r_[np.ones(len(xa), bool), np.zeros(len(xb), bool)]
    clustering = choose_clusters(x, k_min=2, k_max=8, seed=0)
    assert clustering.k == 4
    labels = np.asarray(clustering.labels)
    extra = labels[-1]  # the last B rows are the fourth behaviour
    assert (labels[len(xa) + 90:] == extra).all() and (labels[:len(xa)] != extra).all()
    tests = cluster_tests(labels, is_a, correction="holm")
    significant = [t.id for t in tests if t.significant]
    assert significant == [extra]
    row = next(t for t in tests if t.id == extra)
    assert row.n_a == 0 and row.n_b == 30 and row.share_b == 1.0 and row.p_adjusted < 1e-6
    assert all(t.p_adjusted >= t.p_value for t in tests)
    # The whole-distribution tests see it too.
    energy = energy_distance(x, is_a, permutations=199, seed=0)
    assert energy.p_value <= 0.01


def test_no_difference_control_nothing_is_significant_after_correction(world):
    rng, centres = world
    x = _blobs(rng, centres, [40, 40, 40, 40])
    labels = choose_clusters(x, k_min=2, k_max=8, seed=0).labels
    # A and B drawn from the same mixture: 40 random A/B splits of the same answers. The
    # corrected tests keep the family-wise (Holm) / false-discovery (BH) rate near 5%.
    for correction in ("holm", "bh"):
        flagged = 0
        for _ in range(40):
            is_a = np.zeros(len(x), bool)
            is_a[rng.permutation(len(x))[:80]] = True
            flagged += any(t.significant for t in cluster_tests(labels, is_a,
                                                                correction=correction))
        assert flagged <= 4, (correction, flagged)
    is_a = np.zeros(len(x), bool)
    is_a[rng.permutation(len(x))[:80]] = True
    tests = cluster_tests(labels, is_a)
    assert not any(t.significant for t in tests)
    assert all(abs(t.share_a - 0.5) < 0.25 for t in tests)
    energy = energy_distance(x, is_a, _prompts(len(x)), permutations=199, seed=1)
    assert energy.p_value > 0.05


def test_embedding_distance_is_zero_for_the_same_answers_and_grows_with_a_shift(world):
    rng, centres = world
    xa = _blobs(rng, centres[:2], [20, 20])
    prompts = _prompts(40, per=4) * 2
    same = embedding_distance(np.vstack([xa, xa]), [True] * 40 + [False] * 40, prompts)
    assert same.mean == pytest.approx(0.0, abs=1e-6)
    shifted = embedding_distance(np.vstack([xa, _blobs(rng, centres[2:], [20, 20])]),
                                 [True] * 40 + [False] * 40, prompts)
    assert shifted.mean > 0.5 and shifted.n == 10


def test_holm_and_benjamini_hochberg_match_textbook_values():
    p = [0.01, 0.04, 0.03, 0.005]
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_both_order_rule_keeps_agreeing_verdicts_and_zeroes_disagreements():
    # A shown first says "1" (A more); B shown first says "2" (the second, i.e. A, more): agree.
    assert combine_orders("1", "2") == (1, False)
    assert combine_orders("2", "1") == (-1, False)
    assert combine_orders("same", "same") == (0, False)
    # Position bias: "the first response" both times is a disagreement, scored 0.
    assert combine_orders("1", "1") == (0, True)
    assert combine_orders("2", "2") == (0, True)
    assert combine_orders("1", "same") == (0, True)


def test_separability_is_chance_on_identical_sides_and_high_with_a_real_difference():
    rng = np.random.default_rng(3)
    groups = [f"p{i // 2}" for i in range(200)]
    # Identical distributions: each pair's scores are symmetric noise.
    noise = rng.choice([-1, 0, 1], size=(200, 3)).astype(float)
    null = separability(noise, groups, ["a", "b", "c"], permutations=99, seed=0)
    assert abs(null.accuracy - 0.5) < 0.1 and null.p_value > 0.05
    # A is judged more verbose in 80% of pairs (10% ties, 10% B), the other axes are noise.
    verbose = rng.choice([1, 0, -1], p=[0.8, 0.1, 0.1], size=200).astype(float)
    real = separability(np.c_[verbose, noise[:, :2]], groups, ["verbose", "b", "c"],
                        permutations=99, seed=0)
    assert real.accuracy > 0.8 and real.p_value <= 0.02
    assert real.coefficients["verbose"] > 1.0 > abs(real.coefficients["b"])
    assert len(real.folds) == 5 and real.ci.n == 5


def test_merged_axes_keep_fixed_first_and_rank_proposals_by_how_often_they_came_up():
    fixed = [AxisSpec(name="Refuses", description="declines the request")]
    proposals = [[{"axis": "verbosity", "meaning": "long"}, {"axis": "refuses", "meaning": "dup"},
                  {"axis": "Model A", "meaning": "not an axis"}],
                 [{"axis": "Hedging", "meaning": "qualifies"},
                  {"axis": "Verbosity", "meaning": "again"}]]
    axes = merge_proposals(fixed, proposals, 2)
    assert [a.name for a in axes] == ["Refuses", "verbosity", "Hedging"]


def test_prompt_centring_turns_topic_clusters_into_behaviour_clusters(world):
    from scai.supervise.diff.statistics import center_by_prompt

    rng, _ = world
    # 6 prompts, each its own strong topic direction; A's and B's 5 answers per prompt differ
    # only by a small shared style direction (B, say, always adds a disclaimer).
    topics = rng.standard_normal((6, 384))
    style = rng.standard_normal(384) * 0.25
    rows, is_a, prompts = [], [], []
    for p, t in enumerate(topics):
        for side in (True, False):
            for _ in range(5):
                rows.append(t + (0 if side else style) + 0.03 * rng.standard_normal(384))
                is_a.append(side)
                prompts.append(f"p{p}")
    x = np.array(rows)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    raw = cluster_tests(choose_clusters(x, k_min=2, k_max=8).labels, is_a)
    assert not any(t.significant for t in raw)  # topic clusters: every share is 0.5
    centred = choose_clusters(center_by_prompt(x, prompts), k_min=2, k_max=8)
    tests = cluster_tests(centred.labels, is_a)
    assert centred.k == 2 and all(t.significant and t.share_a in (0.0, 1.0) for t in tests)


def test_prompt_level_test_needs_the_difference_on_many_probes_not_many_answers():
    from scai.supervise.diff.statistics import prompt_sign_flip

    # 10 probes x 20 answers per side. Probe 0 alone: A always lands in cluster 1, B never.
    # Every other probe: both sides split the same way (cluster 0 only).
    pids, is_a, labels = [], [], []
    for p in range(10):
        for side in (True, False):
            for _ in range(20):
                pids.append(f"p{p}")
                is_a.append(side)
                labels.append(1 if (p == 0 and side) else 0)
    one_probe = cluster_tests(labels, is_a, prompt_ids=pids)
    row = next(t for t in one_probe if t.id == 1)
    assert row.p_adjusted < 1e-4 and row.significant  # Fisher: 20 answers vs 0
    # Probes as the unit: one non-zero difference among ten probes; flipping its sign gives
    # the same |mean|, so every pattern is as extreme: p = 1.
    assert row.p_prompts == pytest.approx(1.0)
    by_prompts = cluster_tests(labels, is_a, prompt_ids=pids, by="prompts")
    assert not any(t.significant for t in by_prompts)

    # The same shift on every probe: both tests see it; exact p = 2 / 2^10.
    labels = [1 if side and k % 2 == 0 else 0 for side, k in zip(is_a, range(len(is_a)))]
    consistent = cluster_tests(labels, is_a, prompt_ids=pids, by="prompts")
    row = next(t for t in consistent if t.id == 1)
    assert row.p_prompts == pytest.approx(2 / 2**10) and row.significant
    a = np.asarray(is_a)
    inside = np.asarray(labels) == 1
    # More probes than are enumerated: random flips, (1 + hits) / (1 + R).
    many = [f"p{i // 4}" for i in range(80)]
    side = np.tile([True, True, False, False], 20)  # 20 probes, A always inside, B never
    p = prompt_sign_flip(side.copy(), side, many, flips=999, seed=0)
    assert p == pytest.approx(1 / 1000)
    assert prompt_sign_flip(inside, np.ones(len(a), bool), pids) is None
