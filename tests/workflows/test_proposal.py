"""The figures and dates of a proposal against the call's rules, on plain data."""

from dataclasses import replace
from datetime import date

import pytest

from scoring.money import euro
from workflows.proposal import (
    BudgetLine,
    CallRules,
    Proposal,
    minimum_cofinancing_cents,
    proposal_problems,
)

RULES = CallRules(
    max_grant_cents=16_000_00,
    min_cofinancing_bp=1000,
    project_starts_on=date(2019, 6, 1),
    project_ends_on=date(2020, 5, 31),
    categories=("personale", "materiali"),
    guidelines={"san-siro": frozenset({"SS1", "SS2"}), "gratosoglio": frozenset({"GR1"})},
    general_guidelines=frozenset({"G1"}),
)

GOOD = Proposal(
    neighbourhood="san-siro",
    guidelines=("SS1", "G1"),
    budget=(BudgetLine("personale", 15_000_00), BudgetLine("materiali", 5_000_00)),
    requested_cents=16_000_00,
    cofinancing_cents=4_000_00,
    start_date=date(2019, 6, 1),
    end_date=date(2020, 5, 31),
)


def test_a_good_proposal_passes_even_when_complete_is_asked():
    assert proposal_problems(GOOD, RULES, complete=True) == {}


def test_an_empty_draft_is_fine_until_submission():
    assert proposal_problems(Proposal(), RULES) == {}
    problems = proposal_problems(Proposal(), RULES, complete=True)
    assert set(problems) == {
        "neighbourhood",
        "budget",
        "requested_amount",
        "start_date",
        "end_date",
    }


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"requested_cents": 16_000_01}, "requested_amount", "supera il massimo"),
        ({"requested_cents": -1}, "requested_amount", "negativo"),
        ({"cofinancing_cents": -1}, "cofinancing_amount", "negativo"),
        ({"cofinancing_cents": 3_000_00}, "budget", "devono coincidere"),
        (
            {
                "requested_cents": 16_000_00,
                "cofinancing_cents": 1_000_00,
                "budget": (BudgetLine("personale", 17_000_00),),
            },
            "cofinancing_amount",
            "almeno il 10 %",
        ),
        ({"start_date": date(2019, 5, 31)}, "start_date", "periodo del bando"),
        ({"end_date": date(2020, 6, 1)}, "end_date", "periodo del bando"),
        (
            {"start_date": date(2020, 1, 1), "end_date": date(2019, 12, 31)},
            "end_date",
            "precede",
        ),
        ({"guidelines": ("GR1",)}, "guidelines", "non del quartiere"),
        ({"guidelines": ("SS1", "SS1")}, "guidelines", "due volte"),
        ({"neighbourhood": "brera"}, "neighbourhood", "non previsto"),
        (
            {"budget": (BudgetLine("viaggi", 15_000_00), BudgetLine("materiali", 5_000_00))},
            "budget.0.category",
            "non prevista",
        ),
        (
            {"budget": (BudgetLine("personale", 20_000_00), BudgetLine("materiali", 0))},
            "budget.1.amount",
            "maggiore di zero",
        ),
    ],
)
def test_each_rule_names_its_field(change, field, words):
    problems = proposal_problems(replace(GOOD, **change), RULES)
    assert field in problems, problems
    assert any(words in message for message in problems[field]), problems[field]


def test_only_general_guidelines_are_not_enough_to_submit():
    problems = proposal_problems(replace(GOOD, guidelines=("G1",)), RULES, complete=True)
    assert "del quartiere" in problems["guidelines"][0]
    assert proposal_problems(replace(GOOD, guidelines=("G1",)), RULES) == {}


def test_guidelines_need_a_neighbourhood():
    problems = proposal_problems(Proposal(guidelines=("SS1",)), RULES)
    assert problems["guidelines"] == ["scegliere prima il quartiere"]


def test_exactly_the_minimum_cofinancing_is_enough():
    total = 17_000_00
    minimum = minimum_cofinancing_cents(total, 1000)
    assert minimum == 1_700_00
    exact = replace(
        GOOD,
        budget=(BudgetLine("personale", total),),
        requested_cents=total - minimum,
        cofinancing_cents=minimum,
    )
    assert proposal_problems(exact, RULES) == {}
    # One cent short is refused, whatever the rounding.
    assert minimum_cofinancing_cents(1_001, 1000) == 101
    short = replace(
        GOOD,
        budget=(BudgetLine("personale", 1_001),),
        requested_cents=901,
        cofinancing_cents=100,
    )
    assert "cofinancing_amount" in proposal_problems(short, RULES)


def test_the_messages_write_money_the_italian_way():
    problems = proposal_problems(replace(GOOD, requested_cents=20_000_00), RULES)
    assert "€ 20.000,00" in problems["requested_amount"][0]
    assert "€ 16.000,00" in problems["requested_amount"][0]
    assert euro(123_456_789) == "€ 1.234.567,89"
    assert euro(5) == "€ 0,05"
