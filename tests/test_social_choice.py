"""The social-choice rules, exact on profiles whose outcomes are worked out by hand."""

from __future__ import annotations

import pytest

from scai.contract.social_choice import (
    borda,
    borda_scores,
    condorcet_winner,
    elect,
    every_winner,
    maximin_rank,
    maximin_utility,
    pairwise,
    plurality,
    ranking_by_utility,
    schulze,
    schulze_winners,
    strongest_paths,
    worst_ranks,
)


def profile(*groups: tuple[int, str]) -> list[list[int]]:
    """(count, "ACB") groups as rankings over candidates A=0, B=1, ..."""
    return [[ord(c) - ord("A") for c in order] for count, order in groups for _ in range(count)]


def test_a_condorcet_winner_that_plurality_misses():
    """4 voters A>B>C, 3 voters C>B>A, 2 voters B>A>C.

    First places: A 4, C 3, B 2, so plurality elects A. But B beats A 5-4 (the C and B voters)
    and beats C 6-3 (the A and B voters): B is the Condorcet winner. Borda: A 4*2 + 2*1 = 10,
    B 4*1 + 3*1 + 2*2 = 11, C 3*2 = 6. Worst ranks: A 3rd (the C voters), B 2nd, C 3rd.
    """
    p = profile((4, "ABC"), (3, "CBA"), (2, "BAC"))
    assert plurality(p, 3) == 0
    assert condorcet_winner(p, 3) == 1
    assert schulze(p, 3) == 1
    assert borda_scores(p, 3) == [10, 11, 6] and borda(p, 3) == 1
    assert worst_ranks(p, 3) == [3, 2, 3] and maximin_rank(p, 3) == 1
    assert every_winner(p, 3) == {"schulze": 1, "borda": 1, "plurality": 0, "maximin": 1}


def test_schulze_on_the_classic_45_voter_example():
    """The worked example of Schulze's method (Schulze, "A new monotonic, clone-independent ...
    single-winner election method", and its Wikipedia page): 45 voters, candidates A-E,

        5 ACBED, 5 ADECB, 8 BEDAC, 3 CABED, 7 CAEBD, 2 CBADE, 7 DCEBA, 8 EBADC.

    Pairwise d[X][Y] (row prefers to column), counted group by group, e.g. A over B: the ACBED,
    ADECB, CABED and CAEBD voters = 5+5+3+7 = 20, B over A: 45-20 = 25:

             A   B   C   D   E
        A    -  20  26  30  22
        B   25   -  16  33  18
        C   19  29   -  17  24
        D   15  12  28   -  14
        E   23  27  21  31   -

    Links only where a side wins: A->C 26, A->D 30, B->A 25, B->D 33, C->B 29, C->E 24,
    D->C 28, E->A 23, E->B 27, E->D 31. Strongest paths (weakest link of the best path), e.g.
    E->C: E-D-C = min(31, 28) = 28; C->E only directly = 24; A->E: A-C-E = min(26, 24) = 24;
    E->A: E-D-C-B-A = min(31, 28, 29, 25) = 25:

             A   B   C   D   E
        A    -  28  28  30  24
        B   25   -  28  33  24
        C   25  29   -  29  24
        D   25  28  28   -  24
        E   25  28  28  31   -

    E beats every candidate by a stronger path (25 > 24, 28 > 24, 28 > 24, 31 > 24): E wins,
    and nobody else does. There is no Condorcet winner (E loses to C 21-24). Plurality: first
    places A 10, B 8, C 12, D 7, E 8, so C. Borda = row sums of d: 98, 92, 89, 69, 102, so E.
    """
    p = profile((5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"), (7, "CAEBD"),
                (2, "CBADE"), (7, "DCEBA"), (8, "EBADC"))
    assert len(p) == 45
    assert pairwise(p, 5) == [[0, 20, 26, 30, 22], [25, 0, 16, 33, 18], [19, 29, 0, 17, 24],
                              [15, 12, 28, 0, 14], [23, 27, 21, 31, 0]]
    assert strongest_paths(p, 5) == [[0, 28, 28, 30, 24], [25, 0, 28, 33, 24],
                                     [25, 29, 0, 29, 24], [25, 28, 28, 0, 24],
                                     [25, 28, 28, 31, 0]]
    assert schulze_winners(p, 5) == [4] and schulze(p, 5) == 4
    assert condorcet_winner(p, 5) is None
    assert plurality(p, 5) == 2
    assert borda_scores(p, 5) == [98, 92, 89, 69, 102] and borda(p, 5) == 4


def test_ties_go_to_the_lowest_index_after_each_rules_own_second_criterion():
    """Two voters A>B>C and B>A>C: A and B tie under every rule, so A (index 0) wins; no
    Condorcet winner. Maximin: A and B both have worst rank 2, C 3."""
    p = profile((1, "ABC"), (1, "BAC"))
    assert schulze_winners(p, 3) == [0, 1]
    assert every_winner(p, 3) == {"schulze": 0, "borda": 0, "plurality": 0, "maximin": 0}
    assert condorcet_winner(p, 3) is None
    # C>B>A, B>C>A, A>B>C: worst ranks A 3, B 2, C 3, so B
    q = profile((1, "CBA"), (1, "BCA"), (1, "ABC"))
    assert worst_ranks(q, 3) == [3, 2, 3] and maximin_rank(q, 3) == 1
    r = profile((1, "BCA"), (1, "CBA"))  # B and C: worst rank 2 each, Borda 3 each -> B
    assert worst_ranks(r, 3) == [3, 2, 2] and maximin_rank(r, 3) == 1


def test_maximin_with_utilities_protects_the_worst_off_and_rankings_follow_utilities():
    """Two voters with opposite extremes and a compromise: the extremes give someone 0, the
    compromise gives both 0.6, so it wins; ties on the minimum go to the higher mean."""
    u = [[1.0, 0.6, 0.0], [0.0, 0.6, 1.0]]
    assert maximin_utility(u) == 1
    assert maximin_utility([[0.5, 0.5, 0.9], [0.5, 0.7, 0.2]]) == 1  # min 0.5 twice, mean 0.6
    assert maximin_utility([[0.3, 0.3]]) == 0
    assert ranking_by_utility([0.2, 0.9, 0.2, 0.5]) == [1, 3, 0, 2]
    rankings = [ranking_by_utility(x) for x in u]
    assert elect("maximin", rankings, 3, u) == 1
    assert elect("maximin", rankings, 3) == 1  # by rank: the compromise is nobody's last
    assert elect("plurality", rankings, 3, u) == 0


def test_a_ranking_that_is_not_an_order_of_the_candidates_is_refused():
    with pytest.raises(ValueError, match="not an order"):
        schulze([[0, 0, 1]], 3)
    with pytest.raises(ValueError, match="not an order"):
        borda([[0, 1]], 3)
    with pytest.raises(ValueError, match="every voter"):
        maximin_utility([[0.1, 0.2], [0.3]])
