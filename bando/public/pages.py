"""Public pages: the calls, a call's page, how it works, the questions asked most often, and
the pages every Italian public administration's site has (accessibility, privacy, legal
notes, contacts)."""

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bando.applications.attachments import attachment_kinds
from bando.budget.figures import committed_cents, figures
from bando.calls.models import Edition, Neighbourhood
from bando.core.extensions import db
from bando.core.formatting import percent
from bando.core.timeutil import utcnow

bp = Blueprint("public", __name__)

# Who answers for the site, read by the legal pages and the privacy notice. The values are
# the City of Milan's; a site run by someone else sets SITE_LEGAL in its configuration.
LEGAL = {
    "controller": "Comune di Milano, Piazza della Scala 2, 20121 Milano",
    "dpo_email": "dpo@comune.milano.it",
    "phone": "020202",
    "accessibility_form": "https://form.agid.gov.it",
    "website": "https://www.comune.milano.it",
    # The day the accessibility statement was last reviewed (AgID model: its date).
    "accessibility_reviewed": date(2026, 11, 28),
}


def legal() -> dict:
    return {**LEGAL, **current_app.config.get("SITE_LEGAL", {})}


@bp.app_context_processor
def _legal_context():
    return {"legal": legal()}


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
    return render_template(
        "public/edition.html", edition=edition, money=money_of(edition), budget=figures(edition)
    )


@bp.route("/come-funziona")
def how_it_works():
    return render_template("public/how_it_works.html")


# --- the questions asked most often ------------------------------------------------------------


def _editions_with_neighbourhoods():
    return db.session.scalars(
        select(Edition)
        .order_by(Edition.opens_at.desc())
        .options(selectinload(Edition.neighbourhoods))
    ).all()


def current_edition():
    """The call the questions are about: the one open now, else the newest."""
    editions = _editions_with_neighbourhoods()
    now = utcnow()
    open_now = [e for e in editions if e.opens_at <= now < e.closes_at and e.state == "open"]
    return (open_now or editions or [None])[0]


def _faq_page(edition):
    kinds = attachment_kinds(edition) if edition is not None else {}
    return render_template("public/faq.html", edition=edition, kinds=kinds)


@bp.route("/domande-frequenti")
def faq():
    return _faq_page(current_edition())


@bp.route("/bandi/<code>/domande-frequenti")
def edition_faq(code):
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        abort(404)
    return _faq_page(edition)


# --- the pages every public administration's site has --------------------------------------


@bp.route("/accessibilita")
def accessibility():
    return render_template("public/accessibility.html")


@bp.route("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.route("/note-legali")
def legal_notes():
    return render_template("public/legal_notes.html")


@bp.route("/contatti")
def contacts():
    """Contacts and help: the office, the city's number, the neighbourhood laboratories."""
    labs = {}
    for edition in _editions_with_neighbourhoods():
        for hood in edition.neighbourhoods:
            if hood.lab_address:
                labs.setdefault(hood.name, hood.lab_address)
    return render_template("public/contacts.html", labs=sorted(labs.items()))
