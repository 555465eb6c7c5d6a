"""What an edition has committed and what is left (budget invariant 1 of DESIGN.md)."""

from sqlalchemy import case, func, select

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
