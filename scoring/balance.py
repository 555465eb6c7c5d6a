"""The final contribution after the report (rendicontazione), and the payments around it.

When the accepted expenses fall short of the planned total cost, the contribution is cut in
the same proportion (the usual rule in Italian grant calls): the grant paid a share of a
project, and a smaller project gets the same share of less. Cents are rounded down, so the
beneficiary never receives a fraction of a cent it was not owed; over-spending never raises
the contribution above the award. What was paid in advance is set against the final
contribution: the difference is either a balance to pay or an amount to recover.
"""

from dataclasses import dataclass
from decimal import Decimal

from scoring.money import share_of

PROPORTIONAL = "proportional"
FULL_IF_SPENT = "full_if_spent"
RULES = (PROPORTIONAL, FULL_IF_SPENT)

# Ritenuta d'acconto on contributions to businesses and non-commercial bodies,
# DPR 600/1973 art. 28, second paragraph.
WITHHOLDING_RATE_BP = 400

BP = 10_000  # basis points in a whole


@dataclass(frozen=True)
class Balance:
    final_contribution_cents: int
    balance_cents: int  # still to pay, >= 0
    recovery_cents: int  # to recover, >= 0: the advances exceed the final contribution
    reduction_cents: int  # the award minus the final contribution


def _amount(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: deve essere un importo intero in centesimi, non negativo")
    return value


def _share(name: str, bp) -> Decimal:
    if not isinstance(bp, int) or isinstance(bp, bool) or not 0 <= bp <= BP:
        raise ValueError(f"{name}: deve essere tra 0 e 10000 punti base")
    return Decimal(bp) / BP


def final_balance(
    award_cents: int,
    planned_cost_cents: int,
    accepted_expenses_cents: int,
    paid_cents: int,
    rule: str = PROPORTIONAL,
) -> Balance:
    """The final contribution, and what is left to pay or to recover after the advances."""
    award = _amount("contributo concesso", award_cents)
    planned = _amount("costo totale previsto", planned_cost_cents)
    accepted = _amount("spese ammesse", accepted_expenses_cents)
    paid = _amount("già pagato", paid_cents)
    if rule == PROPORTIONAL:
        if planned == 0:
            raise ValueError("costo totale previsto: deve essere maggiore di zero")
        # Floor division: rounded down to the cent, never in the beneficiary's favour.
        final = min(award, award * accepted // planned)
    elif rule == FULL_IF_SPENT:
        final = award
    else:
        raise ValueError(f"regola del saldo «{rule}» non è tra {', '.join(RULES)}")
    # Never more than what was proven spent, whatever the award says.
    final = min(final, accepted)
    return Balance(
        final_contribution_cents=final,
        balance_cents=max(0, final - paid),
        recovery_cents=max(0, paid - final),
        reduction_cents=award - final,
    )


def withholding_cents(amount_cents: int, exempt: bool, rate_bp: int = WITHHOLDING_RATE_BP) -> int:
    """The ritenuta d'acconto on a payment, rounded half up; 0 for an exempt organisation."""
    amount = _amount("importo", amount_cents)
    share = _share("aliquota", rate_bp)
    if exempt:
        return 0
    return share_of(amount, share)


def advance_cents(award_cents: int, advance_share_bp: int) -> int:
    """The advance paid on acceptance, rounded half up."""
    return share_of(
        _amount("contributo concesso", award_cents), _share("anticipo", advance_share_bp)
    )
