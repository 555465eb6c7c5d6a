from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.criteria import Criterion, aggregate
from scoring.ranking import (
    Candidate,
    IncompleteScoring,
    Ranking,
    RankingError,
    RankingRules,
    UnbreakableTie,
    rank,
)

CRITERIA = (Criterion("coherence", 60), Criterion("quality", 40))
CHAIN = ("criterion:coherence", "cofinancing_share", "protocol")
RULES = RankingRules(CRITERIA, "mean", threshold=60, tie_break=CHAIN, reviews_required=3)
# Without the protocol, equal proposals cannot be told apart.
NO_PROTOCOL = RankingRules(CRITERIA, "mean", threshold=60, tie_break=CHAIN[:2], reviews_required=3)


def review(coherence, quality):
    return {"coherence": coherence, "quality": quality}


def same(coherence, quality):
    return (review(coherence, quality),) * 3


def cand(number, reviews, share=Fraction(1, 10), neighbourhood="san-siro"):
    # ids far from the protocol numbers, so the two cannot be confused.
    return Candidate(
        id=100 + number,
        protocol=f"CDQ2019/{number:04d}",
        protocol_number=number,
        neighbourhood=neighbourhood,
        cofinancing_share=share,
        reviews=tuple(reviews),
    )


def protocols(ranking):
    return [entry.protocol for entry in ranking.entries]


def test_ranks_by_total_with_exact_points():
    candidates = [
        cand(1, same(30, 20)),  # 50
        cand(2, [review(50, 30), review(40, 30), review(41, 30)]),  # 131/3 + 30 = 73.67
        cand(3, same(45, 40)),  # 85
    ]
    ranking = rank(candidates, RULES)
    assert protocols(ranking) == ["CDQ2019/0003", "CDQ2019/0002", "CDQ2019/0001"]
    second = ranking.entries[1]
    assert second.id == 102
    assert second.points == {"coherence": Fraction(131, 3), "quality": Fraction(30)}
    assert second.total == Fraction(221, 3)
    assert [e.position for e in ranking.entries] == [1, 2, 3]
    assert [e.decided_by for e in ranking.entries] == [None, None, None]


def test_threshold_is_inclusive():
    candidates = [
        cand(1, same(36, 24)),  # exactly 60
        cand(2, [review(36, 24), review(36, 24), review(36, 23)]),  # 59.67
        cand(3, same(36, 23)),  # 59
    ]
    ranking = rank(candidates, RULES)
    assert [(e.protocol, e.fundable) for e in ranking.entries] == [
        ("CDQ2019/0001", True),
        ("CDQ2019/0002", False),
        ("CDQ2019/0003", False),
    ]
    assert ranking.entries[1].total == Fraction(179, 3)


def test_mean_and_median_can_order_differently():
    candidates = [
        cand(1, [review(60, 40), review(20, 20), review(21, 20)]),  # mean 181/3, median 41
        cand(2, same(30, 20)),  # 50 either way
    ]
    by_mean = rank(candidates, RankingRules(CRITERIA, "mean", tie_break=CHAIN))
    by_median = rank(candidates, RankingRules(CRITERIA, "median", tie_break=CHAIN))
    assert protocols(by_mean) == ["CDQ2019/0001", "CDQ2019/0002"]
    assert by_mean.entries[0].total == Fraction(181, 3)
    assert protocols(by_median) == ["CDQ2019/0002", "CDQ2019/0001"]
    assert by_median.entries[1].total == 41


def test_a_tie_broken_by_the_criterion():
    candidates = [
        cand(3, same(40, 30), share=Fraction(1, 2)),  # 70, better share and protocol
        cand(7, same(45, 25)),  # 70, more coherent
    ]
    ranking = rank(candidates, RULES)
    assert protocols(ranking) == ["CDQ2019/0007", "CDQ2019/0003"]
    assert [e.decided_by for e in ranking.entries] == [None, "criterion:coherence"]


def test_a_tie_that_needs_the_cofinancing_share():
    candidates = [
        cand(3, same(40, 30), share=Fraction(1, 10)),
        cand(7, same(40, 30), share=Fraction(1, 5)),
    ]
    ranking = rank(candidates, RULES)
    assert protocols(ranking) == ["CDQ2019/0007", "CDQ2019/0003"]
    assert ranking.entries[1].decided_by == "cofinancing_share"


def test_a_tie_that_needs_the_protocol():
    candidates = [cand(7, same(40, 30)), cand(3, same(40, 30))]
    ranking = rank(candidates, RULES)
    assert protocols(ranking) == ["CDQ2019/0003", "CDQ2019/0007"]
    assert ranking.entries[1].decided_by == "protocol"


def test_the_whole_chain_in_one_ranking():
    candidates = [
        cand(1, same(40, 30)),  # 70, coherence 40, share 1/10
        cand(2, same(50, 30)),  # 80
        cand(4, same(45, 25)),  # 70, coherence 45
        cand(5, same(40, 30), share=Fraction(3, 10)),  # 70, coherence 40, share 3/10
        cand(6, same(40, 30)),  # 70, coherence 40, share 1/10, later protocol than 1
    ]
    ranking = rank(candidates, RULES)
    assert [(e.protocol, e.decided_by) for e in ranking.entries] == [
        ("CDQ2019/0002", None),
        ("CDQ2019/0004", None),  # total decided against 0002
        ("CDQ2019/0005", "criterion:coherence"),
        ("CDQ2019/0001", "cofinancing_share"),
        ("CDQ2019/0006", "protocol"),
    ]


def test_an_unbreakable_tie_is_refused_naming_the_proposals():
    candidates = [cand(7, same(40, 30)), cand(3, same(40, 30)), cand(5, same(50, 30))]
    with pytest.raises(UnbreakableTie) as caught:
        rank(candidates, NO_PROTOCOL)
    assert caught.value.groups == [["CDQ2019/0003", "CDQ2019/0007"]]
    assert caught.value.id_groups == [[103, 107]]
    assert str(caught.value) == (
        "parità non risolvibile con i criteri del bando tra CDQ2019/0003 e CDQ2019/0007: "
        "serve un sorteggio"
    )


def test_every_unbreakable_group_is_named():
    candidates = [
        cand(9, same(40, 30)),
        cand(2, same(40, 30)),
        cand(4, same(40, 30)),
        cand(8, same(50, 30)),
        cand(6, same(50, 30)),
    ]
    with pytest.raises(UnbreakableTie) as caught:
        rank(candidates, NO_PROTOCOL)
    assert caught.value.groups == [
        ["CDQ2019/0006", "CDQ2019/0008"],
        ["CDQ2019/0002", "CDQ2019/0004", "CDQ2019/0009"],
    ]
    assert "tra CDQ2019/0002, CDQ2019/0004 e CDQ2019/0009" in str(caught.value)


def test_a_draw_settles_the_tie():
    candidates = [cand(3, same(40, 30)), cand(7, same(40, 30)), cand(5, same(50, 30))]
    # Extra ids in the draw (another tie, or withdrawn proposals) are ignored.
    ranking = rank(candidates, NO_PROTOCOL, draws=[[999, 107, 105, 103]])
    assert protocols(ranking) == ["CDQ2019/0005", "CDQ2019/0007", "CDQ2019/0003"]
    assert [e.decided_by for e in ranking.entries] == [None, None, "draw"]
    assert [e.position for e in ranking.entries] == [1, 2, 3]


def test_a_draw_must_cover_the_whole_group():
    candidates = [cand(3, same(40, 30)), cand(7, same(40, 30)), cand(8, same(40, 30))]
    with pytest.raises(UnbreakableTie):
        rank(candidates, NO_PROTOCOL, draws=[[107, 103]])
    ranking = rank(candidates, NO_PROTOCOL, draws=[[107, 103], [108, 103, 107]])
    assert protocols(ranking) == ["CDQ2019/0008", "CDQ2019/0003", "CDQ2019/0007"]


def test_a_draw_over_proposals_not_tied_changes_nothing():
    candidates = [
        cand(3, same(45, 25)),  # coherence decides
        cand(7, same(40, 30)),
        cand(8, same(40, 30), share=Fraction(1, 5)),  # the share decides
    ]
    without = rank(candidates, NO_PROTOCOL)
    assert protocols(without) == ["CDQ2019/0003", "CDQ2019/0008", "CDQ2019/0007"]
    assert rank(candidates, NO_PROTOCOL, draws=[[107, 108, 103]]) == without


def test_contradictory_draws_are_refused():
    candidates = [cand(3, same(40, 30)), cand(7, same(40, 30))]
    with pytest.raises(RankingError, match="sorteggi discordanti per CDQ2019/0003 e CDQ2019/0007"):
        rank(candidates, NO_PROTOCOL, draws=[[103, 107], [107, 103]])


def test_incomplete_scoring_is_refused_naming_the_proposals():
    candidates = [
        cand(7, same(40, 30)[:2]),
        cand(1, same(40, 30)),
        cand(3, ()),
        cand(4, same(40, 30) + (review(10, 10),)),  # more than required is fine
    ]
    with pytest.raises(IncompleteScoring) as caught:
        rank(candidates, RULES)
    assert caught.value.ids == [103, 107]
    assert str(caught.value) == (
        "valutazioni incomplete per CDQ2019/0003 e CDQ2019/0007: ne servono 3 per proposta"
    )


def test_ties_below_the_threshold_do_not_block():
    candidates = [
        cand(9, same(30, 20)),  # 50, tied
        cand(4, same(30, 20)),  # 50, tied
        cand(2, same(30, 10)),  # 40
        cand(5, same(50, 30)),  # 80
    ]
    ranking = rank(candidates, NO_PROTOCOL)
    assert [(e.protocol, e.fundable, e.tied, e.decided_by) for e in ranking.entries] == [
        ("CDQ2019/0005", True, False, None),
        ("CDQ2019/0004", False, True, None),
        ("CDQ2019/0009", False, True, "tie"),
        ("CDQ2019/0002", False, False, None),
    ]


def test_each_neighbourhood_keeps_the_overall_order():
    candidates = [
        cand(1, same(50, 30), neighbourhood="san-siro"),  # 80
        cand(2, same(55, 30), neighbourhood="lorenteggio"),  # 85
        cand(3, same(40, 30), neighbourhood="san-siro"),  # 70
        cand(4, same(30, 20), neighbourhood="lorenteggio"),  # 50
        cand(5, same(60, 40), neighbourhood="san-siro"),  # 100
        cand(6, same(20, 20), neighbourhood="mazzini"),  # 40
    ]
    ranking = rank(candidates, RULES)
    assert [(e.protocol, e.position, e.neighbourhood_position) for e in ranking.entries] == [
        ("CDQ2019/0005", 1, 1),
        ("CDQ2019/0002", 2, 1),
        ("CDQ2019/0001", 3, 2),
        ("CDQ2019/0003", 4, 3),
        ("CDQ2019/0004", 5, 2),
        ("CDQ2019/0006", 6, 1),
    ]
    groups = ranking.by_neighbourhood()
    assert list(groups) == ["lorenteggio", "mazzini", "san-siro"]
    assert [e.protocol for e in groups["san-siro"]] == [
        "CDQ2019/0005",
        "CDQ2019/0001",
        "CDQ2019/0003",
    ]
    assert [e.neighbourhood_position for e in groups["lorenteggio"]] == [1, 2]
    assert [e.position for e in groups["lorenteggio"]] == [2, 5]


def test_an_empty_call_ranks_nobody():
    assert rank([], RULES) == Ranking(())


def test_rules_refuse_unknown_keys():
    with pytest.raises(ValueError, match="criterio di parità sconosciuto: criterion:beauty"):
        RankingRules(CRITERIA, tie_break=("criterion:beauty",))
    with pytest.raises(ValueError, match="sconosciuto: age"):
        RankingRules(CRITERIA, tie_break=("age",))
    with pytest.raises(ValueError, match="aggregazione"):
        RankingRules(CRITERIA, aggregation="max")
    with pytest.raises(ValueError, match="ripetuti"):
        RankingRules(CRITERIA, tie_break=("protocol", "protocol"))


def test_bad_input_is_refused():
    with pytest.raises(RankingError, match="ripetute"):
        rank([cand(1, same(40, 30)), cand(1, same(30, 30))], RULES)
    with pytest.raises(ValueError, match="non float"):
        cand(1, same(40, 30), share=0.1)


# Properties. Few distinct scores, so that ties are frequent.
reviews_st = st.lists(
    st.builds(review, st.sampled_from([30, 36, 45]), st.sampled_from([20, 24, 30])),
    min_size=3,
    max_size=4,
)


@st.composite
def candidate_lists(draw):
    numbers = draw(st.lists(st.integers(1, 99), max_size=12, unique=True))
    ids = draw(st.permutations(range(len(numbers))))
    return [
        Candidate(
            id=candidate_id,
            protocol=f"CDQ2019/{number:04d}",
            protocol_number=number,
            neighbourhood=draw(st.sampled_from(["san-siro", "lorenteggio", "mazzini"])),
            cofinancing_share=draw(st.sampled_from([Fraction(1, 10), Fraction(1, 4)])),
            reviews=tuple(draw(reviews_st)),
        )
        for candidate_id, number in zip(ids, numbers, strict=True)
    ]


rules_st = st.builds(
    RankingRules,
    criteria=st.just(CRITERIA),
    aggregation=st.sampled_from(["mean", "median"]),
    threshold=st.sampled_from([0, 60, 66, 101]),
    tie_break=st.sampled_from([CHAIN, CHAIN[:2], ("cofinancing_share", "protocol"), ()]),
    reviews_required=st.just(3),
)


def outcome(candidates, rules, draws=()):
    """The ranking, or the tie it refused: both must not depend on the input's order."""
    try:
        return rank(candidates, rules, draws)
    except UnbreakableTie as tie:
        return tie.groups


@settings(max_examples=200)
@given(candidate_lists(), rules_st, st.data())
def test_the_order_of_arrival_does_not_matter(candidates, rules, data):
    expected = outcome(candidates, rules)
    shuffled = [
        Candidate(
            c.id,
            c.protocol,
            c.protocol_number,
            c.neighbourhood,
            c.cofinancing_share,
            tuple(data.draw(st.permutations(c.reviews))),
        )
        for c in data.draw(st.permutations(candidates))
    ]
    assert outcome(shuffled, rules) == expected
    assert outcome(candidates, rules) == expected  # a second run


@settings(max_examples=200)
@given(candidate_lists(), rules_st, st.data())
def test_a_ranking_is_consistent(candidates, rules, data):
    # A random draw over everybody settles any tie the rules leave open.
    draw = data.draw(st.permutations([c.id for c in candidates]))
    entries = rank(candidates, rules, draws=[draw]).entries
    assert [e.position for e in entries] == list(range(1, len(candidates) + 1))
    assert sorted(e.id for e in entries) == sorted(c.id for c in candidates)
    fundable = [e.fundable for e in entries]
    assert fundable == sorted(fundable, reverse=True)  # fundable ones come first
    by_id = {c.id: c for c in candidates}
    for entry in entries:
        assert entry.fundable == (entry.total >= rules.threshold)
        # The ranking's own integer arithmetic gives the aggregates exactly, median too.
        assert entry.points == aggregate(by_id[entry.id].reviews, rules.criteria, rules.aggregation)
        assert entry.total == sum(entry.points.values())
        if rules.aggregation == "mean":
            reviews = by_id[entry.id].reviews
            review_totals = [r["coherence"] + r["quality"] for r in reviews]
            assert entry.total == Fraction(sum(review_totals), len(reviews))
    for above, below in zip(entries, entries[1:], strict=False):
        assert above.total >= below.total
        if above.total > below.total:
            assert below.decided_by is None
        elif below.decided_by == "criterion:coherence":
            assert above.points["coherence"] > below.points["coherence"]
        elif below.decided_by == "cofinancing_share":
            assert by_id[above.id].cofinancing_share > by_id[below.id].cofinancing_share
        elif below.decided_by == "protocol":
            assert by_id[above.id].protocol_number < by_id[below.id].protocol_number
        elif below.decided_by == "draw":
            assert draw.index(above.id) < draw.index(below.id)
        else:
            assert below.decided_by == "tie"
            assert not below.fundable and above.tied and below.tied
            assert by_id[above.id].protocol_number < by_id[below.id].protocol_number
    for slug, group in Ranking(entries).by_neighbourhood().items():
        assert [e.neighbourhood_position for e in group] == list(range(1, len(group) + 1))
        assert all(e.neighbourhood == slug for e in group)
        assert [e.position for e in group] == sorted(e.position for e in group)
