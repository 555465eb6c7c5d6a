"""The public pages of the grants: "Contributi concessi" (the calls, then a call's grants
with their total and the files to download) and the public page of a funded project, the
one the art. 27 link points to."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.types import row_id
from bando.transparency import operations

bp = Blueprint("transparency", __name__)


def _edition(code) -> Edition:
    edition = operations.edition_by_code(code)
    if edition is None:
        abort(404)
    return edition


@bp.route("/contributi-concessi")
def index():
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc())).all()
    calls = []
    for edition in editions:
        grants = operations.grants(edition)
        calls.append((edition, len(grants), sum(g.amount_cents for g in grants)))
    return render_template("transparency/index.html", calls=calls)


@bp.route("/contributi-concessi/<code>")
def edition(code):
    edition = _edition(code)
    grants = operations.grants(edition)
    return render_template(
        "transparency/edition.html",
        edition=edition,
        grants=grants,
        total=sum(g.amount_cents for g in grants),
        paid=sum(g.paid_cents for g in grants),
        legal_basis=operations.legal_basis(edition),
        office=operations.office(edition),
    )


@bp.route("/contributi-concessi/<code>/progetti/<int:application_id>")
def project(code, application_id):
    edition = _edition(code)
    # An id beyond the database's integers is no application (and no overflow).
    grant = operations.grant(edition, application_id) if row_id(application_id) else None
    if grant is None:  # not funded, or no longer: not a grant of the call
        abort(404)
    return render_template(
        "transparency/project.html",
        edition=edition,
        grant=grant,
        legal_basis=operations.legal_basis(edition),
        office=operations.office(edition),
    )
