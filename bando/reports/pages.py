"""The final report's pages: the organisation's «Rendicontazione» form (rows of expenses,
a row more on request, a receipt per row) and the report read back with its review;
finance's review of each expense and the approval after a confirmation that shows the
final contribution and the balance.

Thin views over bando.reports.operations, the same the API calls, with the signed-in user
as the actor; a refusal is shown next to its field or at the top, never a 500.
"""

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList, Form, FormField, SelectField, StringField, SubmitField, TextAreaField

from bando.applications import rules
from bando.applications.pages.forms import api_amount, remap_rows
from bando.calls.models import budget_categories
from bando.core.auth import roles_required, signed_in_user
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.forms import offer_row, place_errors
from bando.core.operations import OperationError, commit
from bando.core.ratelimit import limited
from bando.core.schemas import field_errors, many_lines
from bando.core.timeutil import utcnow
from bando.core.transitions import TransitionRefused
from bando.reports import operations
from bando.reports.schemas import EXPENSES_LIMIT, ReportIn

bp = Blueprint("reports", __name__)

BLANK_ROWS = 3
REPORTABLE = ("funded", "reported", "closed")
EXPENSE_STATE_LABELS = {
    "pending": _l("da esaminare"),
    "accepted": _l("ammessa"),
    "rejected": _l("non ammessa"),
}
# The payments' names (bando.payments comes after reports in the layout: named here too).
PAYMENT_LABELS = {
    "advance": _l("Anticipo"),
    "balance": _l("Saldo"),
    "recovery": _l("Recupero"),
}
RULE_LABELS = {
    "proportional": _l(
        "ridotto in proporzione se le spese ammesse sono inferiori al costo previsto"
    ),
    "full_if_spent": _l("intero, nei limiti delle spese ammesse"),
}


ROW = re.compile(r"expenses-([0-9]{1,4})-")


class ExpenseRowForm(Form):
    category = SelectField(_l("Categoria"), validate_choice=False)
    description = StringField(_l("Descrizione"))
    amount = StringField(_l("Importo (€)"))
    document = StringField(_l("Documento (numero e data)"))
    receipt = FileField(_l("Giustificativo (PDF)"))


class ReportForm(FlaskForm):
    activities = TextAreaField(_l("Attività svolte"))
    people_reached = StringField(_l("Persone raggiunte"))
    expenses = FieldList(FormField(ExpenseRowForm), max_entries=EXPENSES_LIMIT)
    add_row = SubmitField(_l("Aggiungi riga di spesa"))
    send = SubmitField(_l("Presenta la rendicontazione"))


class ReceiptForm(FlaskForm):
    receipt = FileField(_l("Giustificativo (PDF)"))
    upload = SubmitField(_l("Carica il PDF"))


class ReviewForm(FlaskForm):
    reason = TextAreaField(_l("Motivo (obbligatorio per non ammettere)"))


class ConfirmForm(FlaskForm):
    """The CSRF token; the rest is read from the request."""


def _refusal(error) -> str:
    if isinstance(error, TransitionRefused):
        return error.reason
    if isinstance(error, OperationError):
        return error.message
    return _("i dati sono cambiati nel frattempo: ricaricare la pagina e riprovare")


@bp.app_template_global("overdue_reports_of")
def overdue_reports_of(edition):
    """For the officer's allocation page: the reports missing past their deadline."""
    return operations.overdue_reports(utcnow(), edition.id)


# --- the organisation ------------------------------------------------------------------


def _own(application_id):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None or not rules.can_act_as_owner(signed_in_user(), application):
        abort(404)
    return application


def _set_choices(form, application):
    choices = [("", _("— scegliere —")), *budget_categories(application.edition).items()]
    for row in form.expenses:
        row.form.category.choices = choices


def _blank_form(application) -> ReportForm:
    form = ReportForm()
    if not form.expenses.entries:
        for _i in range(BLANK_ROWS):
            form.expenses.append_entry()
    _set_choices(form, application)
    return form


def report_from_form(form) -> tuple[dict, list[int], dict]:
    """The form in the API's shape (blank rows dropped), the form's index of each row
    sent, and the messages of what the schema cannot even be given."""
    errors = {}
    people = (form.people_reached.data or "").strip()
    # ASCII digits only ("²" is a digit to Python but no number), and a sane length.
    if people.isascii() and people.isdigit() and len(people) <= 9:
        people_reached = int(people)
    else:
        people_reached = 0
        errors["people_reached"] = [_("Scrivere un numero intero, 0 o più.")]
    expenses, rows = [], []
    for index, row in enumerate(form.expenses):
        values = row.form.data
        if not any(
            (values.get(k) or "").strip() for k in ("category", "description", "amount", "document")
        ):
            continue
        expenses.append(
            {
                "category": values.get("category") or "",
                "description": (values.get("description") or "").strip(),
                "amount": api_amount(values.get("amount")),
                "document": (values.get("document") or "").strip(),
            }
        )
        rows.append(index)
    data = {
        "activities": (form.activities.data or "").replace("\r\n", "\n"),
        "people_reached": people_reached,
        "expenses": expenses,
    }
    return data, rows, errors


def _receipts(form, rows) -> dict[int, tuple[str, bytes]]:
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    receipts = {}
    # The form numbers its rows 0, 1, 2… in the order sent, whatever numbers the browser
    # gave them (expenses-0, expenses-2 after a gap): the files keep the numbers sent.
    sent = sorted(
        {int(found[1]) for key in (*request.form, *request.files) if (found := ROW.match(key))}
    )
    for position, index in enumerate(rows):
        if index >= len(sent):
            continue
        upload = request.files.get(f"expenses-{sent[index]}-receipt")
        if upload is not None and upload.filename:
            receipts[position] = (upload.filename, upload.read(limit + 1))
    return receipts


def _page(application, form, *, status=200, refusal=None, loose=None):
    return render_template(
        "reports/applicant.html",
        application=application,
        form=form,
        receipt_form=ReceiptForm(),
        refusal=refusal,
        loose=loose or {},
        settlement=operations.settlement(application) if application.report else None,
        due_at=operations.report_due_at(application),
        state_labels=EXPENSE_STATE_LABELS,
        categories=budget_categories(application.edition),
        payment_labels=PAYMENT_LABELS,
    ), status


@bp.route("/domande/<int:application_id>/rendicontazione", methods=["GET", "POST"])
@roles_required("applicant")
def applicant_report(application_id):
    application = _own(application_id)
    if application.state not in REPORTABLE and application.report is None:
        abort(404)
    if request.method == "GET" or application.report is not None:
        if request.method == "POST":
            abort(409)
        return _page(application, _blank_form(application))
    form = ReportForm()
    _set_choices(form, application)
    if not form.validate_on_submit():
        abort(400)
    if form.add_row.data:
        if offer_row(form.expenses):
            _set_choices(form, application)
            flash(_("Riga aggiunta. I file scelti vanno selezionati di nuovo."), "info")
        else:
            flash(_("Al massimo %(num)s righe.", num=EXPENSES_LIMIT), "warning")
        return _page(application, form)
    data, rows, errors = report_from_form(form)
    try:
        body = ReportIn.model_validate(data)
    except ValidationError as error:
        errors = {**field_errors(error), **errors}
        body = None
    if errors:
        loose = place_errors(form, remap_rows(errors, {"expenses": rows}))
        return _page(application, form, status=422, loose=loose)
    try:
        operations.file_report(
            application,
            signed_in_user(),
            body,
            _receipts(form, rows),
            max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"],
        )
        commit()
    except OperationError as error:
        db.session.rollback()
        application = _own(application_id)
        _set_choices(form, application)
        if error.errors and error.status in (413, 422):
            loose = place_errors(form, remap_rows(error.errors, {"expenses": rows}))
            return _page(application, form, status=422, loose=loose)
        return _page(application, form, status=error.status, refusal=error.message)
    except (TransitionRefused, IntegrityError) as error:
        db.session.rollback()
        application = _own(application_id)
        _set_choices(form, application)
        return _page(application, form, status=409, refusal=_refusal(error))
    flash(_("Rendicontazione presentata: l'ufficio finanziario esaminerà le spese."), "success")
    return redirect(url_for(".applicant_report", application_id=application.id))


@bp.route(
    "/domande/<int:application_id>/rendicontazione/spese/<int:expense_id>/giustificativo",
    methods=["POST"],
)
@roles_required("applicant")
@limited("uploads")
def applicant_receipt_upload(application_id, expense_id):
    application = _own(application_id)
    expense = operations.expense_of(application, expense_id)
    if expense is None:
        abort(404)
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("receipt")
    if upload is None or not upload.filename:
        flash(_("Scegliere il file PDF del giustificativo."), "danger")
        return redirect(url_for(".applicant_report", application_id=application.id))
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    try:
        operations.store_receipt(
            application, expense, upload.filename, upload.read(limit + 1), limit
        )
        commit()
    except OperationError as error:
        db.session.rollback()
        flash(_("Giustificativo non caricato: %(reason)s.", reason=error.message), "danger")
        return redirect(url_for(".applicant_report", application_id=application.id))
    flash(_("Giustificativo caricato."), "success")
    return redirect(url_for(".applicant_report", application_id=application.id))


def _receipt_response(expense):
    if not expense.receipt_sha256:
        abort(404)
    return download(expense.receipt, "application/pdf", f"giustificativo-{expense.id}.pdf")


@bp.route("/domande/<int:application_id>/rendicontazione/spese/<int:expense_id>/giustificativo")
@roles_required("applicant")
def applicant_receipt(application_id, expense_id):
    expense = operations.expense_of(_own(application_id), expense_id)
    if expense is None:
        abort(404)
    return _receipt_response(expense)


# --- finance -------------------------------------------------------------------------------


def _for_finance(application_id):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None or application.report is None:
        abort(404)
    return application


def _review_page(application, *, status=200, refusal=None, problems=None):
    return render_template(
        "reports/review.html",
        application=application,
        report=application.report,
        settlement=operations.settlement(application),
        form=ReviewForm(),
        refusal=refusal,
        problems=problems or {},
        state_labels=EXPENSE_STATE_LABELS,
        rule_labels=RULE_LABELS,
        categories=budget_categories(application.edition),
    ), status


@bp.route("/contabilita/domande/<int:application_id>/rendicontazione")
@roles_required("finance")
def review(application_id):
    return _review_page(_for_finance(application_id))


@bp.route(
    "/contabilita/domande/<int:application_id>/rendicontazione/spese/<int:expense_id>",
    methods=["POST"],
)
@roles_required("finance")
def review_expense(application_id, expense_id):
    application = _for_finance(application_id)
    expense = operations.expense_of(application, expense_id)
    if expense is None:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    decision = request.form.get("decision")
    reason = (form.reason.data or "").replace("\r\n", "\n").strip()
    try:
        if decision not in ("accept", "reject"):
            raise OperationError(422, _("Scegliere se ammettere la spesa o no."))
        if len(reason) > 2000:
            raise OperationError(422, _("Al massimo %(count)s caratteri.", count=2000))
        try:
            reason = many_lines(reason)
        except ValueError as error:
            raise OperationError(422, str(error)) from None
        operations.review_expense(application, expense, signed_in_user(), decision, reason)
        commit()
    except OperationError as error:
        db.session.rollback()
        application = _for_finance(application_id)
        return _review_page(
            application,
            status=error.status,
            problems={expense_id: error.message},
        )
    flash(
        _("Spesa ammessa.") if decision == "accept" else _("Spesa non ammessa, con il motivo."),
        "success",
    )
    return redirect(
        url_for(".review", application_id=application.id, _anchor=f"spesa-{expense_id}")
    )


@bp.route(
    "/contabilita/domande/<int:application_id>/rendicontazione/spese/<int:expense_id>/giustificativo"
)
@roles_required("finance")
def finance_receipt(application_id, expense_id):
    expense = operations.expense_of(_for_finance(application_id), expense_id)
    if expense is None:
        abort(404)
    return _receipt_response(expense)


@bp.route(
    "/contabilita/domande/<int:application_id>/rendicontazione/approva", methods=["GET", "POST"]
)
@roles_required("finance")
def approve(application_id):
    """A confirmation with the computed final contribution and balance, then the approval."""
    application = _for_finance(application_id)
    result = operations.settlement(application)
    context = {
        "application": application,
        "settlement": result,
        "form": ConfirmForm(),
        "rule_labels": RULE_LABELS,
        "refusal": None,
    }
    blocked = None
    if application.state != "reported":
        blocked = _("la rendicontazione non è in attesa di approvazione")
    elif result.pending:
        blocked = _("restano %(count)s spese da esaminare", count=result.pending)
    elif result.balance is None:
        blocked = _("la domanda non ha un costo totale previsto")
    context["blocked"] = blocked
    if request.method == "GET":
        return render_template("reports/approve.html", **context)
    if not context["form"].validate_on_submit():
        abort(400)
    if blocked:
        return render_template("reports/approve.html", **{**context, "refusal": blocked}), 409
    try:
        operations.approve_report(application, signed_in_user())
        commit()
    except (OperationError, TransitionRefused, IntegrityError) as error:
        db.session.rollback()
        application = _for_finance(application_id)
        return render_template(
            "reports/approve.html",
            **{
                **context,
                "application": application,
                "settlement": operations.settlement(application),
                "refusal": _refusal(error),
            },
        ), 409
    flash(_("Rendicontazione approvata."), "success")
    return redirect(url_for(".review", application_id=application.id))
