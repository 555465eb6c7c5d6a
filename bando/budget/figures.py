"""What an edition has committed and what is left (budget invariant 1 of DESIGN.md)."""

from sqlalchemy import case, func, select

from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.core.extensions import db

# What a payment row counts for: a recovery is money given back.
SIGNED_PAYMENT = case(
    (Payment.kind == "recovery", -Payment.amount_cents), else_=Payment.amount_cents
)


def _paid_of_award():
    return (
        select(func.coalesce(func.sum(SIGNED_PAYMENT), 0))
        .where(Payment.award_id == Award.id)
        .scalar_subquery()
    )


def _committed_of_award():
    """An award's share of the cap, as the database's guard counts it (migration 0005):
    while active, the award or its final contribution; once ended, what was paid."""
    return case(
        (Award.state == "active", func.coalesce(Award.final_amount_cents, Award.amount_cents)),
        else_=_paid_of_award(),
    )


def committed_cents(edition_id: int) -> int:
    """Σ active awards, plus what was already paid on renounced or revoked ones."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(_committed_of_award()), 0)).where(
            Award.edition_id == edition_id
        )
    )
    return int(total or 0)


def available_cents(edition) -> int:
    return edition.budget_cap_cents - committed_cents(edition.id)


def paid_cents(edition_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(SIGNED_PAYMENT), 0))
            .join(Award, Award.id == Payment.award_id)
            .where(Award.edition_id == edition_id)
        )
        or 0
    )


def figures(edition) -> dict:
    """The call's money (cap, committed, paid, available) and each neighbourhood's, with
    its quota where the call sets one: two queries whatever the number of awards."""
    rows = db.session.execute(
        select(
            Application.neighbourhood_id,
            func.coalesce(func.sum(_committed_of_award()), 0),
            func.coalesce(func.sum(_paid_of_award()), 0),
        )
        .join(Application, Application.id == Award.application_id)
        .where(Award.edition_id == edition.id)
        .group_by(Application.neighbourhood_id)
    ).all()
    by_hood = {hood_id: (int(committed), int(paid)) for hood_id, committed, paid in rows}
    committed = sum(c for c, _ in by_hood.values())
    paid = sum(p for _, p in by_hood.values())
    return {
        "cap": edition.budget_cap_cents,
        "committed": committed,
        "paid": paid,
        "available": edition.budget_cap_cents - committed,
        "neighbourhoods": [
            {
                "slug": hood.slug,
                "name": hood.name,
                "quota": hood.quota_cents,
                "committed": by_hood.get(hood.id, (0, 0))[0],
                "paid": by_hood.get(hood.id, (0, 0))[1],
            }
            for hood in edition.neighbourhoods
        ],
    }
