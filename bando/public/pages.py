"""Public pages: the calls, a call's page, how it works."""

from dataclasses import dataclass

from flask import Blueprint, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bando.budget.figures import committed_cents
from bando.calls.models import Edition, Neighbourhood
from bando.core.extensions import db
from bando.core.formatting import percent

bp = Blueprint("public", __name__)


@dataclass(frozen=True)
class Money:
    """An edition's money as the public reads it: cap, committed, available."""

    cap: int
    committed: int

    @property
    def available(self) -> int:
        return self.cap - self.committed

    @property
    def committed_percent(self) -> int:
        return percent(self.committed, self.cap)


def money_of(edition: Edition) -> Money:
    return Money(cap=edition.budget_cap_cents, committed=committed_cents(edition.id))


@bp.route("/")
def index():
    # Calls loaded ahead of their opening are shown too, as "upcoming".
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc())).all()
    return render_template("public/index.html", editions=[(e, money_of(e)) for e in editions])


@bp.route("/bandi/<code>")
def edition(code):
    edition = db.session.scalar(
        select(Edition)
        .where(Edition.code == code)
        .options(
            selectinload(Edition.neighbourhoods).selectinload(Neighbourhood.guidelines),
            selectinload(Edition.criteria),
            selectinload(Edition.guidelines),
        )
    )
    if edition is None:
        abort(404)
    return render_template("public/edition.html", edition=edition, money=money_of(edition))


@bp.route("/come-funziona")
def how_it_works():
    return render_template("public/how_it_works.html")
