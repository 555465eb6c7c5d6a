"""The applicant's pages: the dashboard, the proposal form, attachments,
submission with its receipt, answering a request for documents, withdrawing.

Server-rendered and usable without JavaScript: repeatable rows are a fixed number of blank
rows plus an "add a row" button. The views are thin: they turn the form into the API's
shape and call the same operations as the API.
"""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from bando.applications.attachments import (
    ATTACHABLE_STATES,
    attachment_kinds,
    next_missing_kind,
    store_attachment,
)
from bando.applications.facts import submission_problems
from bando.applications.operations import (
    applications_at_limit,
    applications_of,
    create_draft,
    expire_if_due,
    integrate,
    open_editions,
    submit,
    update_draft,
    withdraw,
)
from bando.applications.pages.forms import (
    BLANK_ROWS,
    ApplicationForm,
    ConfirmForm,
    CreateForm,
    UploadForm,
    amount_field,
    proposal_from_form,
    remap_rows,
)
from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.applications.rules import visible_application
from bando.calls.models import budget_categories, budget_category_label
from bando.core.auth import roles_required
from bando.core.extensions import db
from bando.core.formatting import day, moment
from bando.core.forms import place_errors
from bando.core.models import AuditEvent
from bando.core.operations import OperationError, commit
from bando.core.transitions import TransitionRefused

bp = Blueprint("applicant", __name__)


def next_step(application) -> str:
    """What the organisation should do now, with the deadline when there is one."""
    state = application.state
    if state == "draft":
        return _(
            "Completare e inviare la domanda entro il %(when)s",
            when=moment(application.edition.closes_at),
        )
    if state == "integration_requested":
        return _(
            "Integrazione richiesta: rispondere entro il %(day)s",
            day=day(application.integration_deadline),
        )
    return {
        "submitted": _("Nessuna azione: l'ufficio sta verificando l'ammissibilità"),
        "eligible": _("Nessuna azione: la commissione sta valutando la proposta"),
        "scored": _("Nessuna azione: in attesa della graduatoria"),
        "funded": _("Accettare il contributo; a progetto concluso, inviare la rendicontazione"),
        "reserve": _("Nessuna azione: la domanda sarà finanziata se si liberano risorse"),
        "reported": _("Nessuna azione: la rendicontazione è in verifica"),
    }.get(state, _("Nessuna azione"))


@bp.app_template_filter("budget_category")
def _budget_category_filter(code):
    return budget_category_label(code)


# --- forms -----------------------------------------------------------------------------------


# --- registration ----------------------------------------------------------------------------


# --- dashboard -------------------------------------------------------------------------------


def _events(application):
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.application_id == application.id)
            .order_by(AuditEvent.id)
        )
    )


@bp.route("/domande")
@roles_required("applicant")
def dashboard():
    applications = applications_of(current_user.organisation_id)
    if any([expire_if_due(a) for a in applications]):  # every one, not just the first
        commit()
    editions = open_editions()
    # Calls where the organisation already has all the applications it may send: no
    # "start" button there, a link to what it has instead.
    full = {e.id: applications_at_limit(e, current_user.organisation_id) for e in editions}
    full = {edition_id: existing for edition_id, existing in full.items() if existing}
    return render_template(
        "applicant/dashboard.html",
        applications=applications,
        events={a.id: _events(a) for a in applications},
        next_step=next_step,
        full_editions=[(e, full[e.id]) for e in editions if e.id in full],
        create_form=_create_form([e for e in editions if e.id not in full]),
        any_open=bool(editions),
    )


def _create_form(editions=None):
    form = CreateForm()
    editions = open_editions() if editions is None else editions
    form.edition.choices = [(e.code, e.title) for e in editions]
    return form


@bp.route("/domande/nuova", methods=["POST"])
@roles_required("applicant")
def new_application():
    form = _create_form()
    if not form.validate_on_submit():
        abort(400)
    try:
        application = create_draft(current_user, {"edition": form.edition.data or ""})
    except OperationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("applicant.dashboard"))
    commit()
    flash(_("Bozza creata: si può salvare e riprendere in qualsiasi momento."), "success")
    return redirect(url_for("applicant.edit", application_id=application.id))


def _own_or_404(application_id):
    application = visible_application(current_user, application_id)
    if application is None:
        abort(404)
    if expire_if_due(application):
        commit()
    return application


# --- the proposal form -----------------------------------------------------------------------


def _form_for(application, formdata=None):
    """The form with the saved data, or the posted data, and the rows it offers."""
    edition = application.edition
    if formdata is None:
        data = {
            "neighbourhood": application.neighbourhood.slug if application.neighbourhood else "",
            "guidelines": [g.code for g in application.guidelines],
            "title": application.title,
            "summary": application.summary,
            "description": application.description,
            "objectives": application.objectives,
            "places": application.places,
            "timeline": application.timeline,
            "start_date": application.start_date.isoformat() if application.start_date else "",
            "end_date": application.end_date.isoformat() if application.end_date else "",
            "requested_amount": amount_field(application.requested_cents),
            "cofinancing_amount": amount_field(application.cofinancing_cents),
            "budget": [
                {
                    "category": line.category,
                    "description": line.description,
                    "amount": amount_field(line.amount_cents),
                }
                for line in application.budget_lines
            ],
            "partners": [
                {"name": p.name, "tax_code": p.tax_code or "", "role": p.role}
                for p in application.partners
            ],
        }
        form = ApplicationForm(formdata=None, data=data)
        for _row in range(BLANK_ROWS):
            form.budget.append_entry()
            form.partners.append_entry()
    else:
        form = ApplicationForm(formdata=formdata)
        for rows in (form.budget, form.partners):
            # Always one blank row to type into, whatever the browser sent back.
            if not rows.entries or any(rows.entries[-1].data.values()):
                rows.append_entry()
    form.neighbourhood.choices = [("", _("— scegliere —"))] + [
        (h.slug, h.name) for h in edition.neighbourhoods
    ]
    chosen = form.neighbourhood.data or None
    form.guidelines.choices = [
        (g.code, f"{g.code} — {g.text}")
        for g in edition.guidelines
        if chosen is None
        or g.neighbourhood_id is None
        or (g.neighbourhood is not None and g.neighbourhood.slug == chosen)
    ]
    _set_category_choices(form, application)
    return form


@bp.route("/domande/<int:application_id>", methods=["GET", "POST"])
@roles_required("applicant")
def edit(application_id):
    application = _own_or_404(application_id)
    if application.state != "draft":
        return render_template(
            "applicant/view.html",
            application=application,
            events=_events(application),
            next_step=next_step,
            kinds=attachment_kinds(application.edition),
            upload_form=_upload_form(application),
            attachable=application.state in ATTACHABLE_STATES,
        )
    if request.method == "POST":
        form = _form_for(application, request.form)
        loose, refused = {}, False
        if form.validate_on_submit():
            if form.add_budget_row.data:
                form.budget.append_entry()
                _set_category_choices(form, application)
                flash(_("Riga aggiunta. Ricordarsi di salvare la bozza."), "info")
            elif form.add_partner_row.data:
                form.partners.append_entry()
                flash(_("Riga aggiunta. Ricordarsi di salvare la bozza."), "info")
            else:
                data, rows = proposal_from_form(form)
                try:
                    update_draft(application, current_user, data)
                except OperationError as error:
                    db.session.rollback()
                    refused = True
                    loose = place_errors(form, remap_rows(error.errors, rows))
                    if not error.errors:
                        loose = {"": [error.message]}
                    flash(_("Bozza NON salvata: correggere i campi indicati."), "danger")
                else:
                    commit()
                    flash(_("Bozza salvata."), "success")
                    return redirect(url_for("applicant.edit", application_id=application.id))
        status = 422 if refused or form.errors else 200
        return _edit_page(application, form, loose), status
    return _edit_page(application, _form_for(application))


def _set_category_choices(form, application):
    categories = [("", _("— categoria —"))] + list(budget_categories(application.edition).items())
    for row in form.budget:
        row.form.category.choices = categories


def _edit_page(application, form, loose=None):
    return render_template(
        "applicant/edit.html",
        application=application,
        form=form,
        problems_by_section=loose or {},
        kinds=attachment_kinds(application.edition),
        upload_form=_upload_form(application),
        problems=submission_problems(application),
    )


# --- attachments -----------------------------------------------------------------------------


def _upload_form(application):
    # Offers the next document still missing; a posted choice, when there is one, wins.
    form = UploadForm(kind=next_missing_kind(application))
    form.kind.choices = list(attachment_kinds(application.edition).items())
    return form


@bp.route("/domande/<int:application_id>/allegati", methods=["POST"])
@roles_required("applicant")
def upload(application_id):
    application = _own_or_404(application_id)
    form = _upload_form(application)
    back = url_for(
        "applicant.integration"
        if application.state == "integration_requested"
        else "applicant.edit",
        application_id=application.id,
    )
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Scegliere un file PDF da caricare."), "danger")
        return redirect(back)
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    data = upload.read(limit + 1)
    try:
        store_attachment(application, form.kind.data, upload.filename, data, current_user, limit)
    except OperationError as error:
        db.session.rollback()
        flash(_("Documento non caricato: %(why)s", why=error.message), "danger")
        return redirect(back)
    commit()
    flash(_("Documento caricato."), "success")
    return redirect(back)


@bp.route("/domande/<int:application_id>/allegati/<kind>")
@roles_required("applicant")
def attachment(application_id, kind):
    application = _own_or_404(application_id)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        abort(404)
    return Response(
        row.data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{row.kind}.pdf"'},
    )


# --- submit, receipt -------------------------------------------------------------------------


@bp.route("/domande/<int:application_id>/invia", methods=["GET", "POST"])
@roles_required("applicant")
def send(application_id):
    application = _own_or_404(application_id)
    if application.state != "draft":
        return redirect(url_for("applicant.edit", application_id=application.id))
    form = ConfirmForm()
    refusal = None
    if form.validate_on_submit():
        try:
            submit(application, current_user)
        except TransitionRefused as error:
            db.session.rollback()
            refusal = error.reason
        else:
            commit()
            # No flash: the receipt page says it, with the protocol, in its own green box.
            return redirect(url_for("applicant.receipt", application_id=application.id))
    problems = submission_problems(application)
    return (
        render_template(
            "applicant/submit.html",
            application=application,
            problems=problems,
            refusal=refusal,
            form=form,
        ),
        409 if refusal else 200,
    )


@bp.route("/domande/<int:application_id>/ricevuta")
@roles_required("applicant")
def receipt(application_id):
    application = _own_or_404(application_id)
    if application.protocol is None:
        abort(404)
    return render_template(
        "applicant/receipt.html",
        application=application,
        kinds=attachment_kinds(application.edition),
    )


@bp.route("/domande/<int:application_id>/ricevuta.pdf")
@roles_required("applicant")
def receipt_download(application_id):
    application = _own_or_404(application_id)
    if application.protocol is None:
        abort(404)
    return Response(
        receipt_pdf(application),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{receipt_filename(application)}"'},
    )


# --- integrate, withdraw ---------------------------------------------------------------------


@bp.route("/domande/<int:application_id>/integrazione", methods=["GET", "POST"])
@roles_required("applicant")
def integration(application_id):
    application = _own_or_404(application_id)
    if application.state != "integration_requested":
        flash(_("Per questa domanda non è richiesta alcuna integrazione."), "info")
        return redirect(url_for("applicant.edit", application_id=application.id))
    form = ConfirmForm()
    refusal = None
    if form.validate_on_submit():
        try:
            integrate(application, current_user, (form.reason.data or "").strip()[:2000])
        except TransitionRefused as error:
            db.session.rollback()
            refusal = error.reason
        else:
            commit()
            flash(_("Integrazione inviata all'ufficio."), "success")
            return redirect(url_for("applicant.dashboard"))
    return (
        render_template(
            "applicant/integration.html",
            application=application,
            form=form,
            refusal=refusal,
            kinds=attachment_kinds(application.edition),
            upload_form=_upload_form(application),
            next_step=next_step,
        ),
        409 if refusal else 200,
    )


@bp.route("/domande/<int:application_id>/ritira", methods=["GET", "POST"])
@roles_required("applicant")
def withdrawal(application_id):
    application = _own_or_404(application_id)
    form = ConfirmForm()
    refusal = None
    if form.validate_on_submit():
        try:
            withdraw(application, current_user, (form.reason.data or "").strip()[:2000])
        except TransitionRefused as error:
            db.session.rollback()
            refusal = error.reason
        else:
            commit()
            flash(_("La domanda è stata ritirata."), "success")
            return redirect(url_for("applicant.dashboard"))
    return (
        render_template(
            "applicant/withdraw.html", application=application, form=form, refusal=refusal
        ),
        409 if refusal else 200,
    )
