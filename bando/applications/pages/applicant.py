"""The applicant's pages: the dashboard, the proposal form, attachments,
submission with its receipt, answering a request for documents, withdrawing.

Server-rendered and usable without JavaScript: repeatable rows are a fixed number of blank
rows plus an "add a row" button. The views are thin: they turn the form into the API's
shape and call the same operations as the API.
"""

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SubmitField, TextAreaField

from bando.applications.attachments import (
    ATTACHABLE_STATES,
    attachment_kinds,
    next_missing_kind,
    store_attachment,
)
from bando.applications.facts import (
    complete_proposal_problems,
    submission_problems,
    written,
)
from bando.applications.lifecycle import check, fire
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
    MAX_ROWS,
    ApplicationForm,
    ConfirmForm,
    CreateForm,
    SendForm,
    UploadForm,
    amount_field,
    proposal_from_form,
    remap_rows,
)
from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.applications.rules import events_shown_to, visible_application
from bando.applications.schemas import TEXT_LIMITS
from bando.calls.models import budget_categories, budget_category_label
from bando.core.auth import roles_required
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.formatting import dated
from bando.core.forms import offer_row, place_errors
from bando.core.models import AuditEvent
from bando.core.operations import OperationError, commit
from bando.core.ratelimit import limited
from bando.core.schemas import many_lines
from bando.core.transitions import TransitionRefused

bp = Blueprint("applicant", __name__)


def next_step(application) -> str:
    """What the organisation should do now, with the deadline when there is one."""
    state = application.state
    if state == "draft":
        return _(
            "Completare e inviare la domanda %(deadline)s",
            deadline=dated(application.edition.closes_at, "entro", time=True),
        )
    if state == "integration_requested":
        return _(
            "Integrazione richiesta: rispondere %(deadline)s",
            deadline=dated(application.integration_deadline, "entro"),
        )
    if state == "rejection_notified":
        if application.notice_answered_at is not None:
            return _(
                "Osservazioni ricevute %(when)s: l'ufficio le esamina e deciderà "
                "sull'ammissibilità",
                when=dated(application.notice_answered_at, "il", time=True),
            )
        if can_answer_notice(application):
            return _(
                "Preavviso di rigetto: inviare le eventuali osservazioni %(deadline)s",
                deadline=dated(application.notice_deadline, "entro", time=True),
            )
        return _("Il termine per le osservazioni è scaduto: l'ufficio deciderà sull'ammissibilità")
    if state == "funded" and application.award is not None:
        if application.award.accepted_at is not None:
            return _("Contributo accettato: a progetto concluso, inviare la rendicontazione")
        return _(
            "Accettare il contributo %(deadline)s; a progetto concluso, inviare la rendicontazione",
            deadline=dated(application.award.accept_by, "entro", time=True),
        )
    return {
        "submitted": _("Nessuna azione: l'ufficio sta verificando l'ammissibilità"),
        "eligible": _("Nessuna azione: la commissione sta valutando la proposta"),
        "scored": _("Nessuna azione: in attesa della graduatoria"),
        "funded": _("Accettare il contributo; a progetto concluso, inviare la rendicontazione"),
        "reserve": _("Nessuna azione: la domanda sarà finanziata se si liberano risorse"),
        "reported": _("Nessuna azione: la rendicontazione è in verifica"),
    }.get(state, _("Nessuna azione"))


@bp.app_template_global("can_answer_notice")
def can_answer_notice(application) -> bool:
    """The organisation may still answer the notice before rejection: the machine would
    take its observations now (not answered yet, the deadline not passed)."""
    return application.state == "rejection_notified" and not check(
        application, "answer_notice", current_user._get_current_object(), "osservazioni"
    )


@bp.app_template_filter("budget_category")
def _budget_category_filter(code):
    return budget_category_label(code)


# --- forms -----------------------------------------------------------------------------------


# --- registration ----------------------------------------------------------------------------


# --- dashboard -------------------------------------------------------------------------------


def _events(application):
    return events_shown_to(
        current_user,
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.application_id == application.id)
            .order_by(AuditEvent.id)
        ),
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


@dataclass(frozen=True)
class Section:
    """A part of the proposal form, as the progress list shows it."""

    key: str
    number: int
    title: str
    complete: bool
    optional: bool = False

    @property
    def anchor(self) -> str:
        return f"sezione-{self.key}"


SECTION_TITLES = {
    "quartiere": _l("Quartiere e linee di indirizzo"),
    "progetto": _l("Il progetto"),
    "tempi": _l("Tempi"),
    "partner": _l("La rete locale (partner)"),
    "piano": _l("Piano economico"),
    "documenti": _l("Documenti"),
}

# Where a message of the operation that names a section, not a field, is shown and linked.
SECTION_OF = {
    "neighbourhood": "quartiere",
    "guidelines": "quartiere",
    "title": "progetto",
    "summary": "progetto",
    "description": "progetto",
    "objectives": "progetto",
    "places": "progetto",
    "timeline": "tempi",
    "start_date": "tempi",
    "end_date": "tempi",
    "partners": "partner",
    "budget": "piano",
    "requested_amount": "piano",
    "cofinancing_amount": "piano",
    "kind": "documenti",
    "file": "documenti",
}


def section_progress(application) -> list[Section]:
    """Which sections of the saved draft hold everything the call asks for (the same rules
    as the submission's); the partners are optional, complete once one is named."""
    rules = complete_proposal_problems(application, written(application, with_call=True))
    broken = {SECTION_OF.get(key.split(".")[0], "piano") for key in rules}
    present = {a.kind for a in application.attachments}
    complete = {
        "quartiere": "quartiere" not in broken,
        "progetto": bool(application.title.strip() and application.summary.strip()),
        "tempi": "tempi" not in broken,
        "partner": bool(application.partners),
        "piano": "piano" not in broken,
        "documenti": all(k in present for k in application.edition.required_attachments),
    }
    return [
        Section(key, number, str(SECTION_TITLES[key]), complete[key], optional=key == "partner")
        for number, key in enumerate(SECTION_TITLES, start=1)
    ]


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
            "kind": next_missing_kind(application),
        }
        form = ApplicationForm(formdata=None, data=data)
        for _row in range(BLANK_ROWS):
            offer_row(form.budget)
            offer_row(form.partners)
    else:
        form = ApplicationForm(formdata=formdata)
        for rows in (form.budget, form.partners):
            # Always one blank row to type into, whatever the browser sent back.
            if not rows.entries or any(rows.entries[-1].data.values()):
                offer_row(rows)
    form.neighbourhood.choices = [("", _("— scegliere —"))] + [
        (h.slug, h.name) for h in edition.neighbourhoods
    ]
    form.guidelines.choices = [(g.code, f"{g.code} — {g.text}") for g in edition.guidelines]
    form.kind.choices = list(attachment_kinds(edition).items())
    _set_category_choices(form, application)
    return form


def _keep_guidelines_of_the_new_neighbourhood(form, application):
    """Without JavaScript the boxes of the neighbourhood saved before are still on the page
    when another one is chosen: its ticks no longer apply and are dropped, not refused."""
    chosen = form.neighbourhood.data or None
    before = application.neighbourhood.slug if application.neighbourhood else None
    if chosen == before or chosen is None:
        return
    hood = next((h for h in application.edition.neighbourhoods if h.slug == chosen), None)
    if hood is None:
        return
    allowed = {g.code for g in hood.guidelines} | {
        g.code for g in application.edition.general_guidelines
    }
    kept = [code for code in form.guidelines.data or [] if code in allowed]
    if before is not None and kept != list(form.guidelines.data or []):
        flash(
            _(
                "Quartiere cambiato: scegliere ora le linee di indirizzo di %(name)s.",
                name=hood.name,
            ),
            "info",
        )
    form.guidelines.data = kept


def _chosen_file():
    upload = request.files.get("file")
    chosen = upload if upload is not None and upload.filename else None
    g.bando_file_sent = chosen is not None
    return chosen


def _file_sent(_response) -> bool:
    """Only the requests that bring a file count against the uploads' limit."""
    return g.get("bando_file_sent", False)


def _store(application, kind, upload, form) -> bool:
    """Stores the chosen PDF (flushes); a refusal goes next to the file input."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    data = upload.read(limit + 1)
    try:
        store_attachment(application, kind, upload.filename, data, current_user, limit)
    except OperationError as error:
        # Refused before anything was written: what else the request saved stays.
        form.file_errors.append(_("Documento non caricato: %(why)s", why=error.message))
        return False
    return True


@bp.route("/domande/<int:application_id>", methods=["GET", "POST"])
@roles_required("applicant")
@limited("uploads", methods=["POST"], deduct_when=_file_sent)
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
    if request.method == "GET":
        return _edit_page(application, _form_for(application))
    form = _form_for(application, request.form)
    if not form.validate_on_submit():  # only the CSRF token can fail here
        return _edit_page(application, form), 400
    upload = _chosen_file()
    if form.add_budget_row.data or form.add_partner_row.data:
        rows = form.budget if form.add_budget_row.data else form.partners
        if offer_row(rows):
            _set_category_choices(form, application)
            flash(_("Riga aggiunta. Ricordarsi di salvare la bozza."), "info")
        else:
            flash(_("Al massimo %(num)s righe.", num=MAX_ROWS), "warning")
        if upload is not None and _store(application, form.kind.data, upload, form):
            commit()
            flash(_("Documento caricato."), "success")
            form.kind.data = next_missing_kind(application)
        return _edit_page(application, form), 422 if form.file_errors else 200

    # "Salva bozza" and "Carica il PDF": the typed fields are saved first, through the same
    # operation as the API; the PDF is stored whether or not they could be.
    _keep_guidelines_of_the_new_neighbourhood(form, application)
    data, rows = proposal_from_form(form)
    loose = {}
    try:
        update_draft(application, current_user, data)
    except OperationError as error:
        db.session.rollback()
        saved = False
        loose = place_errors(form, remap_rows(error.errors, rows))
        if not error.errors:
            loose = {"": [error.message]}
    else:
        saved = True
    stored = None
    if upload is not None:
        stored = _store(application, form.kind.data, upload, form)
    elif form.upload.data:
        form.file_errors.append(_("Scegliere un file PDF da caricare."))
    commit()
    if saved:
        flash(_("Bozza salvata."), "success")
    else:
        flash(_("Bozza NON salvata: correggere i campi indicati."), "danger")
    if stored:
        flash(_("Documento caricato."), "success")
        form.kind.data = next_missing_kind(application)
    if saved and not form.file_errors:
        anchor = "sezione-documenti" if upload is not None or form.upload.data else None
        return redirect(url_for("applicant.edit", application_id=application.id, _anchor=anchor))
    return _edit_page(application, form, loose), 422


def _set_category_choices(form, application):
    categories = [("", _("— categoria —"))] + list(budget_categories(application.edition).items())
    for row in form.budget:
        row.form.category.choices = categories


def _row_label(form, name):
    """ "partners-1-name" → "Partner, riga 2: Nome del partner"."""
    group, index, field = name.split("-", 2)
    title = _("Partner") if group == "partners" else _("Piano economico")
    label = getattr(form, group)[int(index)].form[field].label.text
    return _("%(section)s, riga %(row)s: %(field)s", section=title, row=int(index) + 1, field=label)


def error_summary(form, loose) -> list[tuple[str, str]]:
    """Every message of the page once, in the order of the page, with the id it links to:
    its field, or its section when it belongs to a whole section."""
    items = []
    for field in form:
        if field.type in ("FieldList",):
            for row in field:
                for sub in row.form:
                    items += [(sub.id, f"{_row_label(form, sub.id)} — {m}") for m in sub.errors]
            continue
        if field.type in ("CSRFTokenField", "SubmitField") or not field.errors:
            continue
        items += [(field.id, f"{field.label.text}: {m}") for m in field.errors]
    items += [("file", m) for m in form.file_errors]
    for key, messages in (loose or {}).items():
        section = SECTION_OF.get(key)
        target = f"sezione-{section}" if section else "proposta"
        title = SECTION_TITLES.get(section)
        items += [(target, f"{title}: {m}" if title else m) for m in messages]
    return items


def _edit_page(application, form, loose=None):
    sections = section_progress(application)
    return render_template(
        "applicant/edit.html",
        application=application,
        form=form,
        problems_by_section={SECTION_OF.get(k, k): v for k, v in (loose or {}).items()},
        errors=error_summary(form, loose),
        sections=sections,
        complete_count=sum(s.complete for s in sections),
        kinds=attachment_kinds(application.edition),
        problems=submission_problems(application),
        text_limits=TEXT_LIMITS,
        chosen=form.neighbourhood.data or None,
        ticked=set(form.guidelines.data or []),
    )


# --- attachments -----------------------------------------------------------------------------


def _upload_form(application):
    # Offers the next document still missing; a posted choice, when there is one, wins.
    form = UploadForm(kind=next_missing_kind(application))
    form.kind.choices = list(attachment_kinds(application.edition).items())
    return form


@bp.route("/domande/<int:application_id>/allegati", methods=["POST"])
@roles_required("applicant")
@limited("uploads")
def upload(application_id):
    """A document on its own: the page of a request for documents (and any client that
    posts only the file). The proposal's page sends its documents with its own form."""
    application = _own_or_404(application_id)
    form = _upload_form(application)
    back = url_for(
        {
            "integration_requested": "applicant.integration",
            "rejection_notified": "applicant.notice",
        }.get(application.state, "applicant.edit"),
        application_id=application.id,
    )
    if not form.validate_on_submit():
        abort(400)
    upload = _chosen_file()
    if upload is None:
        flash(_("Scegliere un file PDF da caricare."), "danger")
        return redirect(back)
    if not _store(application, form.kind.data, upload, form):
        db.session.rollback()
        flash(form.file_errors[0], "danger")
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
    return download(row.data, "application/pdf", f"{row.kind}.pdf")


# --- review and submit, receipt --------------------------------------------------------------

# The text the applicant accepts on the review page (templates/applicant/_declarations.html
# and public/_privacy_notice.html); its version goes into the submission's audit event.
DECLARATIONS_VERSION = "1"


def _declarations_record(application, form) -> dict:
    org = application.organisation
    return {
        "version": DECLARATIONS_VERSION,
        "dpr_445_2000": bool(form.declarations.data),
        "privacy_notice": bool(form.privacy.data),
        "legal_representative": org.legal_representative,
        "accepted_by": current_user.email,
    }


@bp.route("/domande/<int:application_id>/invia", methods=["GET", "POST"])
@roles_required("applicant")
def send(application_id):
    """The review page: what will be sent, the declarations and the privacy notice to
    accept, then the irreversible send."""
    application = _own_or_404(application_id)
    if application.state != "draft":
        return redirect(url_for("applicant.edit", application_id=application.id))
    form = SendForm()
    refusal = None
    status = 200
    if form.validate_on_submit():
        if not form.declarations.data:
            form.declarations.errors.append(
                _("Per inviare la domanda occorre confermare le dichiarazioni.")
            )
        if not form.privacy.data:
            form.privacy.errors.append(
                _("Per inviare la domanda occorre confermare di aver letto l'informativa.")
            )
        if form.declarations.errors or form.privacy.errors:
            status = 422
        else:
            try:
                submit(
                    application,
                    current_user,
                    declarations=_declarations_record(application, form),
                )
            except TransitionRefused as error:
                db.session.rollback()
                refusal = error.reason
                status = 409
            else:
                commit()
                # No flash: the receipt page says it, with the protocol, in its own green box.
                return redirect(url_for("applicant.receipt", application_id=application.id))
    errors = [(f.id, m) for f in (form.declarations, form.privacy) for m in f.errors]
    # The machine's own reasons, asked once: what the proposal still lacks, and what else
    # it would refuse (an address not confirmed, the deadline passed), said before the
    # declarations are ticked, not after.
    refusals = check(application, "submit", current_user)
    return (
        render_template(
            "applicant/submit.html",
            application=application,
            blockers=[] if refusal else [r.reason for r in refusals if r.code != "incomplete"],
            problems=[p for r in refusals if r.code == "incomplete" for p in r.details],
            refusal=refusal,
            form=form,
            errors=errors,
            kinds=attachment_kinds(application.edition),
            office=application.edition.office or current_app.config["SITE_OFFICE"],
        ),
        status,
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
    return download(receipt_pdf(application), "application/pdf", receipt_filename(application))


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
            integrate(application, current_user, (form.reason.data or "").strip())
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
        409 if refusal else 422 if form.errors else 200,
    )


# --- the notice before rejection ----------------------------------------------------------

OBSERVATIONS_LIMIT = 20000  # as the API takes them (schemas.Observations)


def _control_problem(text: str) -> str | None:
    """What the API would refuse in this text (control characters), or None."""
    try:
        many_lines(text)
    except ValueError as error:
        return str(error)
    return None


class NoticeForm(FlaskForm):
    observations = TextAreaField(_l("Osservazioni"))
    send = SubmitField(_l("Invia le osservazioni"))


@bp.route("/domande/<int:application_id>/osservazioni", methods=["GET", "POST"])
@roles_required("applicant")
def notice(application_id):
    """The answer to the notice before rejection (art. 10-bis L. 241/1990): the reasons,
    the deadline, documents to add, the observations sent through the lifecycle."""
    application = _own_or_404(application_id)
    if application.state != "rejection_notified":
        flash(_("Per questa domanda non c'è un preavviso di rigetto a cui rispondere."), "info")
        return redirect(url_for("applicant.edit", application_id=application.id))
    form = NoticeForm()
    refusal = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        observations = (form.observations.data or "").replace("\r\n", "\n").strip()
        if not observations:
            form.observations.errors.append(_("Scrivere le osservazioni da inviare all'ufficio."))
        elif len(observations) > OBSERVATIONS_LIMIT:
            form.observations.errors.append(
                _("Al massimo %(count)s caratteri.", count=OBSERVATIONS_LIMIT)
            )
        elif problem := _control_problem(observations):
            form.observations.errors.append(problem)
        else:
            try:
                fire(
                    application,
                    "answer_notice",
                    current_user._get_current_object(),
                    observations,
                )
                commit()
            except (TransitionRefused, OperationError) as error:
                db.session.rollback()
                refusal = getattr(error, "reason", None) or error.message
            else:
                flash(
                    _("Osservazioni inviate: l'ufficio le esaminerà prima di decidere."),
                    "success",
                )
                return redirect(url_for("applicant.dashboard"))
        status = 409 if refusal else 422
    return (
        render_template(
            "applicant/notice.html",
            application=application,
            form=form,
            refusal=refusal,
            errors=[(form.observations.id, m) for m in form.observations.errors],
            kinds=attachment_kinds(application.edition),
            upload_form=_upload_form(application),
            next_step=next_step,
            limit=OBSERVATIONS_LIMIT,
        ),
        status,
    )


@bp.route("/domande/<int:application_id>/ritira", methods=["GET", "POST"])
@roles_required("applicant")
def withdrawal(application_id):
    application = _own_or_404(application_id)
    form = ConfirmForm()
    refusal = None
    if form.validate_on_submit():
        try:
            withdraw(application, current_user, (form.reason.data or "").strip())
        except TransitionRefused as error:
            db.session.rollback()
            refusal = error.reason
        else:
            commit()
            flash(_("La domanda è stata ritirata."), "success")
            return redirect(url_for("applicant.dashboard"))
    # A proposal that can no longer be withdrawn (funded, reported…) says so up front,
    # with no button that would only be refused.
    barred = None if refusal else next(iter(check(application, "withdraw", current_user)), None)
    return (
        render_template(
            "applicant/withdraw.html",
            application=application,
            form=form,
            refusal=refusal,
            barred=barred.reason if barred else None,
        ),
        409 if refusal else 422 if form.errors else 200,
    )
