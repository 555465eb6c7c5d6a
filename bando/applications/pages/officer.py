"""The officer's pages: the admissibility check (istruttoria formale) of a call.

The list of the proposals (filtered, paginated, in a fixed number of queries whatever
their count), the proposal with its documents, timeline and checklist, the ticks of the
manual checks, and the decisions — each after a confirmation step that says what will
happen. Thin views: they load rows, ask bando.applications.rules, call the same
operations as the API with the signed-in officer as the actor, and show the machine's
reason when it refuses.
"""

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from bando.applications import admissibility, lifecycle, rules
from bando.applications.attachments import attachment_kinds
from bando.applications.models import AdmissibilityTick, Application
from bando.applications.operations import expire_due_in, expire_if_due
from bando.calls.models import Edition, Neighbourhood
from bando.core.audit import events_of_application
from bando.core.auth import roles_required
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.forms import FreeText
from bando.core.labels import state_label
from bando.core.layout import paging
from bando.core.operations import OperationError, commit
from bando.core.timeutil import utcnow
from bando.core.transitions import TransitionRefused
from workflows import application as machine
from workflows.admissibility import outstanding
from workflows.organisation import NON_PROFIT_FORMS

bp = Blueprint("officer", __name__, url_prefix="/istruttoria")

PER_PAGE = 25
# The states of the admissibility check still open, oldest first in the machine's order.
PENDING = machine.UNDER_CHECK
# What the staff may list: everything past the draft (rules.can_see says the same).
LISTED_STATES = tuple(s for s in machine.STATES if s != "draft")

# The officer's decisions, by the name the form sends: the trigger and the text of the
# confirmation step (what will happen).
DECISIONS = {
    "eligible": "declare_eligible",
    "request_integration": "request_integration",
    "notify_rejection": "notify_rejection",
    "ineligible": "declare_ineligible",
}
DECISION_LABELS = {
    "eligible": _l("Dichiara ammissibile"),
    "request_integration": _l("Richiedi integrazione"),
    "notify_rejection": _l("Invia il preavviso di rigetto"),
    "ineligible": _l("Dichiara non ammissibile"),
}


class DecisionForm(FlaskForm):
    decision = StringField(validators=[AnyOf(list(DECISIONS))])
    reason = TextAreaField(_l("Motivazione"), validators=[FreeText(5000)])
    confirm = HiddenField()


class TickForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=40)])
    # Drawn as two radio buttons by the template.
    outcome = StringField(
        validators=[
            DataRequired(_l("Scegliere l'esito del controllo.")),
            AnyOf(["passed", "failed"], _l("Scegliere l'esito del controllo.")),
        ]
    )
    note = TextAreaField(_l("Nota"), validators=[FreeText(2000)])


# --- the list --------------------------------------------------------------------------------


def _edition_from_query() -> Edition | None:
    code = request.args.get("bando")
    if code:
        return db.session.scalar(select(Edition).where(Edition.code == code))
    # By default the most recent call with proposals still waiting for a decision.
    return db.session.scalar(
        select(Edition)
        .join(Application, Application.edition_id == Edition.id)
        .where(Application.state.in_(PENDING))
        .order_by(Edition.closes_at.desc())
        .limit(1)
    ) or db.session.scalar(select(Edition).order_by(Edition.closes_at.desc()).limit(1))


@bp.route("/")
@roles_required("officer")
def dashboard():
    editions = db.session.scalars(select(Edition).order_by(Edition.closes_at.desc())).all()
    edition = _edition_from_query()
    if request.args.get("bando") and edition is None:
        abort(404)
    if edition is None:
        return render_template("officer/istruttoria.html", editions=editions, edition=None)
    expire_due_in(edition)
    hoods = edition.neighbourhoods
    hood = next((h for h in hoods if h.slug == request.args.get("quartiere")), None)
    state = request.args.get("stato")
    state = state if state in LISTED_STATES else None

    # What the officer may list (submitted at least once), as the API's list says.
    where = [Application.edition_id == edition.id, *rules.listed(current_user)]
    if hood is not None:
        where.append(Application.neighbourhood_id == hood.id)
    # The count of every state at once (for the filter and the total), in one query.
    counts = dict(
        db.session.execute(
            select(Application.state, func.count(Application.id))
            .where(*where)
            .group_by(Application.state)
        ).all()
    )
    total = counts.get(state, 0) if state else sum(counts.values())
    shown = paging(total, PER_PAGE)
    if state:
        where.append(Application.state == state)
    applications = db.session.scalars(
        select(Application)
        .where(*where)
        .options(joinedload(Application.organisation), joinedload(Application.neighbourhood))
        .order_by(Application.protocol_number)
        .limit(PER_PAGE)
        .offset(shown.offset)
    ).all()
    filters = {"bando": edition.code}
    if state:
        filters["stato"] = state
    if hood is not None:
        filters["quartiere"] = hood.slug
    return render_template(
        "officer/istruttoria.html",
        editions=editions,
        edition=edition,
        hoods=hoods,
        hood=hood,
        state=state,
        states=LISTED_STATES,
        counts=counts,
        total=total,
        applications=applications,
        paging=shown,
        filters=filters,
        pending=sum(counts.get(s, 0) for s in PENDING),
    )


# --- one proposal ----------------------------------------------------------------------------


def _application_or_404(application_id) -> Application:
    application = rules.visible_application(current_user, application_id)
    if application is None:
        abort(404)
    if expire_if_due(application):
        commit()
    return application


def available_decisions(application: Application) -> list[str]:
    """The decisions the table allows from the proposal's state, for this call: where it
    sets a notice before rejection, the notice comes instead of a direct rejection."""
    if not rules.can_decide_admissibility(current_user, application):
        return []
    notice = application.edition.rejection_notice_days > 0
    shown = []
    for name, trigger in DECISIONS.items():
        if machine.MACHINE.row(application.state, trigger) is None:
            continue
        if name == "notify_rejection" and not notice:
            continue
        if name == "ineligible" and notice and application.state != "rejection_notified":
            continue
        shown.append(name)
    return shown


def _timeline(application: Application) -> list:
    # The moves of the lifecycle; the ticks show in the checklist, the committee's work on
    # its own page.
    return [e for e in events_of_application(application.id) if e.trigger in machine.TRIGGER_LABELS]


def _render_view(application, *, form=None, refusal=None, problems=(), typed_tick=None, status=200):
    checks = admissibility.checks_of(application)
    ticks = {
        t.code: t
        for t in db.session.scalars(
            select(AdmissibilityTick).where(AdmissibilityTick.application_id == application.id)
        )
    }
    open_check = application.state in PENDING and rules.can_decide_admissibility(
        current_user, application
    )
    return (
        render_template(
            "officer/application.html",
            application=application,
            kinds=attachment_kinds(application.edition),
            checks=checks,
            outstanding=outstanding(checks),
            ticks=ticks,
            typed_tick=typed_tick,
            can_tick=open_check,
            decisions=available_decisions(application),
            decision_labels=DECISION_LABELS,
            form=form or DecisionForm(formdata=None),
            refusal=refusal,
            problems=list(problems),
            events=_timeline(application),
            legal_forms=NON_PROFIT_FORMS,
        ),
        status,
    )


@bp.route("/domande/<int:application_id>")
@roles_required("officer")
def application(application_id):
    return _render_view(_application_or_404(application_id))


@bp.route("/domande/<int:application_id>/allegati/<kind>")
@roles_required("officer")
def attachment(application_id, kind):
    """The document, opened in the browser's PDF viewer (or saved, with ?scarica=1).

    Served inline under a sandboxing Content-Security-Policy: the file comes from outside
    the office, so even a flaw of a viewer could run nothing with the officer's session
    (the document gets an opaque origin, no scripts, no forms). nosniff keeps it a PDF."""
    application = _application_or_404(application_id)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        abort(404)
    return download(
        row.data,
        "application/pdf",
        f"{row.kind}.pdf",
        inline=not request.args.get("scarica"),
        headers={
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
        },
    )


@bp.route("/domande/<int:application_id>/controlli", methods=["POST"])
@roles_required("officer")
def tick(application_id):
    application = _application_or_404(application_id)
    if not rules.can_decide_admissibility(current_user, application):
        abort(404)
    form = TickForm()

    def refused(problems, status=422):
        # The page again, with what was typed in the check's form and why it was refused;
        # above the checklist when the check has no form to go back to (an unknown code,
        # or the proposal decided meanwhile).
        if application.state not in PENDING or form.code.data not in dict(
            admissibility.manual_checks(application)
        ):
            reason = _("Controllo non registrato: %(reason)s", reason=" ".join(problems))
            return _render_view(application, refusal=reason.rstrip("."), status=status)
        typed = {
            "code": form.code.data,
            "outcome": form.outcome.data,
            "note": form.note.data or "",
            "problems": problems,
        }
        return _render_view(application, typed_tick=typed, status=status)

    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return refused([str(m) for f in (form.code, form.outcome, form.note) for m in f.errors])
    try:
        admissibility.tick(
            application,
            current_user._get_current_object(),
            form.code.data,
            form.outcome.data == "passed",
            form.note.data or "",
        )
        commit()
    except OperationError as error:
        db.session.rollback()
        problems = [m for messages in error.errors.values() for m in messages]
        return refused(problems or [error.message], error.status)
    flash(_("Esito del controllo registrato."), "success")
    return redirect(url_for(".application", application_id=application.id, _anchor="controlli"))


def _deadline_after(days: int):
    return lifecycle.integration_deadline(utcnow(), days)


def _refusal_problems(refusals) -> list[str]:
    return [d for r in refusals if r.field == "checklist" for d in r.details]


@bp.route("/domande/<int:application_id>/esito", methods=["POST"])
@roles_required("officer")
def decide(application_id):
    """First the confirmation step (what will happen, with the reason as written), then,
    with `confirm`, the move. A refusal of the machine shows on the proposal's page."""
    application = _application_or_404(application_id)
    if not rules.can_decide_admissibility(current_user, application):
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        if form.reason.errors:  # the reason as typed comes back, with what is wrong in it
            return _render_view(
                application, form=form, refusal=" ".join(form.reason.errors), status=422
            )
        flash(_("Scegliere un esito valido."), "danger")
        return redirect(url_for(".application", application_id=application.id))
    name = form.decision.data
    trigger = DECISIONS[name]
    reason = (form.reason.data or "").strip()
    officer = current_user._get_current_object()
    if not form.confirm.data:
        refusals = lifecycle.check(application, trigger, officer, reason)
        if refusals:
            return _render_view(
                application,
                form=form,
                refusal="; ".join(r.reason for r in refusals),
                problems=_refusal_problems(refusals),
                status=409,
            )
        edition = application.edition
        return render_template(
            "officer/confirm.html",
            application=application,
            decision=name,
            label=DECISION_LABELS[name],
            reason=reason,
            form=form,
            integration_deadline=_deadline_after(edition.integration_days),
            notice_deadline=_deadline_after(edition.rejection_notice_days),
        )
    try:
        lifecycle.fire(application, trigger, officer, reason)
        commit()
    except TransitionRefused as refused:
        db.session.rollback()
        application = _application_or_404(application_id)
        return _render_view(
            application,
            form=form,
            refusal=refused.reason,
            problems=_refusal_problems(refused.refusals),
            status=409,
        )
    except OperationError as error:  # a concurrent change, caught at the commit
        db.session.rollback()
        flash(_("Operazione non eseguita: %(reason)s.", reason=error.message), "danger")
        return redirect(url_for(".application", application_id=application_id))
    flash(
        _(
            "Domanda %(protocol)s: %(state)s.",
            protocol=application.protocol,
            state=state_label(application.state),
        ),
        "success",
    )
    return redirect(url_for(".application", application_id=application.id))


def edition_for_officer(code: str) -> Edition:
    """The call by its code, or 404: the officer's pages of a call (committee, ranking)."""
    edition = db.session.scalar(
        select(Edition)
        .where(Edition.code == code)
        .options(selectinload(Edition.neighbourhoods).selectinload(Neighbourhood.guidelines))
    )
    if edition is None:
        abort(404)
    return edition
