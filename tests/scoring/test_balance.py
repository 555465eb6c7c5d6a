"""The final contribution after the report: figures computed by hand, then properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.balance import Balance, advance_cents, final_balance, withholding_cents

EUR = 100

# An award of 10 000 € on a project planned at 12 500 € (80 %), 5 000 € paid in advance.
AWARD, PLANNED, ADVANCE = 10_000 * EUR, 12_500 * EUR, 5_000 * EUR


def test_full_spend_pays_the_rest_of_the_award():
    assert final_balance(AWARD, PLANNED, PLANNED, ADVANCE) == Balance(
        final_contribution_cents=10_000 * EUR,
        balance_cents=5_000 * EUR,
        recovery_cents=0,
        reduction_cents=0,
    )


def test_under_spend_cuts_the_contribution_in_proportion():
    # 10 000 of 12 500 spent (80 %): 80 % of the award, 8 000.
    result = final_balance(AWARD, PLANNED, 10_000 * EUR, ADVANCE)
    assert result.final_contribution_cents == 8_000 * EUR
    assert result.balance_cents == 3_000 * EUR
    assert result.recovery_cents == 0
    assert result.reduction_cents == 2_000 * EUR


def test_proportional_cut_rounds_down_to_the_cent():
    # 1 000 € × 1 000 / 3 000 = 333,333… → 333,33, not 333,34.
    result = final_balance(1_000 * EUR, 3_000 * EUR, 1_000 * EUR, 0)
    assert result.final_contribution_cents == 33_333
    # 2 / 3 of 1 000 € = 666,666… → 666,66 (half-up would say 666,67).
    assert (
        final_balance(1_000 * EUR, 3_000 * EUR, 2_000 * EUR, 0).final_contribution_cents == 66_666
    )


def test_over_spend_never_raises_the_contribution_above_the_award():
    result = final_balance(AWARD, PLANNED, 20_000 * EUR, ADVANCE)
    assert result.final_contribution_cents == AWARD
    assert result.balance_cents == 5_000 * EUR


def test_advance_larger_than_the_final_contribution_is_recovered():
    # 5 000 of 12 500 spent (40 %): 4 000, against 5 000 already paid.
    result = final_balance(AWARD, PLANNED, 5_000 * EUR, ADVANCE)
    assert result == Balance(
        final_contribution_cents=4_000 * EUR,
        balance_cents=0,
        recovery_cents=1_000 * EUR,
        reduction_cents=6_000 * EUR,
    )


def test_a_rejected_expense_lowers_the_accepted_total():
    # Receipts for the whole 12 500, one of 1 250 rejected: 11 250 accepted (90 %) → 9 000.
    accepted = sum([5_000 * EUR, 4_000 * EUR, 2_250 * EUR, 1_250 * EUR]) - 1_250 * EUR
    result = final_balance(AWARD, PLANNED, accepted, ADVANCE)
    assert result.final_contribution_cents == 9_000 * EUR
    assert result.balance_cents == 4_000 * EUR


def test_nothing_accepted_recovers_the_whole_advance():
    result = final_balance(AWARD, PLANNED, 0, ADVANCE)
    assert (result.final_contribution_cents, result.recovery_cents) == (0, ADVANCE)


def test_full_if_spent_pays_up_to_the_expenses():
    assert final_balance(AWARD, PLANNED, 9_000 * EUR, 0, rule="full_if_spent") == Balance(
        final_contribution_cents=9_000 * EUR,
        balance_cents=9_000 * EUR,
        recovery_cents=0,
        reduction_cents=1_000 * EUR,
    )
    spent_more = final_balance(AWARD, PLANNED, 10_500 * EUR, ADVANCE, rule="full_if_spent")
    assert spent_more.final_contribution_cents == AWARD
    # Proportional would have given 10 500 / 12 500 of 10 000 = 8 400.
    assert final_balance(AWARD, PLANNED, 10_500 * EUR, 0).final_contribution_cents == 8_400 * EUR


def test_the_contribution_never_exceeds_the_accepted_expenses():
    # An award above the planned cost (a data error) still pays no more than what was spent.
    result = final_balance(2_000 * EUR, 1_000 * EUR, 500 * EUR, 0)
    assert result.final_contribution_cents == 500 * EUR


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((AWARD, PLANNED, PLANNED, 0), {"rule": "generous"}, "regola del saldo"),
        ((AWARD, 0, PLANNED, 0), {}, "costo totale previsto"),
        ((-1, PLANNED, PLANNED, 0), {}, "contributo concesso"),
        ((AWARD, PLANNED, -5, 0), {}, "spese ammesse"),
        ((AWARD, PLANNED, PLANNED, -1), {}, "già pagato"),
        ((AWARD, PLANNED, 100.5, 0), {}, "spese ammesse"),
        ((True, PLANNED, PLANNED, 0), {}, "contributo concesso"),
    ],
)
def test_final_balance_refuses_bad_figures(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        final_balance(*args, **kwargs)


def test_withholding_is_four_percent_rounded_half_up():
    assert withholding_cents(5_000 * EUR, exempt=False) == 200 * EUR
    assert withholding_cents(1_237, exempt=False) == 49  # 49,48 cents
    assert withholding_cents(1_238, exempt=False) == 50  # 49,52 cents
    # At 4 % no amount gives exactly half a cent; at 50 % one cent does.
    assert withholding_cents(1, exempt=False, rate_bp=5000) == 1
    assert withholding_cents(3, exempt=False, rate_bp=5000) == 2


def test_exempt_organisations_have_no_withholding():
    assert withholding_cents(5_000 * EUR, exempt=True) == 0


def test_advance_is_rounded_half_up():
    assert advance_cents(10_000 * EUR, 5000) == 5_000 * EUR
    assert advance_cents(1_600_001, 5000) == 800_001  # 8 000,005 €
    assert advance_cents(1_600_003, 2500) == 400_001  # 4 000,0075 €
    assert advance_cents(AWARD, 0) == 0
    assert advance_cents(AWARD, 10_000) == AWARD


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: advance_cents(AWARD, 10_001), "anticipo"),
        (lambda: advance_cents(-1, 5000), "contributo concesso"),
        (lambda: withholding_cents(100, exempt=False, rate_bp=-1), "aliquota"),
        (lambda: withholding_cents(-100, exempt=False), "importo"),
    ],
)
def test_shares_and_amounts_out_of_range_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


amounts = st.integers(0, 10_000_000)


@given(
    award=amounts,
    planned=st.integers(1, 10_000_000),
    accepted=amounts,
    paid=amounts,
    rule=st.sampled_from(["proportional", "full_if_spent"]),
)
def test_final_balance_properties(award, planned, accepted, paid, rule):
    result = final_balance(award, planned, accepted, paid, rule=rule)
    final = result.final_contribution_cents
    assert 0 <= final <= award
    assert final <= accepted
    assert result.balance_cents >= 0 and result.recovery_cents >= 0
    assert result.balance_cents == 0 or result.recovery_cents == 0
    assert result.balance_cents - result.recovery_cents == final - paid
    assert result.reduction_cents == award - final
    if rule == "proportional":
        # Rounded down: the exact share lies in [final, final + 1).
        exact_times_planned = award * min(accepted, planned)
        if award <= planned:
            assert final * planned <= exact_times_planned < (final + 1) * planned
        if accepted >= planned and award <= accepted:
            assert final == award
