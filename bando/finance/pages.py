"""The letters' pages: finance's list of the letters of a call (which letter each proposal
gets, its protocol once issued, the PDF of each and the ZIP of all), the issuing of the
missing ones after a confirmation; the organisation's download of its own letters.

Thin views over bando.finance.operations, the same the API and the CLI call."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from bando.applications import rules
from bando.applications.operations import expire_due_in
from bando.calls.models import Edition
from bando.core.auth import roles_required, signed_in_user
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.operations import OperationError, commit
from bando.finance import operations
from bando.finance.api import LetterNotIssued, letter_for, pdf_response
from bando.finance.models import LETTER_KINDS, Letter

bp = Blueprint("letters", __name__)

KIND_LABELS = {
    "award": _l("Concessione del contributo"),
    "reserve": _l("Idoneo non finanziato (riserva)"),
    "not_funded": _l("Non finanziato"),
    "not_admissible": _l("Non ammissibile"),
    "rejection_notice": _l("Preavviso di rigetto"),
    "integration_request": _l("Richiesta di integrazione"),
}


class ConfirmForm(FlaskForm):
    """The CSRF token of the issuing button."""


def _edition(code) -> Edition:
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        abort(404)
    return edition


@bp.app_template_global("kind_label")
def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global("issued_letters")
def issued_letters(application) -> list[Letter]:
    """The letters issued to the organisation for this proposal (for its own pages)."""
    return operations.letters_of(application)


@bp.route("/contabilita/lettere")
@roles_required("finance")
def index():
    counts = dict(
        db.session.execute(
            select(Letter.edition_id, func.count(Letter.id)).group_by(Letter.edition_id)
        ).all()
    )
    editions = db.session.scalars(
        select(Edition)
        .where(Edition.state.in_(("ranked", "allocated", "archived", "closed", "open")))
        .order_by(Edition.opens_at.desc())
    ).all()
    return render_template("letters/index.html", editions=editions, counts=counts)


@bp.route("/contabilita/bandi/<code>/lettere")
@roles_required("finance")
def edition_letters(code):
    edition = _edition(code)
    expire_due_in(edition)
    rows = operations.edition_rows(edition)
    missing = sum(1 for _a, _k, letter in rows if letter is None)
    return render_template(
        "letters/edition.html",
        edition=edition,
        rows=rows,
        missing=missing,
        form=ConfirmForm(),
        signed=bool(current_app.config.get("LETTER_SIGN_KEY")),
    )


@bp.route("/contabilita/bandi/<code>/lettere", methods=["POST"])
@roles_required("finance")
def issue(code):
    edition = _edition(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    expire_due_in(edition)
    try:
        issued = operations.issue_edition(edition, signed_in_user())
        commit()
    except OperationError as error:
        db.session.rollback()
        flash(_("Lettere non emesse: %(reason)s", reason=error.message), "danger")
        return redirect(url_for(".edition_letters", code=code))
    if issued:
        flash(
            ngettext(
                "%(num)d lettera emessa, con il suo protocollo.",
                "%(num)d lettere emesse, ciascuna con il suo protocollo.",
                len(issued),
            ),
            "success",
        )
    else:
        flash(_("Nessuna lettera da emettere: tutte hanno già il loro protocollo."), "info")
    return redirect(url_for(".edition_letters", code=code))


@bp.route("/contabilita/bandi/<code>/lettere.zip")
@roles_required("finance")
def edition_zip(code):
    edition = _edition(code)
    expire_due_in(edition)
    ids = operations.edition_letter_ids(edition)
    if not ids:
        flash(_("Nessuna lettera di questo bando è ancora emessa: emetterle prima."), "info")
        return redirect(url_for(".edition_letters", code=code))
    return download(
        stream_with_context(
            operations.zip_stream(operations.edition_entries(ids, current_app.config))
        ),
        "application/zip",
        f"lettere-{edition.code}.zip",
    )


@bp.route("/contabilita/domande/<int:application_id>/lettere/<kind>.pdf")
@roles_required("finance")
def finance_letter(application_id, kind):
    try:
        letter = letter_for(signed_in_user(), application_id, kind)
    except LetterNotIssued as error:
        flash(_("La lettera non è ancora emessa: emetterla, con il suo protocollo, qui."), "info")
        return redirect(url_for(".edition_letters", code=error.edition_code))
    if letter is None:
        abort(404)
    return pdf_response(letter)


@bp.route("/domande/<int:application_id>/lettere/<kind>.pdf")
@roles_required("applicant")
def applicant_letter(application_id, kind):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None or kind not in LETTER_KINDS:
        abort(404)
    letter = letter_for(signed_in_user(), application.id, kind)
    if letter is None:
        abort(404)
    return pdf_response(letter)
