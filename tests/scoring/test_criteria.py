from fractions import Fraction

import pytest

from scoring.criteria import (
    Criterion,
    aggregate,
    aggregate_total,
    points_it,
    points_str,
    review_problems,
    total,
)

CRITERIA = (
    Criterion("coherence", 30, "Coerenza con le linee di indirizzo del quartiere"),
    Criterion("impact", 25, "Impatto sul quartiere"),
    Criterion("feasibility", 25),  # no label: people read the code
    Criterion("network", 20, "Rete di partenariato"),
)

GOOD = {"coherence": 24, "impact": 20, "feasibility": 18, "network": 12}

# Three reviews where the mean and the median part ways.
REVIEWS = [
    {"coherence": 30, "impact": 20, "feasibility": 20, "network": 10},  # total 80
    {"coherence": 10, "impact": 20, "feasibility": 21, "network": 10},  # total 61
    {"coherence": 11, "impact": 19, "feasibility": 25, "network": 16},  # total 71
]


def test_criterion_refuses_nonsense():
    with pytest.raises(ValueError, match="senza codice"):
        Criterion("", 10)
    with pytest.raises(ValueError, match="positivo"):
        Criterion("coherence", 0)
    with pytest.raises(ValueError, match="intero"):
        Criterion("coherence", True)


def test_a_complete_review_has_no_problems():
    assert review_problems(GOOD, CRITERIA, "") == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (31, "tra 0 e 30"),
        (-1, "tra 0 e 30"),
        (True, "intero"),
        (False, "intero"),
        ("24", "intero"),
        (24.0, "intero"),
        (None, "mancante"),
    ],
)
def test_a_bad_score_is_reported_on_its_field(value, message):
    problems = review_problems({**GOOD, "coherence": value}, CRITERIA, "motivazione")
    assert list(problems) == ["scores.coherence"]
    assert message in problems["scores.coherence"][0]


def test_the_bounds_are_inclusive():
    scores = {"coherence": 30, "impact": 25, "feasibility": 25, "network": 20}
    assert review_problems(scores, CRITERIA, "") == {}
    scores = {"coherence": 0, "impact": 0, "feasibility": 0, "network": 0}
    assert list(review_problems(scores, CRITERIA, "tutto insufficiente")) == []


def test_every_criterion_must_be_scored():
    scores = {"coherence": 24, "impact": 20}
    problems = review_problems(scores, CRITERIA, "")
    assert problems == {
        "scores.feasibility": ["punteggio mancante"],
        "scores.network": ["punteggio mancante"],
    }


def test_an_unknown_criterion_is_refused():
    problems = review_problems({**GOOD, "beauty": 5}, CRITERIA, "")
    assert problems == {"scores.beauty": ["criterio sconosciuto: beauty"]}


def test_a_score_under_half_needs_a_comment_naming_the_criterion():
    scores = {**GOOD, "coherence": 14, "feasibility": 12}  # 14 < 15, 12 < 12.5
    problems = review_problems(scores, CRITERIA, "")
    assert list(problems) == ["comment"]
    message = problems["comment"][0]
    assert "Coerenza con le linee di indirizzo del quartiere" in message
    assert "feasibility" in message
    assert "Impatto" not in message and "Rete" not in message
    assert review_problems(scores, CRITERIA, "Progetto poco legato al quartiere.") == {}


def test_a_blank_comment_is_no_comment():
    scores = {**GOOD, "network": 9}
    assert list(review_problems(scores, CRITERIA, "   \n")) == ["comment"]
    assert list(review_problems(scores, CRITERIA, None)) == ["comment"]


@pytest.mark.parametrize(
    ("code", "value"),
    [("coherence", 15), ("feasibility", 13), ("network", 10)],  # exactly half, or just over
)
def test_half_the_maximum_needs_no_comment(code, value):
    assert review_problems({**GOOD, code: value}, CRITERIA, "") == {}


def test_total_is_the_sum_of_weighted_points():
    assert total(GOOD) == 74
    assert [total(review) for review in REVIEWS] == [80, 61, 71]


def test_mean_and_median_differ_on_the_same_reviews():
    assert aggregate(REVIEWS, CRITERIA, "mean") == {
        "coherence": Fraction(17),
        "impact": Fraction(59, 3),
        "feasibility": Fraction(22),
        "network": Fraction(12),
    }
    assert aggregate(REVIEWS, CRITERIA, "median") == {
        "coherence": Fraction(11),
        "impact": Fraction(20),
        "feasibility": Fraction(21),
        "network": Fraction(10),
    }
    assert aggregate_total(REVIEWS, CRITERIA, "mean") == Fraction(212, 3)
    # The sum of the per-criterion medians, not the median of the totals (71).
    assert aggregate_total(REVIEWS, CRITERIA, "median") == 62


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    reviews = [{"coherence": value} for value in (30, 10, 20, 13)]
    assert aggregate(reviews, CRITERIA[:1], "median") == {"coherence": Fraction(33, 2)}


def test_aggregation_ignores_the_order_of_reviews():
    for aggregation in ("mean", "median"):
        assert aggregate(REVIEWS[::-1], CRITERIA, aggregation) == aggregate(
            REVIEWS, CRITERIA, aggregation
        )


def test_aggregation_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="aggregazione sconosciuta"):
        aggregate(REVIEWS, CRITERIA, "max")
    with pytest.raises(ValueError, match="nessuna valutazione"):
        aggregate([], CRITERIA, "mean")
    with pytest.raises(ValueError, match="network"):
        aggregate([GOOD, {"coherence": 1, "impact": 1, "feasibility": 1}], CRITERIA, "mean")


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Fraction(217, 3), 2, "72.33"),
        (Fraction(212, 3), 2, "70.67"),
        (Fraction(72005, 1000), 2, "72.01"),  # half up, where a float would say 72.00
        (Fraction(145, 2), 0, "73"),
        (Fraction(2, 3), 2, "0.67"),
        (Fraction(70), 2, "70.00"),
        (100, 1, "100.0"),
        (Fraction(-145, 2), 0, "-73"),  # away from zero
        (Fraction(-1, 1000), 2, "0.00"),
    ],
)
def test_points_str(value, places, text):
    assert points_str(value, places) == text


def test_points_it_uses_the_decimal_comma():
    assert points_it(Fraction(217, 3)) == "72,33"
    assert points_it(Fraction(60)) == "60,00"
