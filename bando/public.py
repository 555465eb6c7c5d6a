"""Public pages: the calls, a call's page, how it works."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from .extensions import db
from .models import Edition

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc())).all()
    return render_template("public/index.html", editions=editions)


@bp.route("/bandi/<code>")
def edition(code):
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        abort(404)
    return render_template("public/edition.html", edition=edition)
