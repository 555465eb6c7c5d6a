"""Finance's pages (contabilità): the calls with their money, each call's funded projects
with what is due now and a button to pay (after a confirmation carrying a one-time key,
so that a double submit records once), the payment register (page and CSV).

Thin views over bando.payments.operations, the same the API calls."""

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField

from bando.applications import rules
from bando.budget.figures import figures
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core.auth import roles_required, signed_in_user
from bando.core.extensions import db
from bando.core.formatting import money
from bando.core.operations import OperationError
from bando.core.schemas import one_line
from bando.payments import operations
from bando.payments.exports import register_file
from bando.payments.operations import KIND_LABELS, register_totals

bp = Blueprint("payments", __name__)


class PaymentForm(FlaskForm):
    reference = StringField(_l("Riferimento del mandato di pagamento (facoltativo)"))
    key = HiddenField()


def _edition(code) -> Edition:
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        abort(404)
    return edition


@bp.route("/contabilita/")
@roles_required("finance")
def dashboard():
    editions = db.session.scalars(
        select(Edition)
        .where(Edition.id.in_(select(Award.edition_id)))
        .order_by(Edition.opens_at.desc())
    ).all()
    rows = []
    for edition in editions:
        applications = operations.funded_of(edition)
        rows.append(
            {
                "edition": edition,
                "figures": figures(edition),
                "to_pay": sum(1 for a in applications if operations.due_payments(a)),
                "to_review": sum(1 for a in applications if a.state == "reported"),
            }
        )
    return render_template("payments/dashboard.html", rows=rows)


@bp.route("/contabilita/bandi/<code>")
@roles_required("finance")
def edition(code):
    edition = _edition(code)
    applications = operations.funded_of(edition)
    return render_template(
        "payments/edition.html",
        edition=edition,
        figures=figures(edition),
        rows=[(a, operations.due_payments(a)) for a in applications],
        kind_labels=KIND_LABELS,
    )


def _application(application_id):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None or application.award is None:
        abort(404)
    return application


@bp.route("/contabilita/domande/<int:application_id>/pagamenti/<kind>", methods=["GET", "POST"])
@roles_required("finance")
def pay(application_id, kind):
    """The confirmation of a payment, then its recording: the form carries a key made when
    the page was drawn, so a second submit of the same page finds the payment recorded."""
    application = _application(application_id)
    if kind not in KIND_LABELS:
        abort(404)
    form = PaymentForm()
    due = next((d for d in operations.due_payments(application) if d.kind == kind), None)
    context = {
        "application": application,
        "kind": kind,
        "kind_labels": KIND_LABELS,
        "due": due,
        "form": form,
        "refusal": None,
    }
    if request.method == "GET":
        form.key.data = uuid.uuid4().hex
        return render_template("payments/pay.html", **context)
    if not form.validate_on_submit():
        abort(400)
    reference = (form.reference.data or "").strip()
    try:
        reference = one_line(reference)
        if len(reference) > 100:
            raise ValueError(_("Al massimo %(count)s caratteri.", count=100))
    except ValueError as error:
        form.reference.errors = [str(error)]
        return render_template("payments/pay.html", **context), 422
    try:
        payment, created = operations.pay_once(
            application.id, kind, signed_in_user(), reference=reference, key=form.key.data or None
        )
    except OperationError as error:
        db.session.rollback()
        application = _application(application_id)
        return render_template(
            "payments/pay.html",
            **{**context, "application": application, "due": None, "refusal": error.message},
        ), error.status
    if created:
        flash(
            _(
                "%(kind)s di %(amount)s registrato per %(protocol)s.",
                kind=KIND_LABELS[kind],
                amount=money(payment.amount_cents),
                protocol=application.protocol,
            ),
            "success",
        )
    else:
        flash(_("Il pagamento era già stato registrato: nessun doppio pagamento."), "info")
    return redirect(
        url_for(".edition", code=application.edition.code, _anchor=f"d{application.id}")
    )


@bp.route("/contabilita/bandi/<code>/registro")
@roles_required("finance")
def register(code):
    edition = _edition(code)
    payments = operations.register(edition)
    return render_template(
        "payments/register.html",
        edition=edition,
        payments=payments,
        kind_labels=KIND_LABELS,
        totals=register_totals(payments),
    )


@bp.route("/contabilita/bandi/<code>/registro.<any(csv, xlsx):kind>")
@roles_required("finance")
def register_export(code, kind):
    edition = _edition(code)
    return register_file(edition, kind)
