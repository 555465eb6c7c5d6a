import math
from fractions import Fraction

import pytest

from scoring.statistics import Spread, candidate_spread, evaluator_statistics

# (evaluator, proposal, total). Proposal 3 has a single reviewer.
REVIEWS = [
    ("carla", 1, 60),
    ("anna", 1, 80),
    ("bruno", 1, 70),
    ("anna", 2, 90),
    ("bruno", 2, 60),
    ("carla", 2, 60),
    ("anna", 3, 50),
]


def test_evaluators_far_from_the_panel_are_flagged():
    stats = {s.evaluator_id: s for s in evaluator_statistics(REVIEWS)}
    assert list(stats) == ["anna", "bruno", "carla"]

    anna = stats["anna"]
    assert (anna.count, anna.mean_total) == (3, Fraction(220, 3))
    # Totals 80, 90, 50 around 220/3: variance (20² + 50² + 70²) / 9 / 3 = 2600/9.
    assert anna.stdev == pytest.approx(math.sqrt(2600) / 3)
    # The panel's median: proposal 1, 70 (80 − 70 = 10); proposal 2, 60 (90 − 60 = 30);
    # proposal 3 has no panel.
    assert (anna.mean_deviation, anna.compared, anna.flagged) == (20, 2, True)

    bruno = stats["bruno"]
    assert (bruno.count, bruno.mean_total, bruno.stdev) == (2, 65, 5.0)
    # 70 − 70 = 0 and 60 − 60 = 0: the median is not dragged up by anna's 90.
    assert (bruno.mean_deviation, bruno.flagged) == (0, False)

    carla = stats["carla"]
    # 60 − 70 = −10 and 60 − 60 = 0.
    assert (carla.mean_deviation, carla.flagged) == (-5, False)


def test_one_evaluator_far_off_does_not_flag_the_others():
    reviews = [("a", 1, 100), ("b", 1, 94), ("c", 1, 20), ("a", 2, 90), ("b", 2, 88), ("c", 2, 30)]
    stats = {s.evaluator_id: s for s in evaluator_statistics(reviews)}
    assert [e for e, s in stats.items() if s.flagged] == ["c"]
    assert stats["c"].mean_deviation == Fraction(-66)


def test_far_off_is_a_strict_bound():
    reviews = [("x", 1, 80), ("y", 1, 60)]  # the median is 70
    assert [(s.mean_deviation, s.flagged) for s in evaluator_statistics(reviews)] == [
        (10, False),
        (-10, False),
    ]
    assert [s.flagged for s in evaluator_statistics(reviews, far_off=9)] == [True, True]


def test_an_evaluator_alone_on_every_proposal_is_not_compared():
    [solo] = evaluator_statistics([("anna", 3, 10), ("anna", 4, 100)])
    assert (solo.mean_deviation, solo.compared, solo.flagged) == (None, 0, False)
    assert (solo.mean_total, solo.stdev) == (55, 45.0)


def test_evaluators_are_sorted_by_id():
    reviews = [(7, 1, 60), (2, 1, 60), (11, 1, 60)]
    assert [s.evaluator_id for s in evaluator_statistics(reviews)] == [2, 7, 11]


def test_candidate_spread():
    spreads = candidate_spread(REVIEWS)
    assert list(spreads) == [1, 2, 3]
    assert spreads[1] == Spread(
        count=3, min=60, max=80, spread=20, stdev=pytest.approx(math.sqrt(200 / 3)), flagged=False
    )
    # 90, 60, 60: mean 70, variance (400 + 100 + 100) / 3.
    assert spreads[2] == Spread(
        count=3, min=60, max=90, spread=30, stdev=pytest.approx(math.sqrt(200)), flagged=True
    )
    assert spreads[3] == Spread(count=1, min=50, max=50, spread=0, stdev=0.0, flagged=False)
    assert candidate_spread(REVIEWS, far_off=19)[1].flagged is True


def test_the_order_of_reviews_does_not_matter():
    assert evaluator_statistics(REVIEWS[::-1]) == evaluator_statistics(REVIEWS)
    assert candidate_spread(REVIEWS[::-1]) == candidate_spread(REVIEWS)


def test_bad_reviews_are_refused():
    with pytest.raises(ValueError, match="valutazione doppia di anna sulla proposta 1"):
        evaluator_statistics([("anna", 1, 80), ("anna", 1, 70)])
    with pytest.raises(ValueError, match="non intero"):
        candidate_spread([("anna", 1, True)])
    assert evaluator_statistics([]) == []
    assert candidate_spread([]) == {}
