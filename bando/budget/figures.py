"""What an edition has committed and what is left (budget invariant 1 of DESIGN.md)."""

from sqlalchemy import case, func, select

from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.core.extensions import db


def committed_cents(edition_id: int) -> int:
    """Σ active awards, plus what was already paid on renounced or revoked ones."""
    paid = (
        select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.award_id == Award.id)
        .scalar_subquery()
    )
    total = db.session.scalar(
        select(
            func.coalesce(
                func.sum(case((Award.state == "active", Award.amount_cents), else_=paid)), 0
            )
        ).where(Award.edition_id == edition_id)
    )
    return int(total or 0)


def available_cents(edition) -> int:
    return edition.budget_cap_cents - committed_cents(edition.id)


def paid_cents(edition_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0))
            .join(Award, Award.id == Payment.award_id)
            .where(Award.edition_id == edition_id)
        )
        or 0
    )


def figures(edition) -> dict:
    """The call's money (cap, committed, paid, available) and each neighbourhood's, with
    its quota where the call sets one: two queries whatever the number of awards."""
    paid_of = (
        select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.award_id == Award.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Application.neighbourhood_id,
            func.coalesce(
                func.sum(case((Award.state == "active", Award.amount_cents), else_=paid_of)), 0
            ),
            func.coalesce(func.sum(paid_of), 0),
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
