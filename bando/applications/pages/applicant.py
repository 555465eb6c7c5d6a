"""The applicant's pages: registration, the dashboard, the proposal form, attachments,
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import EqualTo, Optional

from bando.accounts.operations import register_organisation
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
from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.applications.rules import visible_application
from bando.calls.models import budget_categories, budget_category_label
from bando.core.auth import roles_required
from bando.core.extensions import db
from bando.core.formatting import day, moment
from bando.core.models import AuditEvent
from bando.core.operations import OperationError, commit
from bando.core.transitions import TransitionRefused
from scoring.money import AmountError, amount_text, cents_to_str, parse_cents
from workflows.organisation import FIELDS as ORGANISATION_FIELDS
from workflows.organisation import FOR_PROFIT_FORMS, NON_PROFIT_FORMS

bp = Blueprint("applicant", __name__)

BLANK_ROWS = 3  # blank budget and partner rows offered under the filled ones
MAX_ROWS = 50


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


def _legal_form_choices():
    return {
        str(_l("Enti senza scopo di lucro")): list(NON_PROFIT_FORMS.items()),
        str(_l("Imprese con scopo di lucro (non ammesse)")): [
            (code, label[0].upper() + label[1:]) for code, label in FOR_PROFIT_FORMS.items()
        ],
    }


class RegistrationForm(FlaskForm):
    name = StringField(_l("Denominazione dell'ente"))
    tax_code = StringField(_l("Codice fiscale dell'ente"))
    vat_number = StringField(_l("Partita IVA (se l'ente ne ha una)"))
    legal_form = SelectField(_l("Forma giuridica"), validate_choice=False)
    pec = EmailField(_l("Indirizzo PEC"))
    address = StringField(_l("Sede legale (indirizzo completo)"))
    legal_representative = StringField(_l("Legale rappresentante (nome e cognome)"))
    runts_number = StringField(_l("Numero di iscrizione al RUNTS (se iscritto)"))
    withholding_exempt = BooleanField(
        _l("L'ente NON è soggetto alla ritenuta d'acconto del 4 % (art. 28 DPR 600/1973)")
    )
    withholding_reason = StringField(_l("Motivo dell'esenzione (norma di riferimento)"))
    full_name = StringField(_l("Nome e cognome di chi compila"))
    email = EmailField(_l("Email per accedere"))
    password = PasswordField(_l("Password (almeno 10 caratteri)"))
    password_confirm = PasswordField(
        _l("Ripeti la password"),
        validators=[EqualTo("password", _l("Le due password non coincidono"))],
    )
    register = SubmitField(_l("Registra l'ente"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legal_form.choices = {"": [("", _("— scegliere —"))], **_legal_form_choices()}


class BudgetRowForm(Form):
    category = SelectField(_l("Categoria"), validate_choice=False)
    description = StringField(_l("Descrizione"))
    amount = StringField(_l("Importo (€)"))


class PartnerRowForm(Form):
    name = StringField(_l("Nome del partner"))
    tax_code = StringField(_l("Codice fiscale"))
    role = StringField(_l("Ruolo nel progetto"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApplicationForm(FlaskForm):
    neighbourhood = SelectField(_l("Quartiere"), validate_choice=False)
    guidelines = MultiCheckboxField(_l("Linee di indirizzo affrontate"), validate_choice=False)
    title = StringField(_l("Titolo del progetto"))
    summary = TextAreaField(_l("Sintesi (poche righe)"))
    description = TextAreaField(_l("Descrizione del progetto"))
    objectives = TextAreaField(_l("Obiettivi"))
    places = TextAreaField(_l("Luoghi di svolgimento"))
    timeline = TextAreaField(_l("Tempi e fasi"))
    start_date = StringField(_l("Data di inizio"), render_kw={"type": "date"})
    end_date = StringField(_l("Data di fine"), render_kw={"type": "date"})
    budget = FieldList(FormField(BudgetRowForm), max_entries=MAX_ROWS)
    requested_amount = StringField(_l("Contributo richiesto al Comune (€)"))
    cofinancing_amount = StringField(
        _l("Cofinanziamento dell'ente (€) — se vuoto: costo totale meno contributo")
    )
    partners = FieldList(FormField(PartnerRowForm), max_entries=MAX_ROWS)
    save = SubmitField(_l("Salva bozza"))
    add_budget_row = SubmitField(_l("Aggiungi riga di spesa"))
    add_partner_row = SubmitField(_l("Aggiungi partner"))


class CreateForm(FlaskForm):
    edition = SelectField(_l("Bando"), validate_choice=False)
    create = SubmitField(_l("Inizia la domanda"))


class UploadForm(FlaskForm):
    kind = SelectField(_l("Documento"), validate_choice=False)
    upload = SubmitField(_l("Carica il PDF"))


class ConfirmForm(FlaskForm):
    reason = TextAreaField(_l("Note (facoltative)"), validators=[Optional()])
    confirm = SubmitField(_l("Conferma"))


# --- registration ----------------------------------------------------------------------------


@bp.route("/registrazione", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("applicant.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        organisation = {name: getattr(form, name).data for name in ORGANISATION_FIELDS}
        organisation["withholding_exempt"] = bool(organisation["withholding_exempt"])
        account = {
            "email": form.email.data or "",
            "password": form.password.data or "",
            "full_name": form.full_name.data or "",
            "organisation": organisation,
        }
        try:
            user = register_organisation(account)
        except OperationError as error:
            db.session.rollback()
            _form_errors(form, error.errors)
            flash(
                _("La registrazione non è andata a buon fine: correggere i campi indicati."),
                "danger",
            )
        else:
            commit()
            login_user(user)
            flash(_("Ente registrato. Ora è possibile compilare la domanda."), "success")
            return redirect(url_for("applicant.dashboard"))
    return render_template("auth/register.html", form=form)


def _form_errors(form, errors: dict) -> dict[str, list[str]]:
    """Puts each message next to its field; returns, by section, those that belong to a
    whole section (e.g. "budget": the lines do not add up) or to no field of the form."""
    loose: dict[str, list[str]] = {}
    for key, messages in errors.items():
        parts = key.removeprefix("organisation.").split(".")
        field = form
        try:
            for part in parts:
                field = field[int(part)] if part.isdigit() else field[part]
        except (KeyError, IndexError, TypeError):
            field = None
        if field is None or isinstance(field, FieldList | FormField) or field is form:
            loose.setdefault(parts[0], []).extend(messages)
            continue
        field.errors = [*field.errors, *messages]
    return loose


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
            "requested_amount": _amount_text(application.requested_cents),
            "cofinancing_amount": _amount_text(application.cofinancing_cents),
            "budget": [
                {
                    "category": line.category,
                    "description": line.description,
                    "amount": _amount_text(line.amount_cents),
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


def _amount_text(cents: int) -> str:
    """An amount as typed back into the form, the Italian way ("6.000,00"), whatever the
    page's language: parse_cents reads it back; the API keeps "6000.00"."""
    return amount_text(cents) if cents else ""


def _proposal_from_form(form):
    """The form in the API's shape; blank rows dropped; rows remembered for the messages."""
    data = {
        name: getattr(form, name).data or ""
        for name in ("title", "summary", "description", "objectives", "places", "timeline")
    }
    data["neighbourhood"] = form.neighbourhood.data or None
    data["guidelines"] = list(form.guidelines.data or [])
    data["start_date"] = form.start_date.data or None
    data["end_date"] = form.end_date.data or None
    budget, budget_rows = [], []
    for index, row in enumerate(form.budget):
        values = row.form.data
        if not any((values.get(k) or "").strip() for k in ("category", "description", "amount")):
            continue
        budget.append(
            {
                "category": values.get("category") or "",
                "description": values.get("description") or "",
                "amount": _api_amount(values.get("amount")),
            }
        )
        budget_rows.append(index)
    partners, partner_rows = [], []
    for index, row in enumerate(form.partners):
        values = row.form.data
        if not any((values.get(k) or "").strip() for k in ("name", "tax_code", "role")):
            continue
        partners.append({k: values.get(k) or "" for k in ("name", "tax_code", "role")})
        partner_rows.append(index)
    data["budget"], data["partners"] = budget, partners
    data["requested_amount"] = _api_amount(form.requested_amount.data)
    cofinancing = (form.cofinancing_amount.data or "").strip()
    if cofinancing:
        data["cofinancing_amount"] = _api_amount(cofinancing)
    else:
        data["cofinancing_amount"] = _computed_cofinancing(budget, data["requested_amount"])
    return data, {"budget": budget_rows, "partners": partner_rows}


def _computed_cofinancing(budget, requested):
    """Left blank, the co-financing is what the requested contribution does not cover."""
    try:
        total = sum(parse_cents(line["amount"]) for line in budget)
        rest = total - parse_cents(requested or "0")
    except AmountError:
        return "0.00"
    return cents_to_str(max(rest, 0))


def _api_amount(text) -> str:
    """An amount typed the Italian way ("6.000,00", "6.000") in the API's form ("6000.00");
    what cannot be read goes on as typed, for the schema to refuse next to its field."""
    text = (text or "").strip()
    if not text:
        return "0.00"
    try:
        return cents_to_str(parse_cents(text))
    except (AmountError, ArithmeticError):
        return text


def _remap_rows(errors: dict, rows: dict) -> dict:
    """Errors name rows by their place among the filled ones; the form counts blank ones."""
    remapped = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] in rows and parts[1].isdigit():
            index = int(parts[1])
            if index < len(rows[parts[0]]):
                parts[1] = str(rows[parts[0]][index])
        remapped[".".join(parts)] = messages
    return remapped


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
                data, rows = _proposal_from_form(form)
                try:
                    update_draft(application, current_user, data)
                except OperationError as error:
                    db.session.rollback()
                    refused = True
                    loose = _form_errors(form, _remap_rows(error.errors, rows))
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
