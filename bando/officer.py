"""The officer's pages: the admissibility check (istruttoria formale) of an edition.

Thin views: they load rows, call bando.lifecycle.fire with the signed-in officer as the
actor, and show the machine's reason when it refuses. Also registers, app-wide, the
template helpers of the lifecycle (timeline labels, the state diagram) and the page
shown when a transition is refused outside a view that handles it.
"""

from datetime import datetime

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, Length

from workflows import application as application_machine
from workflows import diagram

from . import labels
from .auth import roles_required
from .errors import wants_json
from .extensions import db
from .lifecycle import ConcurrentChange, TransitionRefused, expire_if_overdue, fire
from .models import Application, Edition

bp = Blueprint("officer", __name__, url_prefix="/istruttoria")

DECISIONS = {
    "eligible": "declare_eligible",
    "request_integration": "request_integration",
    "ineligible": "declare_ineligible",
}
PENDING = ("submitted", "integration_requested")


class DecisionForm(FlaskForm):
    decision = StringField(validators=[AnyOf(list(DECISIONS))])
    reason = TextAreaField(validators=[Length(max=5000)])


def _edition_from_query() -> Edition | None:
    code = request.args.get("bando")
    if code:
        return db.session.scalar(select(Edition).where(Edition.code == code))
    # By default the most recent call with applications still waiting for a decision.
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
    applications = []
    if edition is not None:
        applications = db.session.scalars(
            select(Application)
            .where(Application.edition_id == edition.id, Application.state != "draft")
            .order_by(Application.protocol_number)
        ).all()
        expired = [a for a in applications if expire_if_overdue(a) is not None]
        if expired:
            db.session.commit()
    return render_template(
        "officer/istruttoria.html",
        editions=editions,
        edition=edition,
        pending=[a for a in applications if a.state in PENDING],
        decided=[a for a in applications if a.state not in PENDING],
        form=DecisionForm(),
    )


@bp.route("/domande/<int:application_id>/esito", methods=["POST"])
@roles_required("officer")
def decide(application_id):
    application = db.session.get(Application, application_id) if application_id < 2**31 else None
    if application is None:
        abort(404)
    back = url_for(".dashboard", bando=application.edition.code)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("Scegliere un esito valido."), "danger")
        return redirect(back)
    if expire_if_overdue(application) is not None:
        db.session.commit()
    try:
        fire(
            application,
            DECISIONS[form.decision.data],
            current_user._get_current_object(),
            form.reason.data or "",
        )
        db.session.commit()
    except TransitionRefused as refused:
        db.session.rollback()
        flash(_("Operazione non eseguita: %(reason)s.", reason=refused.reason), "danger")
        return redirect(back)
    flash(
        _(
            "Domanda %(protocol)s: %(state)s.",
            protocol=application.protocol,
            state=state_label(application.state),
        ),
        "success",
    )
    return redirect(back)


@bp.app_errorhandler(TransitionRefused)
def _refused_page(error: TransitionRefused):
    """A refusal no view caught: a 409 with the reason, never a 500."""
    db.session.rollback()
    if wants_json():
        return jsonify(error=error.reason, code=error.code), 409
    message = _("Operazione non consentita: %(reason)s.", reason=error.reason)
    return render_template("error.html", code=409, message=message), 409


@bp.app_errorhandler(StaleDataError)
def _stale_page(error):
    """A write based on a stale read, outside fire(): the same 409, nothing kept."""
    db.session.rollback()
    return _refused_page(ConcurrentChange())


# --- template helpers, for the timeline and the diagram, on every page --------------------


@bp.app_template_global("lifecycle_state_label")
def state_label(state: str | None) -> str:
    return labels.state_label(state)


@bp.app_template_global("lifecycle_trigger_label")
def trigger_label(trigger: str) -> str:
    return labels.trigger_label(trigger)


@bp.app_template_global("lifecycle_actor_label")
def actor_label(event) -> str:
    """Who acted, by role: the applicant's pages never show staff members' addresses."""
    if event.actor is None:
        return _("sistema (scadenza automatica)")
    if event.actor.role == "applicant":
        return event.actor.full_name or event.actor.email
    return labels.role_label(event.actor.role)


@bp.app_template_global("lifecycle_event_note")
def event_note(event) -> str:
    payload = event.payload or {}
    if payload.get("protocol") and event.trigger == "submit":
        return _("protocollo %(protocol)s", protocol=payload["protocol"])
    if payload.get("integration_deadline"):
        deadline = datetime.fromisoformat(payload["integration_deadline"])
        return _("rispondere entro il %(when)s", when=application_machine.rome(deadline))
    return ""


@bp.app_template_global("lifecycle_diagram_rows")
def diagram_rows() -> list[dict]:
    return diagram.rows()


@bp.app_template_global("lifecycle_diagram_svg")
def diagram_svg() -> Markup:
    # Built from the transition table with escaped labels: safe to inline.
    return Markup(diagram.svg(title=_("Stati di una domanda e passaggi tra di essi")))
